"""iBOT's blockwise masks: drawn in the step, distributed as the official
loader draws them on the host (tests/official/ibot/block_masks.npz, made by
tests/official/block_mask_generate.py from bytedance/ibot's ``loader.py``)."""
import json
import os

import jax
import numpy as np
import pytest

from ssl_jax.models.block_masking import BlockMaskSpec, block_masks

FIXTURE = os.path.join(os.path.dirname(__file__), "official", "ibot", "block_masks.npz")


def _official():
  data = np.load(FIXTURE)
  return data, json.loads(str(data["settings"]))


def _as_tuple(x):
  return tuple(x) if isinstance(x, list) else (x,)


def _ours(side, patch, ratio, ratio_var, crops, seed=0):
  grid = side // patch
  spec = BlockMaskSpec(_as_tuple(ratio), _as_tuple(ratio_var))
  draw = jax.jit(lambda k: block_masks(k, (crops,), grid, grid, spec))
  return np.asarray(draw(jax.random.key(seed)))


@pytest.mark.parametrize("name", sorted(_official()[1]))
def test_masks_are_distributed_as_the_official_loaders(name):
  """The number of masked patches per crop passes a two-sample
  Kolmogorov-Smirnov test at 0.1 % against the official draw, and each
  patch is masked as often (within 4.5 standard errors of a difference of
  two frequencies near 0.15)."""
  data, settings = _official()
  theirs = data[f"{name}/counts"]
  masks = _ours(*settings[name], crops=len(theirs))
  ours = masks.reshape(len(masks), -1).sum(1)
  grid = masks.shape[-1]
  cdf = lambda c: np.cumsum(np.bincount(c, minlength=grid * grid + 1)) / len(c)
  ks = np.max(np.abs(cdf(ours) - cdf(theirs)))
  critical = np.sqrt(-np.log(0.001 / 2) / 2) * np.sqrt(2 / len(theirs))
  assert ks < critical, (name, ks, critical, ours.mean(), theirs.mean())
  frequency = np.abs(masks.mean(0) - data[f"{name}/frequency"])
  assert frequency.max() < 0.045, (name, frequency.max())


def test_a_mask_never_exceeds_its_ratio_and_rectangles_fill_it():
  """Each accepted rectangle adds at most the patches still wanted, so a
  fixed ratio r masks at most r H W patches, and close to it: ten misses in
  a row end a crop only when few patches are left to place."""
  masks = _ours(224, 16, 0.3, 0.0, crops=500)
  counts = masks.reshape(500, -1).sum(1)
  assert counts.max() <= int(0.3 * 196)
  assert counts.min() >= 0.8 * 0.3 * 196


def test_ratio_zero_masks_nothing_and_keys_decide_the_draw():
  spec = BlockMaskSpec((0.0, 0.5), (0.0, 0.1))
  a = np.asarray(block_masks(jax.random.key(3), (2, 64), 6, 6, spec))
  b = np.asarray(block_masks(jax.random.key(3), (2, 64), 6, 6, spec))
  c = np.asarray(block_masks(jax.random.key(4), (2, 64), 6, 6, spec))
  np.testing.assert_array_equal(a, b)
  assert not np.array_equal(a, c)
  counts = a.reshape(128, -1).sum(1)
  assert 0.3 < np.mean(counts == 0) < 0.7  # one ratio in two is 0
  assert np.all((counts == 0) | (counts >= int(0.4 * 36) - 4))


@pytest.mark.parametrize("kwargs, message", [
    (dict(ratios=(0.3,), ratio_vars=(0.4,)), "0 <= v <= r"),
    (dict(ratios=(0.3, 0.1), ratio_vars=(0.0,)), "same"),
    (dict(ratios=(0.9,), ratio_vars=(0.2,)), "r \\+ v <= 1"),
    (dict(min_aspect=1.5), "min_aspect"),
])
def test_bad_mask_settings_are_refused(kwargs, message):
  with pytest.raises(ValueError, match=message):
    BlockMaskSpec(**kwargs)
