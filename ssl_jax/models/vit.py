"""Vision Transformers (Dosovitskiy et al. 2021) in Flax, as DINO and timm build them.

Patch embedding (a p x p / p convolution), a CLS token, optional register
tokens (Darcet et al. 2024), learned position embeddings for a base grid
(224 / p), pre-norm blocks (LayerNorm, multi-head self-attention, LayerNorm,
GELU MLP of 4x the width), stochastic depth and optional LayerScale, a last
LayerNorm.  Inputs are [G, N, H, W, 3] like every backbone's (views of one
size); the output is the CLS token [G, N, D], or with ``pool="cls_mean"``
the CLS token and the mean patch token side by side [G, N, 2D] (DINO's
linear protocol for ViT-B).  Other input sizes than the base one get the
position embeddings resized as DINO's ``interpolate_pos_encoding`` does.
"""
import functools
from typing import Any, Optional

import flax.linen as nn
import jax
import jax.numpy as jnp

from ssl_jax.models import batch_axes

POOLS = ("cls", "cls_mean")
BASE_IMAGE_SIZE = 224

# DINO's _init_weights: every Linear trunc_normal(std=0.02), bias 0; the
# CLS token and position embeddings too.
dense_init = nn.initializers.truncated_normal(0.02)
# The patch embedding is a Conv2d that DINO leaves at PyTorch's default,
# uniform in +-1/sqrt(fan_in).
_patch_init = nn.initializers.variance_scaling(1.0 / 3.0, "fan_in", "uniform")


def _torch_cubic(x, a=-0.75):
  """PyTorch's bicubic kernel (a = -0.75)."""
  x = jnp.abs(x)
  near = ((a + 2.0) * x - (a + 3.0)) * x * x + 1.0
  far = ((a * x - 5.0 * a) * x + 8.0 * a) * x - 4.0 * a
  return jnp.where(x <= 1.0, near, jnp.where(x < 2.0, far, 0.0))


def _interpolation_matrix(old, new):
  """[new, old] weights of ``F.interpolate(mode="bicubic",
  scale_factor=(new + 0.1) / old)`` along one axis (align_corners=False,
  edges clamped): DINO's call, whose 0.1 avoids a floating-point miss of
  the output size."""
  scale = (new + 0.1) / old
  src = (jnp.arange(new, dtype=jnp.float32) + 0.5) / scale - 0.5
  first = jnp.floor(src)
  taps = first[:, None] + jnp.arange(-1, 3, dtype=jnp.float32)[None, :]  # [new, 4]
  weights = _torch_cubic(src[:, None] - taps)
  index = jnp.clip(taps, 0, old - 1).astype(jnp.int32)
  return jnp.sum(jax.nn.one_hot(index, old) * weights[..., None], axis=1)


def resize_position_embedding(grid, height, width):
  """Position embeddings of a grid [h0, w0, D] for a grid [height, width, D]."""
  if grid.shape[:2] == (height, width):
    return grid
  rows = _interpolation_matrix(grid.shape[0], height)
  cols = _interpolation_matrix(grid.shape[1], width)
  return jnp.einsum("hy,yxd,wx->hwd", rows, grid, cols, precision=jax.lax.Precision.HIGHEST)


class DropPath(nn.Module):
  """Stochastic depth: the residual branch of a whole example dropped with
  probability ``rate`` and the kept ones scaled by 1 / (1 - rate).  Needs a
  ``dropout`` rng; without one (a teacher's pass) it is the identity."""
  rate: float

  @nn.compact
  def __call__(self, x, train):
    if not train or self.rate == 0.0 or not self.has_rng("dropout"):
      return x
    keep = 1.0 - self.rate
    mask = jax.random.bernoulli(self.make_rng("dropout"), keep, (x.shape[0],) + (1,) * (x.ndim - 1))
    return jnp.where(mask, x / keep, 0.0).astype(x.dtype)


