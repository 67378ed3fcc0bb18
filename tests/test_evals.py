"""Collapse diagnostics, the linear classifier, feature extraction, label subsets."""
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from ssl_jax import sharding
from ssl_jax.data.folder import ImageFiles
from ssl_jax.data.sources import ArraySplit
from ssl_jax.data.subsets import class_balanced_indices, labelled_subset
from ssl_jax.evals import spectrum
from ssl_jax.evals.features import FeatureExtractor
from ssl_jax.evals.linear_probe import (classifier_accuracy, cross_entropy, init_probe,
                                        probe_step)
from ssl_jax.registry import ConfigError


def _with_spectrum(eigenvalues, n=4000, seed=0):
  """Rows whose covariance has exactly ``eigenvalues`` in a random basis."""
  d = len(eigenvalues)
  rng = np.random.default_rng(seed)
  white = rng.normal(size=(n, d))
  white -= white.mean(0)
  white = white @ np.linalg.inv(np.linalg.cholesky(np.cov(white, rowvar=False))).T
  basis, _ = np.linalg.qr(rng.normal(size=(d, d)))
  return (white * np.sqrt(eigenvalues)) @ basis.T + 3.0  # an offset the centring removes


def test_spectrum_and_effective_rank_of_a_known_spectrum():
  eig = np.array([4.0, 2.0, 1.0, 1.0, 0.5, 0.25, 0.125, 0.125])
  z = _with_spectrum(eig)
  got = spectrum.covariance_spectrum(jnp.asarray(z, jnp.float32), jnp.ones(len(z)))
  np.testing.assert_allclose(np.asarray(got), eig, rtol=1e-3, atol=1e-4)
  p = eig / eig.sum()
  want = np.exp(-(p * np.log(p)).sum())
  assert float(spectrum.effective_rank(jnp.asarray(eig))) == pytest.approx(want, rel=1e-5)


@pytest.mark.parametrize("eig,rank", [(np.ones(16), 16.0), ([5.0] + [0.0] * 15, 1.0),
                                      ([1.0] * 4 + [0.0] * 12, 4.0)])
def test_effective_rank_of_white_collapsed_and_low_rank_spectra(eig, rank):
  assert float(spectrum.effective_rank(jnp.asarray(eig, jnp.float32))) == pytest.approx(rank,
                                                                                       rel=1e-5)


def test_masked_rows_do_not_enter_the_covariance():
  z = _with_spectrum(np.array([2.0, 1.0, 0.5]), n=500)
  junk = np.full((100, 3), 1e3)
  rows = jnp.asarray(np.concatenate([z, junk]), jnp.float32)
  mask = jnp.asarray(np.r_[np.ones(500), np.zeros(100)])
  np.testing.assert_allclose(np.asarray(spectrum.masked_covariance(rows, mask)),
                             np.cov(z, rowvar=False), rtol=1e-4, atol=1e-5)


def test_collapse_diagnostics_tell_collapse_from_spread():
  rng = np.random.default_rng(0)
  spread = jnp.asarray(rng.normal(size=(512, 32)), jnp.float32)
  collapsed = jnp.asarray(np.outer(rng.normal(size=512), np.ones(32)) * 1e-3 + 1.0,
                          jnp.float32)
  ones = jnp.ones(512)
  good, bad = spectrum.collapse_diagnostics(spread, ones), spectrum.collapse_diagnostics(
      collapsed, ones)
  assert float(good["effective_rank"]) > 25 and float(bad["effective_rank"]) < 1.5
  assert float(good["embedding_std"]) == pytest.approx(1 / np.sqrt(32), rel=0.1)
  assert float(bad["embedding_std"]) < 1e-3
  assert float(jnp.sum(good["cosine_histogram"])) == pytest.approx(1.0)
  assert float(bad["cosine_histogram"][-1]) == pytest.approx(1.0)  # every pair at cos ~ 1


