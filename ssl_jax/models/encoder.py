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

  def __call__(self, x, train: bool = True):
    """Returns {"features", "projection"?, "logits"?, "prediction"?}."""
    out = self.project(x, train)
    if self.head.predictor is not None:
      out["prediction"] = self.predictor(out["projection"], train)
    return out

  def project(self, x, train: bool = True):
    """Teacher pass: {"features", "projection"?, "logits"?}, never the predictor."""
    h = self.backbone(x, train)
    out = {"features": h}
    if self.head.projector is not None:
      out["projection"] = self.projector(h, train)
    if self.head.prototypes is not None:
      out["logits"] = self.prototypes(out["projection"])
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
