"""The built-in ``synthetic`` dataset: shapes on noise, generated in NumPy.

Each image holds one shape whose class is the label (disk, ring, square,
frame, triangle, plus, cross, half-disk, L, bars), at a random position,
scale and small rotation, in a random colour, over a background of i.i.d.
pixel noise, with a few random specks of clutter.

It is built for joint-embedding SSL to have something to learn in a few
hundred steps and little else to latch onto: the crop and the horizontal
flip move the shape around, colour jitter and grayscale destroy its hue,
and the noise and the specks carry no per-image identity (they are drawn
from one distribution for every image, so their pooled statistics are the
same everywhere).  Two nuisances survive the views in part: the shape's
polarity (darker or brighter than the grey background, which jitter keeps)
and its height in the image (the crops keep it in part, the flip is
horizontal).  ``generate_with_factors`` returns every factor an image was
drawn with, so ``bench/synthetic_factors.py`` can say which of them a
trained encoder holds: the weaker quickstarts' top two feature directions
are polarity and height (README).  Position, scale and colour dominate
pixel distances, so weighted k-NN on raw pixels reaches about 37 %
(chance: 10 %) where the quickstart's encoder reaches about 85 %
(tests/test_synthetic.py, README).

``gray=True`` gives the ``synthetic_gray`` variant: no colour cues at all
(the shapes are grey levels, darker or brighter than the background, so
hue jitter and grayscale have nothing to take away), and each image's
background carries a stripe texture (±0.12, as strong as its pixel noise)
of its own orientation, period and phase: a per-image nuisance that every
crop keeps and no colour augmentation removes, the kind instance
discrimination latches onto.

Generation is deterministic: the same (split, seed, size) gives the same
bytes on every machine.
"""
import numpy as np

CLASS_NAMES = ("disk", "ring", "square", "frame", "triangle", "plus", "cross",
               "half_disk", "ell", "bars")
NUM_CLASSES = len(CLASS_NAMES)
SPLIT_SIZES = {"train": 10000, "test": 2000}
_SPLIT_OFFSET = {"train": 0, "test": 1}
_SUPERSAMPLE = 3


def _shape_mask(label, u, v):
  """Inside-mask of shape ``label`` in its unit frame; u, v in [-1, 1]."""
  au, av = np.abs(u), np.abs(v)
  r = np.sqrt(u * u + v * v)
  name = CLASS_NAMES[label]
  if name == "disk":
    return r <= 0.9
  if name == "ring":
    return (r <= 0.95) & (r >= 0.55)
  if name == "square":
    return (au <= 0.75) & (av <= 0.75)
  if name == "frame":
    return (np.maximum(au, av) <= 0.85) & (np.maximum(au, av) >= 0.5)
  if name == "triangle":
    return (v <= 0.7) & (v >= 1.6 * au - 0.9)
  if name == "plus":
    return ((au <= 0.25) & (av <= 0.9)) | ((av <= 0.25) & (au <= 0.9))
  if name == "cross":
    d1, d2 = np.abs(u - v), np.abs(u + v)
    return ((d1 <= 0.35) | (d2 <= 0.35)) & (np.maximum(au, av) <= 0.8)
  if name == "half_disk":
    return (r <= 0.95) & (v >= 0.0)
  if name == "ell":
    return (((u >= -0.8) & (u <= -0.3)) & (av <= 0.85)) | (
        (v >= 0.35) & (v <= 0.85) & (u >= -0.8) & (u <= 0.8))
  if name == "bars":
    return (au <= 0.85) & (((v >= -0.75) & (v <= -0.3)) | ((v >= 0.3) & (v <= 0.75)))
  raise ValueError(label)


def _random_colours(rng, n):
  """Saturated colours, either darker or brighter than the mid-grey background."""
  hue = rng.uniform(0, 1, n)
  sat = rng.uniform(0.5, 1.0, n)
  val = np.where(rng.uniform(size=n) < 0.5, rng.uniform(0.05, 0.3, n),
                 rng.uniform(0.75, 1.0, n))
  k = lambda m: (m + hue * 6) % 6  # HSV -> RGB, vectorised
  channel = lambda m: val - val * sat * np.clip(np.minimum(k(m), 4 - k(m)), 0, 1)
  return np.stack([channel(5), channel(3), channel(1)], axis=-1)