class Block(nn.Module):
  """Pre-norm transformer block on tokens [B, T, D]."""
  heads: int
  drop_path: float = 0.0
  layerscale: Optional[float] = None
  dtype: Any = jnp.float32

  def _residual(self, y, name, train):
    if self.layerscale is not None:
      gamma = self.param(name, nn.initializers.constant(self.layerscale), (y.shape[-1],))
      y = y * gamma.astype(y.dtype)
    return DropPath(self.drop_path)(y, train)

  @nn.compact
  def __call__(self, x, train):
    b, t, d = x.shape
    dense = functools.partial(nn.Dense, dtype=self.dtype, kernel_init=dense_init)
    y = nn.LayerNorm(epsilon=1e-6, dtype=self.dtype, name="norm1")(x)
    qkv = dense(3 * d, name="qkv")(y).reshape(b, t, 3, self.heads, d // self.heads)
    y = jax.nn.dot_product_attention(qkv[:, :, 0], qkv[:, :, 1], qkv[:, :, 2])
    y = dense(d, name="proj")(y.reshape(b, t, d))
    x = x + self._residual(y, "ls1", train)
    y = nn.LayerNorm(epsilon=1e-6, dtype=self.dtype, name="norm2")(x)
    y = dense(d, name="fc2")(nn.gelu(dense(4 * d, name="fc1")(y), approximate=False))
    return x + self._residual(y, "ls2", train)


POS_EMBEDS = ("learned", "sincos", "sincos_mae")
PATCH_STEMS = ("linear", "conv")


class ConvStem(nn.Module):
  """Xiao et al. 2021's convolutional stem in place of the p x p / p patch
  projection: log2(p) 3x3 stride-2 convolutions whose widths double up to
  D/2 (48, 96 for ViT-Tiny/4), each followed by a LayerNorm over channels
  and GELU (their BatchNorm and ReLU, without batch statistics), then a 1x1
  convolution to D.  [B, H, W, 3] -> [B, H/p, W/p, D].  A patch's embedding
  sees up to 3 px of its neighbours, so iBOT's masked patches (replaced
  after the stem) leave a trace in the visible ones next to them, and MAE's
  encoder, which must not see its removed patches, refuses it."""
  patch: int
  dim: int
  dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, x):
    layers = self.patch.bit_length() - 1
    if self.patch != 1 << layers or layers == 0:
      raise ValueError(f"a convolutional stem needs a patch side that is a power of 2 above 1, "
                       f"got {self.patch}")
    for i in range(layers):
      x = nn.Conv(self.dim >> (layers - i), (3, 3), (2, 2), padding=((1, 1), (1, 1)),
                  use_bias=False, dtype=self.dtype, name=f"conv{i + 1}")(x)
      x = nn.gelu(nn.LayerNorm(epsilon=1e-6, dtype=self.dtype, name=f"norm{i + 1}")(x),
                  approximate=False)
    return nn.Conv(self.dim, (1, 1), dtype=self.dtype, name="proj")(x)


