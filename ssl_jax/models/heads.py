"""Projector and predictor MLPs.

The INTL projector (Appendix E.2; official ``get_projection``) is
``num_layers - 1`` times [Linear (no bias) -> BN -> ReLU] and a final Linear
with bias.  BYOL/SimSiam-style heads add a BN after the last layer
(``last_bn``).  Inputs are [G, N, D] like the backbone output.
"""
import dataclasses
from typing import Any, Optional

import flax.linen as nn
import jax.numpy as jnp

from ssl_jax.models.batchnorm import BatchNorm

# torch.nn.Linear's default kaiming_uniform(a=sqrt(5)): U(-1/sqrt(fan_in), 1/sqrt(fan_in)).
dense_init = nn.initializers.variance_scaling(1.0 / 3.0, "fan_in", "uniform")


@dataclasses.dataclass(frozen=True)
class MLPSpec:
  """Shape of an MLP head; ``num_layers`` counts the Linear layers."""
  hidden_dim: int
  out_dim: int
  num_layers: int = 2
  last_bn: bool = False

  def __post_init__(self):
    for name in ("hidden_dim", "out_dim", "num_layers"):
      if getattr(self, name) < 1:
        raise ValueError(f"MLP {name} must be >= 1, got {getattr(self, name)}")


@dataclasses.dataclass(frozen=True)
class HeadSpec:
  """The heads a method puts on the backbone.

  projector: backbone features -> projection (``None``: the method works on
    backbone features directly).
  predictor: projection -> prediction (BYOL, SimSiam, SCE, MoCo v3).
  """
  projector: Optional[MLPSpec] = None
  predictor: Optional[MLPSpec] = None


class MLP(nn.Module):
  """[G, N, D_in] -> [G, N, out_dim] float32."""
  spec: MLPSpec
  dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, x, train: bool):
    x = x.astype(self.dtype)
    for i in range(self.spec.num_layers - 1):
      x = nn.Dense(self.spec.hidden_dim, use_bias=False, kernel_init=dense_init,
                   dtype=self.dtype, name=f"linear{i + 1}")(x)
      x = nn.relu(BatchNorm(dtype=self.dtype, name=f"bn{i + 1}")(x, train))
    last = f"linear{self.spec.num_layers}"
    x = nn.Dense(self.spec.out_dim, use_bias=not self.spec.last_bn,
                 kernel_init=dense_init, dtype=self.dtype, name=last)(x)
    if self.spec.last_bn:
      x = BatchNorm(dtype=self.dtype, name=f"bn{self.spec.num_layers}")(x, train)
    return x.astype(jnp.float32)
