"""The built-in ``digits`` dataset: real handwriting with nuisances.

The 1,797 handwritten digits that scikit-learn ships inside its wheel
(UCI's "Optical Recognition of Handwritten Digits": 8x8, 17 grey levels,
written by 43 people), each drawn into a 32 px image at a random scale
(glyph height 18-26 px), rotation (±20°) and position, as a digit of one
random colour on a background of another (their brightness apart by at
least 0.3, either way round) with pixel noise, a few specks and one short
stroke of clutter.

Where ``synthetic`` has ten clean geometric shapes, these are real digits
written by different hands at 8x8: classes overlap (1/7, 4/9, 3/8), and the
background colour is a per-image nuisance that crops keep and only colour
jitter can hide.  The originals are split class by class, so a test image
is never a re-rendering of a training digit (scikit-learn's copy has no
writer ids, so one writer may appear on both sides): 80 % of each class's
originals are drawn 7 times for ``train`` (10,066 images), the other 20 %
3 times for ``test`` (1,077).

Generation is deterministic: the same (split, seed, size) gives the same
bytes on every machine.
"""
import numpy as np

NUM_CLASSES = 10
RENDERS = {"train": 7, "test": 3}
_TEST_FRACTION = 0.2
_SPLIT_OFFSET = {"train": 0, "test": 1}


def originals(seed=0):
  """(glyphs float32 [n, 8, 8] in [0, 1], labels int32 [n], is_test bool [n])."""
  from sklearn.datasets import load_digits  # pylint: disable=g-import-not-at-top
  digits = load_digits()
  glyphs = (digits.images / 16.0).astype(np.float32)
  labels = digits.target.astype(np.int32)
  rng = np.random.default_rng([seed, 7])
  is_test = np.zeros(len(labels), bool)
  for c in range(NUM_CLASSES):
    members = rng.permutation(np.flatnonzero(labels == c))
    is_test[members[:int(round(_TEST_FRACTION * len(members)))]] = True
  return glyphs, labels, is_test


def _bilinear(glyphs, u, v):
  """Samples glyphs [n, 8, 8] at glyph coordinates u, v [n, H, W] in [-1, 1]
  (0 outside)."""
  n, g = glyphs.shape[:2]
  x = (u + 1) / 2 * g - 0.5
  y = (v + 1) / 2 * g - 0.5
  x0, y0 = np.floor(x).astype(int), np.floor(y).astype(int)
  out = np.zeros(u.shape, np.float32)
  idx = np.arange(n)[:, None, None]
  for dx in (0, 1):
    for dy in (0, 1):
      xi, yi = x0 + dx, y0 + dy
      w = (1 - np.abs(x - xi)) * (1 - np.abs(y - yi))
      inside = (xi >= 0) & (xi < g) & (yi >= 0) & (yi < g)
      out += np.where(inside, w * glyphs[idx, np.clip(yi, 0, g - 1), np.clip(xi, 0, g - 1)], 0)
  return out


def _placed(rng, glyphs, size):
  """Coverage [n, size, size] of each glyph at a random scale, angle, position."""
  n = len(glyphs)
  scale = rng.uniform(0.55, 0.8, n).astype(np.float32)   # half-height / half-image
  angle = rng.uniform(-np.pi / 9, np.pi / 9, n).astype(np.float32)
  centre = (rng.uniform(-1, 1, (n, 2)) * (1 - scale)[:, None]).astype(np.float32)
  grid = ((np.arange(size) + 0.5) / size * 2 - 1).astype(np.float32)
  col = lambda a: a[:, None, None]
  dx = grid[None, None, :] - col(centre[:, 0])
  dy = grid[None, :, None] - col(centre[:, 1])
  cos, sin = np.cos(angle), np.sin(angle)
  u = (col(cos) * dx + col(sin) * dy) / col(scale)
  v = (col(cos) * dy - col(sin) * dx) / col(scale)
  return np.clip(_bilinear(glyphs, u, v), 0, 1)