def test_linear_probe_separates_linearly_separable_features():
  rng = np.random.default_rng(0)
  centres = rng.normal(size=(5, 16)) * 3.0
  labels = rng.integers(0, 5, 600)
  x = jnp.asarray(centres[labels] + rng.normal(size=(600, 16)), jnp.float32)
  y = jnp.asarray(labels)
  tx = optax.sgd(0.1, momentum=0.9)
  probe = init_probe(tx, 16, 5)
  step = jax.jit(lambda p, f, l: probe_step(p, tx, f, l))
  for i in range(150):
    sl = slice((i % 6) * 100, (i % 6 + 1) * 100)
    probe, metrics = step(probe, x[sl], y[sl])
  got = classifier_accuracy(probe["params"], {"features": x, "label": y,
                                              "mask": jnp.ones(600)}, "linear")
  assert got["linear_top1"] > 99.0 and got["linear_top5"] == 100.0
  assert float(metrics["online_linear_loss"]) < 0.1


def test_probe_gradients_never_reach_the_features():
  tx = optax.sgd(0.1)
  probe = init_probe(tx, 4, 3)
  probe["params"]["kernel"] = jnp.ones((4, 3))
  grad = jax.grad(lambda f: jnp.sum(probe_step(probe, tx, f, jnp.zeros(2, jnp.int32))[0][
      "params"]["kernel"]))(jnp.ones((2, 4)))
  assert float(jnp.abs(grad).max()) == 0.0


def test_cross_entropy_ignores_masked_rows():
  logits = jnp.asarray([[2.0, 0.0], [0.0, 5.0]])
  masked = cross_entropy(logits, jnp.asarray([0, 0]), jnp.asarray([1.0, 0.0]))
  assert float(masked) == pytest.approx(float(cross_entropy(logits[:1], jnp.asarray([0]))))


def test_padded_last_batch_counts_every_example_exactly_once():
  """50 examples in global batches of 16 (4 batches, 14 padding rows)."""
  mesh = sharding.make_mesh()
  n = 50
  images = np.zeros((n, 4, 4, 3), np.uint8)
  images[:, 0, 0, 0] = np.arange(n)  # the id of each example, read back as its feature
  labels = (np.arange(n) % 3).astype(np.int32)
  extractor = FeatureExtractor(
      lambda v, x: {"features": x[:, 0, 0, :1] * 0.25 + 0.5}, mesh, (0.5,) * 3,
      (0.25,) * 3, 4, 16)
  data = extractor({}, ArraySplit(images, labels))
  mask = np.asarray(data["mask"])
  ids = np.round(np.asarray(data["features"])[:, 0] * 255).astype(int)
  assert mask.sum() == n and len(mask) == 64
  assert sorted(ids[mask > 0].tolist()) == list(range(n))
  # A classifier that predicts the label from the id is right on every real row.
  params = {"kernel": jnp.zeros((1, 3)), "bias": jnp.zeros(3)}
  got = classifier_accuracy(params, data, "x")
  assert got["x_top1"] == pytest.approx(100.0 * np.mean(labels == 0))


def test_class_balanced_subset_keeps_each_class_share():
  labels = np.repeat(np.arange(4), [100, 200, 50, 3])
  keep = class_balanced_indices(labels, 0.1, seed=0)
  assert np.bincount(labels[keep]).tolist() == [10, 20, 5, 1]
  assert np.array_equal(keep, class_balanced_indices(labels, 0.1, seed=0))
  assert not np.array_equal(keep, class_balanced_indices(labels, 0.1, seed=1))


def test_labelled_subset_of_arrays_and_files():
  labels = np.repeat(np.arange(2), 20).astype(np.int32)
  arrays = labelled_subset(ArraySplit(np.arange(40)[:, None], labels), 0.25)
  assert len(arrays) == 10 and np.all(labels[arrays.images[:, 0]] == arrays.labels)
  files = labelled_subset(ImageFiles(np.array([f"{i}.png" for i in range(40)]), labels), 0.5)
  assert len(files) == 20 and np.bincount(files.labels).tolist() == [10, 10]
  with pytest.raises(ConfigError, match="in \\(0, 1\\]"):
    labelled_subset(ArraySplit(np.zeros((4, 1)), labels[:4]), 1.5)
