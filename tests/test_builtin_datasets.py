"""The built-in robustness datasets and the raw-pixel baselines."""
import jax
import numpy as np
import pytest
from ml_collections import ConfigDict

from ssl_jax import sharding
from ssl_jax.data import digits, sources, synthetic
from ssl_jax.data.sources import ArraySplit, Dataset
from ssl_jax.evals import pixels


def test_digits_are_deterministic_and_split_by_original():
  a, la = digits.generate("test", 16, seed=0, num_examples=60)
  b, lb = digits.generate("test", 16, seed=0, num_examples=60)
  np.testing.assert_array_equal(a, b)
  np.testing.assert_array_equal(la, lb)
  assert a.shape == (60, 16, 16, 3) and a.dtype == np.uint8
  glyphs, labels, is_test = digits.originals(seed=0)
  assert len(labels) == 1797 and 0.19 < is_test.mean() < 0.21
  for c in range(digits.NUM_CLASSES):  # every class on both sides
    assert 0 < (is_test & (labels == c)).sum() < (labels == c).sum()
  # Each original is drawn RENDERS[split] times into its split, nowhere else.
  _, train_labels = digits.generate("train", 8)
  _, test_labels = digits.generate("test", 8)
  np.testing.assert_array_equal(np.bincount(train_labels),
                                digits.RENDERS["train"] * np.bincount(labels[~is_test]))
  np.testing.assert_array_equal(np.bincount(test_labels),
                                digits.RENDERS["test"] * np.bincount(labels[is_test]))
  other, _ = digits.generate("test", 16, seed=1, num_examples=60)
  assert not np.array_equal(a, other)


def test_digit_glyphs_are_drawn_where_they_were_placed():
  """One glyph, full coverage of a filled square, lands at the drawn centre."""
  rng = np.random.default_rng(0)
  square = np.ones((1, 8, 8), np.float32)
  coverage = digits._placed(rng, square, 32)  # pylint: disable=protected-access
  assert coverage.shape == (1, 32, 32) and 0 <= coverage.min() and coverage.max() <= 1
  rows, cols = np.nonzero(coverage[0] > 0.5)
  # Between 18 and 26 px high (scale 0.55-0.8 of the half-image), rotated <= 20°.
  assert 14 <= rows.max() - rows.min() + 1 <= 30
  assert 14 <= cols.max() - cols.min() + 1 <= 30


def test_synthetic_gray_has_no_colour_and_a_per_image_grating():
  images, labels, factors = synthetic.generate_with_factors("test", 32, num_examples=200,
                                                            gray=True)
  shapes = images.astype(np.float32)
  # The shapes are grey: where a disk covers its centre all channels agree.
  disks = np.flatnonzero(labels == synthetic.CLASS_NAMES.index("disk"))
  row = ((factors["y"][disks] + 1) / 2 * 32).astype(int)
  col = ((factors["x"][disks] + 1) / 2 * 32).astype(int)
  centre = shapes[disks, row, col]
  assert np.median(centre.max(1) - centre.min(1)) <= 1
  # Each background carries its grating: the pixels regressed on a sinusoid
  # of the drawn angle and period give the amplitude 0.12 (31 grey levels);
  # the colour variant's, at the same angles and periods, give none.
  colour, _ = synthetic.generate("test", 32, num_examples=200)
  grid = np.arange(32, dtype=np.float32)

  def amplitude(image, angle, period):
    t = grid[None, :] * np.cos(angle) + grid[:, None] * np.sin(angle)
    basis = np.stack([np.sin(2 * np.pi * t / period), np.cos(2 * np.pi * t / period),
                      np.ones_like(t)], -1).reshape(-1, 3)
    coef, *_ = np.linalg.lstsq(basis, image.mean(-1).reshape(-1), rcond=None)
    return np.hypot(coef[0], coef[1])

  gray = [amplitude(shapes[i], factors["stripe_angle"][i], factors["stripe_period"][i])
          for i in range(50)]
  plain = [amplitude(colour[i].astype(np.float32), factors["stripe_angle"][i],
                     factors["stripe_period"][i]) for i in range(50)]
  assert 26 < np.median(gray) < 35 and np.median(plain) < 3


@pytest.mark.parametrize("name", ["synthetic", "synthetic_gray", "digits"])
def test_builtin_sources_load_with_their_sizes(name):
  config = ConfigDict({"name": name, "image_size": 16, "seed": 0, "num_examples": 100})
  dataset = sources.load_dataset(config)
  assert len(dataset.train) == 100 and len(dataset.test) == 20
  assert dataset.num_classes == 10 and dataset.bank is dataset.train
  assert dataset.train.images.shape[1:] == (16, 16, 3)


def _tiny_dataset(images, labels, test_images, test_labels):
  train = ArraySplit(images, labels)
  return Dataset("t", train=train, bank=train, test=ArraySplit(test_images, test_labels),
                 num_classes=int(labels.max()) + 1, mean=(0.5,) * 3, std=(0.25,) * 3)


def test_pixel_knn_is_the_weighted_vote_on_normalised_pixels():
  rng = np.random.default_rng(0)
  bank = rng.integers(0, 256, (40, 4, 4, 3), dtype=np.uint8)
  labels = rng.integers(0, 3, 40).astype(np.int32)
  queries = rng.integers(0, 256, (10, 4, 4, 3), dtype=np.uint8)
  truth = rng.integers(0, 3, 10).astype(np.int32)
  dataset = _tiny_dataset(bank, labels, queries, truth)
  got = pixels.pixel_knn_top1(dataset, sharding.make_mesh(jax.devices()), k=5, temperature=0.1)
  flat = lambda x: ((x / 255.0 - 0.5) / 0.25).reshape(len(x), -1)
  unit = lambda x: x / np.linalg.norm(x, axis=1, keepdims=True)
  sims = unit(flat(queries)) @ unit(flat(bank)).T
  top = np.argsort(-sims, axis=1, kind="stable")[:, :5]
  votes = np.zeros((10, 3))
  for q in range(10):
    for j in top[q]:
      votes[q, labels[j]] += np.exp(sims[q, j] / 0.1)
  assert got == pytest.approx(100.0 * np.mean(votes.argmax(1) == truth))


def test_linear_probe_separates_what_is_linearly_separable():
  rng = np.random.default_rng(1)
  centres = rng.normal(size=(4, 16)).astype(np.float32) * 3
  labels = rng.integers(0, 4, 600).astype(np.int32)
  features = centres[labels] + rng.normal(size=(600, 16)).astype(np.float32)
  as_features = lambda i: {"features": jax.numpy.asarray(features[i]),
                           "label": jax.numpy.asarray(labels[i]),
                           "mask": jax.numpy.ones((len(i),))}
  top1 = pixels.linear_probe_top1(as_features(np.arange(500)), as_features(np.arange(500, 600)),
                                  4, epochs=5)
  assert top1 > 95
  shuffled = {**as_features(np.arange(500)), "label": jax.numpy.asarray(rng.permutation(labels[:500]))}
  assert pixels.linear_probe_top1(shuffled, as_features(np.arange(500, 600)), 4, epochs=5) < 50
