"""BEiT's blockwise patch masks, as iBOT draws them for each global crop.

iBOT (Zhou et al. 2022, official ``loader.ImageFolderMask`` with
``pred_shape="block"``, after BEiT's ``MaskingGenerator``): for each crop a
prediction ratio r is drawn (one of ``ratios`` at random, each widened to
U(r - var, r + var) when its var is > 0), and rectangles are added to an
H x W patch grid until at least r H W patches are masked.  A rectangle has
area U(low, remaining), low = (min(H, W) // 3)^2, and aspect ratio
exp(U(log a, -log a)) for a = ``min_aspect``; its sides are rounded half to
even (Python's ``round``), it must fit strictly inside the grid, and it is
kept only when it masks between 1 and ``remaining`` new patches.  Ten
rejected rectangles in a row end the crop early.

Here the draw runs inside the step, from a JAX key, under ``vmap``: the
same distribution as the official generator on the host, not the same
numbers (tests/test_block_masking.py compares the distributions with ones
the official code drew).
"""
import dataclasses
import math
from typing import Tuple

import jax
import jax.numpy as jnp
from jax import lax


@dataclasses.dataclass(frozen=True)
class BlockMaskSpec:
  """What iBOT's data loader is given: ``pred_ratio``, ``pred_ratio_var``
  and ``pred_aspect_ratio`` (min_aspect, 1 / min_aspect)."""
  ratios: Tuple[float, ...] = (0.3,)
  ratio_vars: Tuple[float, ...] = (0.0,)
  min_aspect: float = 0.3
  max_attempts: int = 10

  def __post_init__(self):
    if len(self.ratios) != len(self.ratio_vars) or not self.ratios:
      raise ValueError(f"pred_ratio and pred_ratio_var need the same (non-zero) length, got "
                       f"{self.ratios} and {self.ratio_vars}")
    for r, v in zip(self.ratios, self.ratio_vars):
      if not 0.0 <= v <= r or r + v > 1.0:
        raise ValueError(f"a prediction ratio r with variation v needs 0 <= v <= r and "
                         f"r + v <= 1, got r={r}, v={v}")
    if not 0.0 < self.min_aspect <= 1.0:
      raise ValueError(f"min_aspect must be in (0, 1], got {self.min_aspect}")


def _ratio(key, spec):
  """One crop's prediction ratio: a uniform choice among ``spec.ratios``,
  each drawn from U(r - v, r + v) (r itself when v = 0)."""
  pick, spread = jax.random.split(key)
  i = jax.random.randint(pick, (), 0, len(spec.ratios))
  r = jnp.asarray(spec.ratios, jnp.float32)[i]
  v = jnp.asarray(spec.ratio_vars, jnp.float32)[i]
  return r + v * jax.random.uniform(spread, (), minval=-1.0, maxval=1.0)


def block_mask(key, grid_h, grid_w, spec: BlockMaskSpec):
  """One crop's mask, bool [grid_h, grid_w] (True: masked)."""
  ratio_key, key = jax.random.split(key)
  target = _ratio(ratio_key, spec) * (grid_h * grid_w)
  low = float((min(grid_h, grid_w) // 3) ** 2)
  log_aspect = math.log(spec.min_aspect)
  rows = jnp.arange(grid_h)[:, None]
  cols = jnp.arange(grid_w)[None, :]

  def keep_going(carry):
    _, count, fails, _ = carry
    return (count < target) & (fails < spec.max_attempts)

  def attempt(carry):
    mask, count, fails, key = carry
    key, k_area, k_aspect, k_top, k_left = jax.random.split(key, 5)
    remaining = target - count
    # random.uniform(a, b) is a + (b - a) u even when a > b.
    area = low + (remaining - low) * jax.random.uniform(k_area, dtype=jnp.float32)
    aspect = jnp.exp(jax.random.uniform(k_aspect, minval=log_aspect, maxval=-log_aspect))
    h = jnp.round(jnp.sqrt(area * aspect)).astype(jnp.int32)
    w = jnp.round(jnp.sqrt(area / aspect)).astype(jnp.int32)
    fits = (h < grid_h) & (w < grid_w)
    top = jax.random.randint(k_top, (), 0, jnp.maximum(grid_h - h, 0) + 1)
    left = jax.random.randint(k_left, (), 0, jnp.maximum(grid_w - w, 0) + 1)
    block = (rows >= top) & (rows < top + h) & (cols >= left) & (cols < left + w)
    new = jnp.sum(block & ~mask)
    ok = fits & (new > 0) & (new <= remaining)
    return (jnp.where(ok, mask | block, mask), count + jnp.where(ok, new, 0),
            jnp.where(ok, 0, fails + 1), key)

  start = (jnp.zeros((grid_h, grid_w), bool), jnp.zeros((), jnp.int32),
           jnp.zeros((), jnp.int32), key)
  return lax.while_loop(keep_going, attempt, start)[0]


def block_masks(key, shape, grid_h, grid_w, spec: BlockMaskSpec):
  """Independent masks for crops of leading ``shape``: bool [*shape, grid_h, grid_w]."""
  count = math.prod(shape)
  keys = jax.random.split(key, count)
  masks = jax.vmap(lambda k: block_mask(k, grid_h, grid_w, spec))(keys)
  return masks.reshape(tuple(shape) + (grid_h, grid_w))