def _render_shapes(rng, labels, size, chunk=256):
  """Antialiased coverage [n, size, size] of each image's shape, and its
  placement {"scale", "x", "y", "angle"} (x, y in [-1, 1], y downwards)."""
  n = len(labels)
  hi = size * _SUPERSAMPLE
  grid = ((np.arange(hi) + 0.5) / hi * 2 - 1).astype(np.float32)
  scale = rng.uniform(0.35, 0.6, n).astype(np.float32)
  centre = (rng.uniform(-1, 1, (n, 2)) * (1 - scale)[:, None] * 0.9).astype(np.float32)
  angle = rng.uniform(-np.pi / 12, np.pi / 12, n)
  cos, sin = np.cos(angle).astype(np.float32), np.sin(angle).astype(np.float32)
  coverage = np.zeros((n, size, size), np.float32)
  for label in range(NUM_CLASSES):
    members = np.flatnonzero(labels == label)
    for start in range(0, len(members), chunk):
      i = members[start:start + chunk]
      col = lambda a: a[i][:, None, None]
      dx = grid[None, None, :] - col(centre[:, 0])
      dy = grid[None, :, None] - col(centre[:, 1])
      u = (col(cos) * dx + col(sin) * dy) / col(scale)
      v = (col(cos) * dy - col(sin) * dx) / col(scale)
      mask = _shape_mask(label, u, v).astype(np.float32)
      coverage[i] = mask.reshape(len(i), size, _SUPERSAMPLE, size,
                                 _SUPERSAMPLE).mean((2, 4))
  return coverage, {"scale": scale, "x": centre[:, 0], "y": centre[:, 1], "angle": angle}


def _clutter(rng, n, size, count=5):
  """Coverage and colour of a few one-pixel specks per image."""
  cover = np.zeros((n, size, size), np.float32)
  colour = np.zeros((n, size, size, 3), np.float32)
  rows = rng.integers(0, size, (n, count))
  cols = rng.integers(0, size, (n, count))
  speck_colour = rng.uniform(0, 1, (n, count, 3)).astype(np.float32)
  idx = np.arange(n)[:, None]
  cover[idx, rows, cols] = 1.0
  colour[idx, rows, cols] = speck_colour
  return cover, colour


def _stripes(rng, n, size, amplitude=0.12):
  """A grating per image [n, size, size, 1] and its angle and period."""
  angle = rng.uniform(0, np.pi, n).astype(np.float32)
  period = rng.uniform(3.0, 8.0, n).astype(np.float32)
  phase = rng.uniform(0, 2 * np.pi, n).astype(np.float32)
  grid = np.arange(size, dtype=np.float32)
  col = lambda a: a[:, None, None]
  t = (grid[None, None, :] * col(np.cos(angle)) + grid[None, :, None] * col(np.sin(angle)))
  wave = amplitude * np.sin(2 * np.pi * t / col(period) + col(phase))
  return wave[..., None], {"stripe_angle": angle, "stripe_period": period}


def generate(split, size=32, seed=0, num_examples=None, gray=False):
  """Images and labels of one split.

  Args:
    split: "train" or "test".
    size: image side in pixels.
    seed: dataset seed; train and test are disjoint draws for any seed.
    num_examples: defaults to ``SPLIT_SIZES[split]``.
    gray: the ``synthetic_gray`` variant (module docstring).
  Returns:
    (images uint8 [n, size, size, 3], labels int32 [n]); classes balanced.
  """
  images, labels, _ = generate_with_factors(split, size, seed, num_examples, gray)
  return images, labels


def generate_with_factors(split, size=32, seed=0, num_examples=None, gray=False):
  """``generate``'s images and labels, and the nuisance factors each image
  was drawn with: {"scale", "x", "y", "angle"} of the shape, its colour
  "rgb" [n, 3] and "polarity" (1 where the shape is brighter than the
  background, 0 where darker), with ``gray`` also "stripe_angle" and
  "stripe_period"; all float32 [n] unless said."""
  if split not in SPLIT_SIZES:
    raise ValueError(f"synthetic has splits {sorted(SPLIT_SIZES)}, not {split!r}")
  n = SPLIT_SIZES[split] if num_examples is None else num_examples
  rng = np.random.default_rng([seed, _SPLIT_OFFSET[split], size] + ([1] if gray else []))
  labels = rng.permutation(np.arange(n) % NUM_CLASSES).astype(np.int32)
  background = 0.5 + 0.1 * rng.standard_normal((n, size, size, 3), np.float32)
  shape, factors = _render_shapes(rng, labels, size)
  colour = _random_colours(rng, n).astype(np.float32)
  if gray:
    colour = np.repeat(colour.max(1, keepdims=True), 3, axis=1)  # HSV value, no hue
    stripes, stripe_factors = _stripes(rng, n, size)
    background = background + stripes
    factors.update(stripe_factors)
  image = background * (1 - shape[..., None]) + colour[:, None, None, :] * shape[..., None]
  speck, speck_colour = _clutter(rng, n, size)
  image = image * (1 - speck[..., None]) + speck_colour
  image = np.clip(np.round(image * 255), 0, 255).astype(np.uint8)
  factors = {k: np.asarray(v, np.float32) for k, v in factors.items()}
  factors["rgb"] = colour
  factors["polarity"] = (colour.max(1) > 0.5).astype(np.float32)
  return image, labels, factors