def sincos_position_embedding(gh, gw, dim, temperature=10000.0):
  """MoCo v3's fixed 2D table (``build_2d_sincos_position_embedding``),
  [gh, gw, dim]: with ω_k = temperature^(-k / (dim/4)) and (a, b) the
  position's indices in the order its ``meshgrid(grid_w, grid_h)`` flattens
  them (a = token // gh, b = token % gh), the features are
  [sin(a ω), cos(a ω), sin(b ω), cos(b ω)]."""
  if dim % 4:
    raise ValueError(f"sin-cos position embeddings need a width divisible by 4, got {dim}")
  omega = 1.0 / temperature ** (jnp.arange(dim // 4, dtype=jnp.float32) / (dim // 4))
  token = jnp.arange(gh * gw)
  a = (token // gh).astype(jnp.float32)[:, None] * omega
  b = (token % gh).astype(jnp.float32)[:, None] * omega
  table = jnp.concatenate([jnp.sin(a), jnp.cos(a), jnp.sin(b), jnp.cos(b)], axis=1)
  return table.reshape(gh, gw, dim)


def mae_sincos_position_embedding(gh, gw, dim):
  """MAE's fixed 2D table (``get_2d_sincos_pos_embed``), [gh, gw, dim]:
  with ω_k = 10000^(-k / (dim/4)) and (r, c) a token's row and column, the
  features are [sin(c ω), cos(c ω), sin(r ω), cos(r ω)] (its numpy meshgrid
  puts the column first).  For a square grid, MoCo v3's table with its two
  halves swapped."""
  if dim % 4:
    raise ValueError(f"sin-cos position embeddings need a width divisible by 4, got {dim}")
  omega = 1.0 / 10000.0 ** (jnp.arange(dim // 4, dtype=jnp.float32) / (dim // 4))
  rows, cols = jnp.meshgrid(jnp.arange(gh, dtype=jnp.float32),
                            jnp.arange(gw, dtype=jnp.float32), indexing="ij")
  r, c = rows[..., None] * omega, cols[..., None] * omega
  return jnp.concatenate([jnp.sin(c), jnp.cos(c), jnp.sin(r), jnp.cos(r)], axis=-1)


def fixed_position_table(kind, gh, gw, dim):
  """The [gh, gw, dim] table of a fixed ``pos_embed`` kind ("sincos", "sincos_mae")."""
  table = {"sincos": sincos_position_embedding, "sincos_mae": mae_sincos_position_embedding}
  return table[kind](gh, gw, dim)


def random_masking(tokens, noise, keep):
  """MAE's per-example random masking: the ``keep`` tokens of lowest noise,
  in order of increasing noise.

  Args:
    tokens: [B, L, D]; noise: [B, L] (uniform); keep: how many stay.
  Returns:
    (kept [B, keep, D], restore [B, L] int32: the argsort that puts the
    kept tokens followed by the removed ones back in place, mask [B, L]
    float32: 1 where removed).
  """
  order = jnp.argsort(noise, axis=1)
  restore = jnp.argsort(order, axis=1).astype(jnp.int32)
  kept = jnp.take_along_axis(tokens, order[:, :keep, None], axis=1)
  mask = (restore >= keep).astype(jnp.float32)
  return kept, restore, mask


class VisionTransformer(nn.Module):
  """ViT backbone: [G, N, H, W, 3] -> [G, N, D] (``pool="cls_mean"``: 2D).

  Attributes:
    patch: patch side in px (16, or 8 for ViT-S/8 and ViT-B/8).
    dim, depth, heads: width, blocks and attention heads.
    drop_path_rate: stochastic depth of the last block, growing linearly
      from 0 at the first (DINO's ``drop_path_rate``).
    layerscale: initial value of LayerScale's per-channel gains (CaiT,
      DINOv2: 1e-5 or 0.1); None: no LayerScale.
    registers: extra learned tokens, dropped at the output.
    pool: "cls" or "cls_mean".
    pos_embed: "learned" (DINO, timm), "sincos": MoCo v3's fixed 2D
      sine-cosine table (``sincos_position_embedding``) for the input's grid,
      zero for the CLS token, no parameter, or "sincos_mae": MAE's
      (``mae_sincos_position_embedding``).
    patch_stem: "linear" (the p x p / p projection) or "conv"
      (``ConvStem``); both are the module ``patch_embed``.

  Called with ``noise`` [G, N, L] (L patches) and ``keep``, the blocks see
  the CLS token, the registers and only the ``keep`` patches of lowest
  noise (MAE's encoder, ``random_masking``), and the result is a dict:
  "features" (pooled as above, over the kept patches), "tokens" [G, N,
  keep, D] (the kept patches after the last LayerNorm), "cls" [G, N, D],
  "restore" and "mask" [G, N, L].

  Called with ``patch_mask``, bool [G, N, h, w] on the input's patch grid,
  the masked patches' embeddings are replaced by a learned ``mask_token``
  (zeros at first) before the position embeddings are added (BEiT's and
  iBOT's ``mask_model``), every patch goes through the blocks, and the
  result is a dict: "features", "cls" [G, N, D] and "tokens" [G, N, L, D].
  """
  patch: int
  dim: int
  depth: int
  heads: int
  drop_path_rate: float = 0.0
  layerscale: Optional[float] = None
  registers: int = 0
  pool: str = "cls"
  pos_embed: str = "learned"
  patch_stem: str = "linear"
  dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, x, train: bool = True, noise=None, keep=None, patch_mask=None):
    if self.pool not in POOLS:
      raise ValueError(f"unknown pool {self.pool!r}; valid: {', '.join(POOLS)}")
    if self.pos_embed not in POS_EMBEDS:
      raise ValueError(f"unknown pos_embed {self.pos_embed!r}; valid: {', '.join(POS_EMBEDS)}")
    if self.patch_stem not in PATCH_STEMS:
      raise ValueError(f"unknown patch_stem {self.patch_stem!r}; valid: {', '.join(PATCH_STEMS)}")
    lead = x.shape[:-3]
    # A side that is not a multiple of the patch loses its remainder (the
    # last rows and columns), as DINO's strided patch convolution does.
    merge = lambda t: batch_axes.merge(t, len(lead))
    x = merge(x).astype(self.dtype)
    if self.patch_stem == "conv":
      if noise is not None:
        raise ValueError("MAE's masking needs each patch embedded on its own; a convolutional "
                         "stem mixes neighbouring patches")
      x = ConvStem(self.patch, self.dim, self.dtype, name="patch_embed")(x)
    else:
      x = nn.Conv(self.dim, (self.patch, self.patch), (self.patch, self.patch), padding="VALID",
                  kernel_init=_patch_init, dtype=self.dtype, name="patch_embed")(x)
    b, gh, gw, d = x.shape
    if patch_mask is not None:
      if noise is not None:
        raise ValueError("a ViT call takes MAE's noise or a patch mask, not both")
      token = self.param("mask_token", nn.initializers.zeros, (1, d))
      masked = merge(patch_mask).reshape(b, gh, gw, 1)
      x = jnp.where(masked, token.astype(self.dtype), x)
    if self.pos_embed != "learned":
      cls_pos, patch_pos = jnp.zeros((1, d)), fixed_position_table(self.pos_embed, gh, gw, d)
    else:
      base = BASE_IMAGE_SIZE // self.patch
      pos = self.param("pos_embed", dense_init, (1 + base * base, d))
      cls_pos = pos[:1]
      patch_pos = resize_position_embedding(pos[1:].reshape(base, base, d), gh, gw)
    cls = self.param("cls_token", dense_init, (1, d))
    tokens = [jnp.broadcast_to(cls + cls_pos, (b, 1, d)).astype(self.dtype)]
    if self.registers:
      reg = self.param("registers", dense_init, (self.registers, d))
      tokens.append(jnp.broadcast_to(reg, (b, self.registers, d)).astype(self.dtype))
    patches = (x + patch_pos.astype(self.dtype)).reshape(b, gh * gw, d)
    if noise is not None:
      patches, restore, mask = random_masking(patches, merge(noise).reshape(b, gh * gw), keep)
    tokens.append(patches)
    x = jnp.concatenate(tokens, axis=1)
    for i in range(self.depth):
      rate = self.drop_path_rate * i / max(self.depth - 1, 1)
      x = Block(self.heads, rate, self.layerscale, self.dtype, name=f"block{i + 1}")(x, train)
    x = nn.LayerNorm(epsilon=1e-6, dtype=self.dtype, name="norm")(x).astype(jnp.float32)
    out = x[:, 0]
    if self.pool == "cls_mean":
      out = jnp.concatenate([out, jnp.mean(x[:, 1 + self.registers:], axis=1)], axis=-1)
    out = batch_axes.split(out, lead)
    if noise is None and patch_mask is None:
      return out
    unflat = lambda t: batch_axes.split(t, lead)
    result = {"features": out, "cls": unflat(x[:, 0]), "tokens": unflat(x[:, 1 + self.registers:])}
    if noise is not None:
      result.update(restore=unflat(restore), mask=unflat(mask))
    return result


# (dim, depth, heads): timm's vit_{tiny,small,base,large}_patch16_224.
SIZES = {"tiny": (192, 12, 3), "small": (384, 12, 6), "base": (768, 12, 12),
         "large": (1024, 24, 16)}


def vit(size, patch):
  dim, depth, heads = SIZES[size]
  return functools.partial(VisionTransformer, patch=patch, dim=dim, depth=depth, heads=heads)
