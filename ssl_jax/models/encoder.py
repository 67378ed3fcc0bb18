"""Backbone plus the heads a method declares, as one Flax module."""
from typing import Any

import flax.linen as nn
import jax.numpy as jnp

from ssl_jax.models.heads import MLP, HeadSpec, Prototypes

# Which layers see the G views of one size as a single batch of G*N, and so
# pool their BatchNorm statistics over the views: none of them (as separate
# forward passes would), the heads only (a backbone run per view, the heads
# on the views concatenated: W-MSE's reference), or all (DINO, SwAV).
BN_POOLINGS = ("per_view", "heads", "all")


class SSLModel(nn.Module):
  """Backbone -> projector -> predictor.

  Parameters live under ``backbone``, ``projector``, ``predictor`` and
  ``prototypes``.
  Inputs are [G, N, H, W, 3]; every output is [G, N, D] float32.
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

  def __call__(self, x, train: bool = True, bn_pooling: str = "per_view"):
    """Returns {"features", "projection"?, "logits"?, "prediction"?}.

    ``bn_pooling``: one of ``BN_POOLINGS``, the layers whose BatchNorm
    statistics are pooled over the G views.
    """
    return self._forward(x, train, bn_pooling, with_predictor=True)

  def project(self, x, train: bool = True, bn_pooling: str = "per_view"):
    """Teacher pass: {"features", "projection"?, "logits"?}, never the predictor."""
    return self._forward(x, train, bn_pooling, with_predictor=False)

  def _forward(self, x, train, bn_pooling, with_predictor):
    if bn_pooling not in BN_POOLINGS:
      raise ValueError(f"bn_pooling must be one of {BN_POOLINGS}, got {bn_pooling!r}")
    g, n = x.shape[:2]
    as_one_batch = lambda t: t.reshape((1, g * n) + t.shape[2:])
    h = self.backbone(as_one_batch(x) if bn_pooling == "all" else x, train)
    z = as_one_batch(h) if bn_pooling == "heads" else h
    out = {"features": z}
    if self.head.projector is not None:
      out["projection"] = self.projector(z, train)
    if self.head.prototypes is not None:
      out["logits"] = self.prototypes(out["projection"])
    if with_predictor and self.head.predictor is not None:
      out["prediction"] = self.predictor(out["projection"], train)
    return {k: v.reshape((g, n) + v.shape[2:]) for k, v in out.items()}

  def embed(self, x):
    """Inference mode on one batch [N, H, W, 3]: {"features" [N, C], "embedding" [N, D]?}.

    The embedding is the projector's output, the space the loss shapes.
    """
    h = self.backbone(x[None], train=False)
    out = {"features": h[0]}
    if self.head.projector is not None:
      out["embedding"] = self.projector(h, train=False)[0]
    return out
