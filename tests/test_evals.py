"""Collapse diagnostics, the linear classifier, feature extraction, label subsets."""
import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from ssl_jax import sharding
from ssl_jax.data.folder import ImageFiles
from ssl_jax.data.sources import ArraySplit, Dataset
from ssl_jax.data.subsets import class_balanced_indices, labelled_subset
from ssl_jax.evals import spectrum
from ssl_jax.evals.classifier import classifier_accuracy
from ssl_jax.evals.features import FeatureExtractor, RunningStatsEstimator
from ssl_jax.evals.monitor import PretrainingEvaluator
from ssl_jax.models import HeadSpec, MLPSpec, ResNet10, SSLModel
from ssl_jax.models.batchnorm import BatchNorm, train_mode_moments
from ssl_jax.models.inputs import Normalization
from ssl_jax.models.linear import cross_entropy, init_probe, probe_step
from ssl_jax.registry import ConfigError
from ssl_jax.train.state import TrainState

NORM = Normalization((0.5,) * 3, (0.25,) * 3)


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
      lambda v, x: {"features": x[:, 0, 0, :1] / 255.0}, mesh, 4, 16)
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


class _TwoNorms(nn.Module):
  """Dense -> BatchNorm, and a second BatchNorm only when ``deep``."""

  @nn.compact
  def __call__(self, x, train, deep=False):
    h = BatchNorm(name="first")(nn.Dense(3)(x.reshape(x.shape[:2] + (-1,))), train)
    return BatchNorm(name="second")(h, train) if deep else h


def test_running_stats_are_the_split_mean_and_the_mean_within_batch_variance():
  """64 examples in 4 batches of 16: the estimate is the mean of the Dense
  outputs over the split and the mean of the 4 batches' unbiased variances;
  the layer the pass does not reach keeps its statistics."""
  mesh = sharding.make_mesh()
  rng = np.random.default_rng(0)
  images = rng.integers(0, 256, size=(64, 2, 2, 3), dtype=np.uint8)
  model = _TwoNorms()
  variables = model.init(jax.random.key(0), jnp.zeros((1, 4, 2, 2, 3)), True, deep=True)
  variables = {**variables, "batch_stats": jax.tree.map(lambda s: s + 7.0,
                                                        variables["batch_stats"])}
  estimator = RunningStatsEstimator(
      lambda v, x: train_mode_moments(model, v, NORM(x)[None]), mesh, 2, 16)
  got = estimator(variables, ArraySplit(images, np.zeros(64, np.int32)))
  kernel = np.asarray(variables["params"]["Dense_0"]["kernel"])
  bias = np.asarray(variables["params"]["Dense_0"]["bias"])
  h = ((images / 255.0 - 0.5) / 0.25).reshape(64, -1) @ kernel + bias
  first = got["batch_stats"]["first"]
  np.testing.assert_allclose(np.asarray(first["mean"]), h.mean(0), rtol=1e-5, atol=1e-5)
  within = np.mean([h[i:i + 16].var(0, ddof=1) for i in range(0, 64, 16)], axis=0)
  np.testing.assert_allclose(np.asarray(first["var"]), within, rtol=1e-5)
  assert not np.allclose(within, h.var(0, ddof=1), rtol=1e-3)  # the batches differ
  for name in ("mean", "var"):
    assert np.array_equal(np.asarray(got["batch_stats"]["second"][name]),
                          np.asarray(variables["batch_stats"]["second"][name]))
  assert got["params"] is variables["params"]


def test_step_zero_is_evaluated_with_the_bank_statistics_and_later_steps_as_trained():
  """Before the first step the running statistics are placeholders (mean 0,
  variance 1); the evaluator replaces them, online and EMA, with the
  bank's, and only at step 0."""
  mesh = sharding.make_mesh()
  rng = np.random.default_rng(1)
  bank = ArraySplit(rng.integers(0, 256, size=(48, 8, 8, 3), dtype=np.uint8),
                    (np.arange(48) % 3).astype(np.int32))
  test = ArraySplit(bank.images[::-1] // 2, bank.labels[::-1])  # darker, other statistics
  dataset = Dataset("toy", train=bank, bank=bank, test=test, num_classes=3,
                    mean=(0.5,) * 3, std=(0.25,) * 3)
  model = SSLModel(ResNet10(width=0.0625, stem="cifar"),
                   HeadSpec(projector=MLPSpec(hidden_dim=8, out_dim=4)))
  variables = jax.jit(lambda key: model.init(key, jnp.zeros((1, 2, 8, 8, 3)), train=True))(
      jax.random.key(0))
  state = TrainState(step=jnp.zeros((), jnp.int32), params=variables["params"],
                     batch_stats=variables["batch_stats"], opt_state={},
                     ema_params=variables["params"], ema_batch_stats=variables["batch_stats"],
                     method_state={}, skipped_steps=jnp.zeros((), jnp.int32),
                     consecutive_skips=jnp.zeros((), jnp.int32), probe={})
  evaluate = PretrainingEvaluator(model, NORM, mesh, dataset, 8, 16, k=5)
  estimated = evaluate._estimate_stats(variables, bank)["batch_stats"]
  assert not np.allclose(np.asarray(estimated["backbone"]["stem_bn"]["var"]), 1.0)
  at_zero, _ = evaluate(state, 0)
  as_trained, _ = evaluate(state.replace(batch_stats=estimated), 1)
  placeholders, _ = evaluate(state, 1)
  keys = ("knn_top1", "effective_rank", "embedding_std", "feature_effective_rank")
  for key in keys:
    assert at_zero[key] == pytest.approx(as_trained[key], rel=1e-5, abs=1e-5), key
  assert at_zero["embedding_std"] != pytest.approx(placeholders["embedding_std"], rel=1e-2)
  # The EMA teacher's placeholders are replaced too (its params are the online ones).
  evaluate.use_ema = True
  teacher, _ = evaluate(state.replace(batch_stats=estimated), 0)
  for key in keys:
    assert teacher[key] == pytest.approx(at_zero[key], rel=1e-5, abs=1e-5), key
