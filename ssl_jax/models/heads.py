"""Projector, predictor and prototype heads.

An MLP head is ``num_layers - 1`` times [Linear -> BN -> ReLU] and a final
Linear (the INTL projector of Appendix E.2, BYOL's and SimCLR's heads).
``hidden_bn=False`` gives MoCo v2's Linear -> ReLU -> Linear; ``last_bn``
adds a BN after the last Linear (SimSiam, MoCo v3, whose last BN has no
affine parameters).  Linear layers followed by BN carry no bias, nor does
the last one with ``last_bias=False`` (eztorch's SCE heads); after a last BN,
``last_bias=False`` drops the BN's shift and keeps its scale (SimCLR's
``center=use_bias``).  ``last_iternorm_groups > 0`` ends the head with
IterNorm in that many feature groups instead (VIbCReg).
``activation="gelu"`` (exact, PyTorch's nn.GELU) gives DINO's head.

Prototypes score the L2-normalised projection against K unit vectors:
``normalize(z) @ normalize(W)ᵀ`` (MIRA's weight-normalised head with g = 1;
a trained g per prototype with ``learn_gain``) or, for SwAV, against W kept
unit-norm by the method after every update.
Inputs are [G, N, D] like the backbone output.
"""
import dataclasses
from typing import Any, Optional

import flax.linen as nn
import jax.numpy as jnp

from ssl_jax.kernels.similarity import l2_normalize
from ssl_jax.models.batchnorm import BatchNorm
from ssl_jax.models.iternorm import IterNorm

# torch.nn.Linear's default kaiming_uniform(a=sqrt(5)): U(-1/sqrt(fan_in), 1/sqrt(fan_in)).
dense_init = nn.initializers.variance_scaling(1.0 / 3.0, "fan_in", "uniform")
# The same for prototypes stored as torch stores Linear(D, K).weight, [K, D]:
# the fan-in is D.  Their norm sets how fast weight-normalised prototypes turn.
prototype_init = nn.initializers.variance_scaling(1.0 / 3.0, "fan_in", "uniform",
                                                  in_axis=-1, out_axis=-2)

ACTIVATIONS = {"relu": nn.relu, "gelu": lambda x: nn.gelu(x, approximate=False)}


@dataclasses.dataclass(frozen=True)
class MLPSpec:
  """Shape of an MLP head; ``num_layers`` counts the Linear layers."""
  hidden_dim: int
  out_dim: int
  num_layers: int = 2
  hidden_bn: bool = True
  last_bn: bool = False
  last_bn_affine: bool = True
  last_bias: bool = True
  activation: str = "relu"
  last_iternorm_groups: int = 0

  def __post_init__(self):
    for name in ("hidden_dim", "out_dim", "num_layers"):
      if getattr(self, name) < 1:
        raise ValueError(f"MLP {name} must be >= 1, got {getattr(self, name)}")
    if self.activation not in ACTIVATIONS:
      raise ValueError(f"MLP activation must be one of {sorted(ACTIVATIONS)}, "
                       f"got {self.activation!r}")
    if self.last_iternorm_groups < 0 or (self.last_iternorm_groups and self.last_bn):
      raise ValueError("MLP last_iternorm_groups must be >= 0 and not go with last_bn, got "
                       f"{self.last_iternorm_groups}")


@dataclasses.dataclass(frozen=True)
class PrototypeSpec:
  """K prototypes; ``normalize_weights``: score against W / ||W|| (MIRA)
  rather than W itself (SwAV, which renormalises W after each update);
  ``learn_gain``: weight normalisation with a trained gain g per prototype,
  g W / ||W|| (DINO's and iBOT's ``norm_last_layer=False``; g starts at 1
  and is stored [K, 1] as PyTorch's ``weight_g``, so it is decayed as there)."""
  num: int
  normalize_weights: bool = True
  learn_gain: bool = False

  def __post_init__(self):
    if self.num < 1:
      raise ValueError(f"number of prototypes must be >= 1, got {self.num}")
    if self.learn_gain and not self.normalize_weights:
      raise ValueError("a trained prototype gain needs normalised prototypes")


@dataclasses.dataclass(frozen=True)
class HeadSpec:
  """The heads a method puts on the backbone.

  projector: backbone features -> projection (``None``: backbone features).
  predictor: projection -> prediction (BYOL, SimSiam, SCE, MoCo v3).
  prototypes: projection -> prototype scores (SwAV, MIRA).
  decoder: a masked-image decoder (MAE, ``models.decoder.DecoderSpec``):
    the ViT encodes a random subset of the patches and the decoder predicts
    the pixels of all.
  patch_masks: iBOT's blockwise masks
    (``models.block_masking.BlockMaskSpec``): the ViT sees mask tokens in
    the masked views' masked patches, and the projector and prototypes
    score every patch token as well as the CLS token (one shared head).
  """
  projector: Optional[MLPSpec] = None
  predictor: Optional[MLPSpec] = None
  prototypes: Optional[PrototypeSpec] = None
  decoder: Optional[Any] = None
  patch_masks: Optional[Any] = None


class MLP(nn.Module):
  """[G, N, D_in] -> [G, N, out_dim] float32."""
  spec: MLPSpec
  dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, x, train: bool):
    spec = self.spec
    x = x.astype(self.dtype)
    for i in range(spec.num_layers - 1):
      x = nn.Dense(spec.hidden_dim, use_bias=not spec.hidden_bn, kernel_init=dense_init,
                   dtype=self.dtype, name=f"linear{i + 1}")(x)
      if spec.hidden_bn:
        x = BatchNorm(dtype=self.dtype, name=f"bn{i + 1}")(x, train)
      x = ACTIVATIONS[spec.activation](x)
    x = nn.Dense(spec.out_dim, use_bias=spec.last_bias and not spec.last_bn,
                 kernel_init=dense_init,
                 dtype=self.dtype, name=f"linear{spec.num_layers}")(x)
    if spec.last_bn:
      x = BatchNorm(dtype=self.dtype, use_scale=spec.last_bn_affine,
                    use_bias=spec.last_bn_affine and spec.last_bias,
                    name=f"bn{spec.num_layers}")(x, train)
    if spec.last_iternorm_groups:
      x = IterNorm(num_groups=spec.last_iternorm_groups, name="iternorm")(x, train)
    return x.astype(jnp.float32)


class Prototypes(nn.Module):
  """[G, N, D] projections -> [G, N, K] cosine scores."""
  spec: PrototypeSpec

  @nn.compact
  def __call__(self, z):
    w = self.param("kernel", prototype_init, (self.spec.num, z.shape[-1]), jnp.float32)
    if self.spec.normalize_weights:
      w = l2_normalize(w)
    if self.spec.learn_gain:
      w = self.param("gain", nn.initializers.ones, (self.spec.num, 1), jnp.float32) * w
    return jnp.einsum("...d,kd->...k", l2_normalize(z), w)
