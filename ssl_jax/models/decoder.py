"""MAE's decoder: the encoder's visible tokens and mask tokens -> pixels.

He et al. 2022, Sec. 3: the encoded visible patches are embedded to the
decoder's width, a shared learned mask token fills each removed position,
the sequence is put back in patch order, MAE's fixed sine-cosine position
embeddings are added, and a few pre-norm transformer blocks and a linear
layer predict each patch's p * p * 3 pixel values.
"""
import dataclasses
from typing import Any

import flax.linen as nn
import jax.numpy as jnp

from ssl_jax.models.vit import Block, dense_init, mae_sincos_position_embedding

# MAE normal(std=0.02)s its mask token; the linear layers get the ViT's
# truncated normal as the encoder's do (MAE: Xavier-uniform).
_token_init = nn.initializers.normal(0.02)


@dataclasses.dataclass(frozen=True)
class DecoderSpec:
  """MAE's decoder: width, blocks, heads, and the fraction of patches the
  encoder does not see."""
  dim: int = 512
  depth: int = 8
  heads: int = 16
  mask_ratio: float = 0.75

  def __post_init__(self):
    for name in ("dim", "depth", "heads"):
      if getattr(self, name) < 1:
        raise ValueError(f"decoder {name} must be >= 1, got {getattr(self, name)}")
    if self.dim % self.heads:
      raise ValueError(f"decoder dim {self.dim} is not divisible by its {self.heads} heads")
    if not 0.0 <= self.mask_ratio < 1.0:
      raise ValueError(f"mask_ratio must be in [0, 1), got {self.mask_ratio}")

  def kept(self, num_patches: int) -> int:
    """Patches the encoder sees: MAE's ``int(L * (1 - mask_ratio))``, at least one."""
    return max(int(num_patches * (1.0 - self.mask_ratio)), 1)


class MaskedDecoder(nn.Module):
  """(CLS [B, D], kept patch tokens [B, K, D], restore [B, L]) on a grid
  (gh, gw) -> predicted patches [B, L, p * p * 3] float32."""
  spec: DecoderSpec
  patch_values: int
  dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, cls, kept, restore, grid):
    spec = self.spec
    b, length = restore.shape
    x = jnp.concatenate([cls[:, None], kept], axis=1).astype(self.dtype)
    x = nn.Dense(spec.dim, kernel_init=dense_init, dtype=self.dtype, name="embed")(x)
    mask_token = self.param("mask_token", _token_init, (1, spec.dim))
    filler = jnp.broadcast_to(mask_token.astype(self.dtype), (b, length - kept.shape[1], spec.dim))
    patches = jnp.take_along_axis(jnp.concatenate([x[:, 1:], filler], axis=1),
                                  restore[..., None], axis=1)
    pos = mae_sincos_position_embedding(*grid, spec.dim).reshape(length, spec.dim)
    x = jnp.concatenate([x[:, :1], patches + pos.astype(self.dtype)], axis=1)
    for i in range(spec.depth):
      x = Block(spec.heads, dtype=self.dtype, name=f"block{i + 1}")(x, False)
    x = nn.LayerNorm(epsilon=1e-6, dtype=self.dtype, name="norm")(x)
    x = nn.Dense(self.patch_values, kernel_init=dense_init, dtype=self.dtype, name="pred")(x)
    return x[:, 1:].astype(jnp.float32)


def patchify(images, patch):
  """[..., H, W, C] -> [..., (H/p)(W/p), p * p * C], MAE's ``patchify`` order
  (patch rows, then pixel row, pixel column, channel); a side that is not a
  multiple of the patch loses its remainder, as the encoder's convolution does."""
  *lead, h, w, c = images.shape
  gh, gw = h // patch, w // patch
  x = images[..., :gh * patch, :gw * patch, :].reshape(*lead, gh, patch, gw, patch, c)
  x = jnp.moveaxis(x, -4, -3)  # [..., gh, gw, p, p, c]
  return x.reshape(*lead, gh * gw, patch * patch * c)