def _colour_pairs(rng, n):
  """Foreground and background RGB [n, 3]: random hues and saturations,
  values at least 0.3 apart, the digit darker or brighter at random."""
  bright = rng.uniform(0.55, 0.95, n)
  dark = bright - rng.uniform(0.3, 0.5, n)
  dark = np.clip(dark, 0.05, None)
  digit_brighter = rng.uniform(size=n) < 0.5
  values = (np.where(digit_brighter, bright, dark), np.where(digit_brighter, dark, bright))

  def rgb(value):
    hue, sat = rng.uniform(0, 1, n), rng.uniform(0.2, 0.9, n)
    k = lambda m: (m + hue * 6) % 6
    channel = lambda m: value - value * sat * np.clip(np.minimum(k(m), 4 - k(m)), 0, 1)
    return np.stack([channel(5), channel(3), channel(1)], -1).astype(np.float32)
  return rgb(values[0]), rgb(values[1])


def _stroke(rng, n, size):
  """Coverage of one short straight stroke per image."""
  grid = np.arange(size, dtype=np.float32) + 0.5
  a = rng.uniform(0, size, (n, 2)).astype(np.float32)
  theta = rng.uniform(0, np.pi, n)
  length = rng.uniform(3, 6, n)
  b = a + np.stack([np.cos(theta), np.sin(theta)], -1) * length[:, None]
  px, py = grid[None, None, :], grid[None, :, None]
  col = lambda t: t[:, None, None]
  ax, ay, bx, by = col(a[:, 0]), col(a[:, 1]), col(b[:, 0]), col(b[:, 1])
  t = np.clip(((px - ax) * (bx - ax) + (py - ay) * (by - ay)) /
              ((bx - ax) ** 2 + (by - ay) ** 2), 0, 1)
  dist = np.hypot(px - (ax + t * (bx - ax)), py - (ay + t * (by - ay)))
  return np.clip(1.5 - dist, 0, 1).astype(np.float32)


def generate(split, size=32, seed=0, num_examples=None):
  """Images and labels of one split.

  Args:
    split: "train" or "test".
    size: image side in pixels.
    seed: dataset seed (the train/test split of the originals and the draws).
    num_examples: keep only the first n images (all by default).
  Returns:
    (images uint8 [n, size, size, 3], labels int32 [n]), in random order.
  """
  if split not in RENDERS:
    raise ValueError(f"digits has splits {sorted(RENDERS)}, not {split!r}")
  glyphs, labels, is_test = originals(seed)
  keep = is_test if split == "test" else ~is_test
  glyphs = np.repeat(glyphs[keep], RENDERS[split], axis=0)
  labels = np.repeat(labels[keep], RENDERS[split], axis=0)
  rng = np.random.default_rng([seed, _SPLIT_OFFSET[split], size])
  order = rng.permutation(len(labels))
  if num_examples is not None:
    order = order[:num_examples]
  glyphs, labels = glyphs[order], labels[order]
  n = len(labels)
  digit = _placed(rng, glyphs, size)
  fg, bg = _colour_pairs(rng, n)
  image = bg[:, None, None, :] + 0.04 * rng.standard_normal((n, size, size, 3), np.float32)
  image = image * (1 - digit[..., None]) + fg[:, None, None, :] * digit[..., None]
  stroke = _stroke(rng, n, size)[..., None]
  image = image * (1 - stroke) + rng.uniform(0, 1, (n, 1, 1, 3)).astype(np.float32) * stroke
  specks = np.zeros((n, size, size), np.float32)
  specks[np.arange(n)[:, None], rng.integers(0, size, (n, 4)), rng.integers(0, size, (n, 4))] = 1
  image = image * (1 - specks[..., None]) + specks[..., None] * rng.uniform(
      0, 1, (n, size, size, 3)).astype(np.float32)
  return np.clip(np.round(image * 255), 0, 255).astype(np.uint8), labels.astype(np.int32)
