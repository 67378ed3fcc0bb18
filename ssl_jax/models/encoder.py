"""Backbone plus the heads a method declares, as one Flax module."""
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp

from ssl_jax.models import batch_axes
from ssl_jax.models.block_masking import block_masks
from ssl_jax.models.decoder import MaskedDecoder, patchify
from ssl_jax.models.heads import MLP, HeadSpec, Prototypes

# Which layers see the G views of one size as a single batch of G*N, and so
# pool their BatchNorm statistics over the views: none of them (as separate
# forward passes would), the heads only (a backbone run per view, the heads
# on the views concatenated: W-MSE's reference), or all (DINO, SwAV,
# DeepCluster v2; with views of several sizes the step's ``encode_views``
# runs the backbone per size and the heads once on every view).
BN_POOLINGS = ("per_view", "heads", "all")


def _one_batch(t):
  """[G, N, ...] -> [1, N * G, ...], example-major (``batch_axes``)."""
  return batch_axes.merge(t, 2)[None]


def _from_one_batch(t, g, n):
  """The inverse of ``_one_batch``."""
  return batch_axes.split(t[0], (g, n))


class SSLModel(nn.Module):
  """Backbone -> projector -> predictor, or a masked ViT -> decoder (MAE).

  Parameters live under ``backbone``, ``projector``, ``predictor``,
  ``prototypes`` and ``decoder``.
  Inputs are [G, N, H, W, 3]; every output is [G, N, ...] float32.
  """
  backbone: nn.Module
  head: HeadSpec
  dtype: Any = jnp.float32

  def setup(self):
    if self.head.projector is not None:
      self.projector = MLP(self.head.projector, self.dtype)
    if self.head.predictor is not None:
      if self.head.projector is None:
        raise ValueError("a predictor needs a projector in front of it")
      self.predictor = MLP(self.head.predictor, self.dtype)
    if self.head.prototypes is not None:
      if self.head.projector is None:
        raise ValueError("prototypes need a projector in front of them")
      self.prototypes = Prototypes(self.head.prototypes)
    if self.head.decoder is not None or self.head.patch_masks is not None:
      patch = getattr(self.backbone, "patch", None)
      if patch is None:
        what = "decoder" if self.head.decoder is not None else "model (patch masks)"
        raise ValueError(f"a masked-image {what} needs a ViT backbone, got "
                         f"{type(self.backbone).__name__}")
    if self.head.decoder is not None:
      self.decoder = MaskedDecoder(self.head.decoder, patch * patch * 3, self.dtype)

  def __call__(self, x, train: bool = True, bn_pooling: str = "per_view",
               mask_patches: bool = False):
    """Returns {"features", "projection"?, "logits"?, "prediction"?}.

    ``bn_pooling``: one of ``BN_POOLINGS``, the layers whose BatchNorm
    statistics are pooled over the G views.  ``mask_patches``: with
    ``head.patch_masks``, these views are masked (``_score_tokens``).
    """
    return self._forward(x, train, bn_pooling, with_predictor=True, mask_patches=mask_patches)

  def project(self, x, train: bool = True, bn_pooling: str = "per_view"):
    """Teacher pass: {"features", "projection"?, "logits"?}, never the
    predictor; with a decoder, the encoder on every patch, unmasked."""
    return self._forward(x, train, bn_pooling, with_predictor=False)

  def _forward(self, x, train, bn_pooling, with_predictor, mask_patches=False):
    if bn_pooling not in BN_POOLINGS:
      raise ValueError(f"bn_pooling must be one of {BN_POOLINGS}, got {bn_pooling!r}")
    if self.head.patch_masks is not None:  # the teacher scores every patch, unmasked
      return self._score_tokens(x, train, masked=mask_patches and with_predictor,
                                teacher=not with_predictor)
    if self.head.decoder is not None and with_predictor:
      return self._reconstruct(x, train)
    g, n = x.shape[:2]
    h = self.backbone_features(x, train, bn_pooling)
    if bn_pooling == "per_view":
      return self.heads(h, train, with_predictor)
    out = self.heads(_one_batch(h), train, with_predictor)
    return {k: _from_one_batch(v, g, n) for k, v in out.items()}

  def backbone_features(self, x, train: bool = True, bn_pooling: str = "per_view"):
    """The backbone alone on [G, N, H, W, 3] -> [G, N, C] (statistics pooled
    over the G views with ``bn_pooling="all"``)."""
    g, n = x.shape[:2]
    if bn_pooling != "all":
      return self.backbone(x, train)
    return _from_one_batch(self.backbone(_one_batch(x), train), g, n)

  def heads(self, z, train: bool = True, with_predictor: bool = True):
    """The heads on features [G, N, C], BatchNorm statistics per g:
    {"features", "projection"?, "logits"?, "prediction"?}."""
    out = {"features": z}
    if self.head.projector is not None:
      out["projection"] = self.projector(z, train)
    if self.head.prototypes is not None:
      out["logits"] = self.prototypes(out["projection"])
    if with_predictor and self.head.predictor is not None:
      out["prediction"] = self.predictor(out["projection"], train)
    return out

  def _reconstruct(self, x, train):
    """MAE: {"features" [G, N, D] (of the visible patches), "reconstruction"
    and "target" [G, N, L, p * p * 3] (the input's patches), "mask" [G, N, L]}.
    The mask's noise comes from the "masking" rng (zeros while initialising)."""
    patch = self.backbone.patch
    grid = (x.shape[-3] // patch, x.shape[-2] // patch)
    shape = x.shape[:2] + (grid[0] * grid[1],)
    noise = (jnp.zeros(shape) if self.is_initializing()
             else jax.random.uniform(self.make_rng("masking"), shape))
    enc = self.backbone(x, train, noise=noise, keep=self.head.decoder.kept(shape[-1]))
    flat = lambda t: batch_axes.merge(t, 2)
    pred = self.decoder(flat(enc["cls"]), flat(enc["tokens"]), flat(enc["restore"]), grid)
    return {"features": enc["features"], "reconstruction": batch_axes.split(pred, shape[:2]),
            "target": patchify(x.astype(jnp.float32), patch), "mask": enc["mask"]}

  def _score_tokens(self, x, train, masked, teacher):
    """iBOT: {"features", "projection" and "logits" [G, N, K] of the CLS
    token}, plus "patch_logits" [G, N, L, K] of every patch token for the
    teacher and for masked views, and "mask" [G, N, L] float32 (1: masked)
    for masked views.  The masks come from the "masking" rng (none while
    initialising, which still creates the mask token); the head is shared
    between the CLS and the patch tokens (iBOT's ``shared_head``)."""
    g, n = x.shape[:2]
    grid = (x.shape[-3] // self.backbone.patch, x.shape[-2] // self.backbone.patch)
    mask = jnp.zeros((g, n) + grid, bool)
    if masked and not self.is_initializing():
      mask = block_masks(self.make_rng("masking"), (g, n), *grid, self.head.patch_masks)
    enc = self.backbone(x, train, patch_mask=mask)
    scores_patches = teacher or masked
    tokens = (jnp.concatenate([enc["cls"][:, :, None], enc["tokens"]], axis=2)
              if scores_patches else enc["cls"])
    projection = self.projector(tokens, train)
    logits = self.prototypes(projection)
    if not scores_patches:
      return {"features": enc["features"], "projection": projection, "logits": logits}
    out = {"features": enc["features"], "projection": projection[:, :, 0],
           "logits": logits[:, :, 0], "patch_logits": logits[:, :, 1:]}
    if masked:
      out["mask"] = mask.reshape(g, n, -1).astype(jnp.float32)
    return out

  def embed(self, x):
    """Inference mode on one batch [N, H, W, 3]: {"features" [N, C], "embedding" [N, D]?}.

    The embedding is the projector's output, the space the loss shapes.
    """
    h = self.backbone(x[None], train=False)
    out = {"features": h[0]}
    if self.head.projector is not None:
      out["embedding"] = self.projector(h, train=False)[0]
    return out
