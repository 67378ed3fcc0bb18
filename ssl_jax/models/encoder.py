"""Backbone plus the heads a method declares, as one Flax module."""
from typing import Any

import flax.linen as nn
import jax.numpy as jnp

from ssl_jax.models.heads import MLP, HeadSpec, Prototypes


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

  def __call__(self, x, train: bool = True, shared_head_bn: bool = False):
    """Returns {"features", "projection"?, "logits"?, "prediction"?}.

    ``shared_head_bn``: the heads see the G views as one batch of G*N, so
    their BatchNorm statistics are pooled over the views while the
    backbone's stay per view (a head run on the concatenated views).
    """
    return self._forward(x, train, shared_head_bn, with_predictor=True)

  def project(self, x, train: bool = True, shared_head_bn: bool = False):
    """Teacher pass: {"features", "projection"?, "logits"?}, never the predictor."""
    return self._forward(x, train, shared_head_bn, with_predictor=False)

  def _forward(self, x, train, shared_head_bn, with_predictor):
    h = self.backbone(x, train)
    g, n = h.shape[:2]
    z = h.reshape((1, g * n) + h.shape[2:]) if shared_head_bn else h
    heads = {}
    if self.head.projector is not None:
      heads["projection"] = self.projector(z, train)
    if self.head.prototypes is not None:
      heads["logits"] = self.prototypes(heads["projection"])
    if with_predictor and self.head.predictor is not None:
      heads["prediction"] = self.predictor(heads["projection"], train)
    out = {k: v.reshape((g, n) + v.shape[2:]) for k, v in heads.items()}
    return {"features": h, **out}

  def embed(self, x):
    """Inference mode on one batch [N, H, W, 3]: {"features" [N, C], "embedding" [N, D]?}.

    The embedding is the projector's output, the space the loss shapes.
    """
    h = self.backbone(x[None], train=False)
    out = {"features": h[0]}
    if self.head.projector is not None:
      out["embedding"] = self.projector(h, train=False)[0]
    return out
