"""DeepCluster v2: k-means and loss against the official code (float64
fixture from tests/official/deepcluster_generate.py), and the method's
epochs: a first epoch that only fills the bank, clustering at each epoch's
start, targets by example index."""
import dataclasses
import os

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import pytest

from ssl_jax import kernels, sharding
from ssl_jax.data import pipeline
from ssl_jax.data.sources import Dataset, TfdsSplit
from ssl_jax.kernels.kmeans import IGNORE
from ssl_jax.methods import build_method
from ssl_jax.registry import ConfigError
from tests import helpers

FIXTURE = os.path.join(os.path.dirname(__file__), "official", "deepcluster",
                       "cluster_memory.npz")


@pytest.fixture(scope="module")
def official():
  return dict(np.load(FIXTURE))


def _heads(official):
  return [int(k) for k in official["heads"]]


def test_kmeans_equals_the_official_cluster_memory(official):
  """Each head's centroids and the assignments of all 300 examples, 60 of
  them never seen (-100), from the official initial rows; the bank is
  indexed by example here and by arrival there, and scored in blocks of 64
  rows (the last one padded)."""
  jax.config.update("jax_enable_x64", True)
  try:
    size = official["assignments"].shape[1]
    memory_index = official["memory_index"]
    valid = np.zeros(size, bool)
    valid[memory_index] = True
    for h, _ in enumerate(_heads(official)):
      rows = official["bank"][h % 2]
      bank = np.random.default_rng(h).normal(size=(size, rows.shape[1]))  # unseen: ignored
      bank[memory_index] = rows
      init = rows[official[f"init_rows{h}"]]
      centroids, assignments = kernels.spherical_kmeans(
          jnp.asarray(bank), jnp.asarray(valid), jnp.asarray(init), 10, block=64)
      # Equal but where two centroids tie to rounding for an example (the
      # fixture's head 2 has two equal centroids; which one wins depends on
      # the order of the dot product's sums, so on the CPU).
      ours, want = np.asarray(assignments), official["assignments"][h]
      differ = np.nonzero(ours != want)[0]
      scores = bank[differ] @ np.asarray(centroids).T
      rows = np.arange(len(differ))
      assert np.all(want[differ] >= 0) and np.all(ours[differ] >= 0), differ
      np.testing.assert_allclose(scores[rows, ours[differ]], scores[rows, want[differ]],
                                 rtol=0, atol=1e-12)
      assert len(differ) <= 2, differ
      np.testing.assert_allclose(np.asarray(centroids), official[f"centroids{h}"],
                                 rtol=1e-10, atol=1e-12)
  finally:
    jax.config.update("jax_enable_x64", False)


def test_the_fixture_has_empty_clusters_and_unassigned_examples(official):
  """The cases above that differ from plain k-means are exercised: a
  cluster that lost its points keeps its centroid, unseen examples get -100."""
  used = [len(np.unique(a[a >= 0])) for a in official["assignments"]]
  assert any(u < k for u, k in zip(used, _heads(official)))
  assert (official["assignments"] == IGNORE).sum(axis=1).tolist() == [60, 60, 60]


def test_loss_equals_the_official_cross_entropy_over_heads(official):
  jax.config.update("jax_enable_x64", True)
  try:
    idx = official["loss_index"]
    loss = 0.0
    for h, _ in enumerate(_heads(official)):
      scores = official[f"scores{h}"] / 0.1
      logits = scores.reshape(-1, len(idx), scores.shape[-1])  # crops concatenated
      loss += kernels.deepcluster_loss(jnp.asarray(logits),
                                       jnp.asarray(official["assignments"][h][idx]))
    np.testing.assert_allclose(float(loss) / 3, float(official["loss"]), rtol=1e-12)
  finally:
    jax.config.update("jax_enable_x64", False)


def test_loss_is_zero_without_targets():
  logits = jnp.ones((2, 4, 5))
  assert float(kernels.deepcluster_loss(logits, jnp.full((4,), IGNORE))) == 0.0


def _method(num_examples, steps_per_epoch, **fields):
  config = ml_collections.ConfigDict({
      "name": "deepclusterv2", "projector": {"hidden_dim": 32, "out_dim": 16, "num_layers": 2},
      "num_prototypes": [6, 5], "temperature": 0.1, "kmeans_iters": 3, **fields})
  return build_method(config, total_steps=1000, steps_per_epoch=steps_per_epoch,
                      num_examples=num_examples)


def _four_steps(step, init, split, mesh):
  fn = sharding.jit_train_step(step, mesh, donate=False)
  state = jax.jit(init, out_shardings=sharding.replicated(mesh))(jax.random.key(0))
  batches = pipeline.train_batches(split, helpers.TINY_VIEWS, 32, 0, 0)
  states, metrics, indices = [state], [], []
  for _ in range(4):
    batch = next(batches)
    indices.append(batch["index"])
    state, m = fn(state, sharding.to_global(batch, mesh), jax.random.key(1))
    states.append(state)
    metrics.append(m)
  return states, metrics, indices


def test_epochs_fill_then_cluster_then_train():
  """64 examples, batch 32, 2 steps an epoch.  Epoch 0 writes every
  example's two unit embeddings and changes no parameter (loss 0); step 2
  clusters the bank of epoch 0 (each example in its centroid's cluster,
  centroids unit-norm), trains, and writes its examples as seen in epoch 1;
  step 3 keeps step 2's clusters.  8 devices end where one does."""
  split = helpers.tiny_split(64)
  method = _method(64, 2)
  _, _, step, init = helpers.tiny_setup(method, total_steps=8)
  states, metrics, indices = _four_steps(step, init, split,
                                         sharding.make_mesh(jax.devices()[:1]))
  eight, _, _ = _four_steps(step, init, split, sharding.make_mesh())
  np.testing.assert_array_equal(np.asarray(eight[-1].method_state["assignments"]),
                                np.asarray(states[-1].method_state["assignments"]))
  # Parameters differ by 3e-7 after the first update (the batch reductions'
  # order) and by 3e-5 after the second (temperature 0.1, lr 0.3).
  for part in ("params", "batch_stats", "method_state"):
    helpers.assert_trees_close(getattr(eight[-1], part), getattr(states[-1], part),
                               rtol=1e-3, atol=1e-4)

  filled = states[2]
  assert [float(m["loss"]) for m in metrics[:2]] == [0.0, 0.0]
  helpers.assert_trees_close(filled.params, states[0].params, 0, 0)
  assert not np.allclose(jax.tree.leaves(filled.batch_stats)[0],
                         jax.tree.leaves(states[0].batch_stats)[0])
  bank = np.asarray(filled.method_state["bank"])
  np.testing.assert_allclose(np.linalg.norm(bank, axis=-1), 1.0, rtol=1e-5)
  assert (np.asarray(filled.method_state["seen_epoch"]) == 0).all()

  clustered = states[3].method_state
  for h, k in enumerate((6, 5)):
    centroids = np.asarray(clustered["centroids"][h])
    assert centroids.shape == (k, 16)
    np.testing.assert_allclose(np.linalg.norm(centroids, axis=-1), 1.0, rtol=1e-5)
    nearest = np.argmax(bank[h % 2] @ centroids.T, axis=-1)
    np.testing.assert_array_equal(np.asarray(clustered["assignments"][h]), nearest)
  assert float(metrics[2]["loss"]) > 0 and float(metrics[2]["assigned_fraction"]) == 1.0
  seen = np.asarray(clustered["seen_epoch"])
  assert (seen[indices[2]] == 1).all() and (np.delete(seen, indices[2]) == 0).all()
  assert not np.allclose(jax.tree.leaves(states[3].params)[0],
                         jax.tree.leaves(filled.params)[0])
  for a, b in zip(states[4].method_state["centroids"], clustered["centroids"]):
    np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


def test_the_loss_scores_each_example_against_its_own_cluster():
  """A method state with known centroids and assignments: the loss is the
  cross-entropy of every view with the example's assigned cluster, read
  by the batch's example index, and the bank receives views 0 and 1."""
  method = _method(10, 100)
  rng = np.random.default_rng(0)
  z = rng.normal(size=(3, 4, 16))
  unit = z / np.linalg.norm(z, axis=-1, keepdims=True)
  state = method.init_state(None, 16)
  centroids = [rng.normal(size=(k, 16)) for k in (6, 5)]
  centroids = tuple(jnp.asarray(c / np.linalg.norm(c, axis=-1, keepdims=True), jnp.float32)
                    for c in centroids)
  assignments = rng.integers(0, 5, size=(2, 10)).astype(np.int32)
  state = {**state, "centroids": centroids, "assignments": jnp.asarray(assignments)}
  index = jnp.asarray([7, 2, 9, 4])
  loss, aux = method.loss({"projection": jnp.asarray(z, jnp.float32)}, None, state,
                          jnp.asarray(5), jax.random.key(0), index=index)
  want = 0.0
  for h in range(2):
    logits = unit @ np.asarray(centroids[h]).T / 0.1
    logp = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    target = assignments[h][[7, 2, 9, 4]]
    want += -np.mean(np.take_along_axis(logp, np.broadcast_to(target, (3, 4))[..., None],
                                        axis=-1))
  np.testing.assert_allclose(float(loss), want / 2, rtol=1e-5)
  np.testing.assert_allclose(np.asarray(aux.state["bank"])[:, [7, 2, 9, 4]], unit[:2],
                             rtol=1e-5, atol=1e-6)
  assert np.asarray(aux.state["seen_epoch"]).tolist() == [-1, -1, 0, -1, 0, -1, -1, 0, -1, 0]


def test_more_prototypes_than_examples_is_refused():
  with pytest.raises(ConfigError, match="6 prototypes but only 5 examples"):
    _method(5, 1)


def test_a_streamed_tfds_split_is_refused():
  """The bank is indexed by example: a tfds stream has no index."""
  from ssl_jax.jobs import pretrain  # pylint: disable=g-import-not-at-top
  stream = TfdsSplit(builder=None, split="train", num_examples=100)
  dataset = Dataset("imagenet2012", train=stream, bank=stream, test=stream, num_classes=10)
  with pytest.raises(ConfigError, match="write imagenet2012 once with python -m ssl_jax.prep"):
    pretrain.check_indexed(_method(100, 1), dataset)
  arrays = helpers.tiny_split(8)
  pretrain.check_indexed(_method(100, 1), dataclasses.replace(dataset, train=arrays))


def test_the_learning_rate_schedule_starts_after_the_bank_filling_epoch():
  """build_run's lr: held at its first value through epoch 0, then the
  whole warm-up and cosine of a run one epoch shorter."""
  from configs import quickstart  # pylint: disable=g-import-not-at-top
  from ssl_jax.jobs import pretrain  # pylint: disable=g-import-not-at-top
  from ssl_jax.train.optim import learning_rate  # pylint: disable=g-import-not-at-top
  config = quickstart.get_config("deepclusterv2")
  config.data.num_examples = 1280  # 10 steps an epoch at batch 128
  run = pretrain.build_run(config)
  assert run.method.idle_steps == run.steps_per_epoch == 10
  lr = run.schedules.learning_rate
  peak = config.optim.base_lr * 128 / 256
  plain = learning_rate(config.optim, peak, 10, run.total_steps - 10)
  got = [float(lr(s)) for s in range(run.total_steps)]
  want = [float(plain(0))] * 10 + [float(plain(s)) for s in range(run.total_steps - 10)]
  np.testing.assert_allclose(got, want, rtol=1e-6)
  assert max(got[:10]) < peak / 4 and max(got) == pytest.approx(peak)


def test_a_run_within_the_bank_filling_epoch_is_refused():
  with pytest.raises(ConfigError, match="ends within DeepCluster v2's first epoch"):
    build_method(ml_collections.ConfigDict({
        "name": "deepclusterv2", "projector": {"hidden_dim": 8, "out_dim": 4},
        "num_prototypes": [3]}), total_steps=10, steps_per_epoch=10, num_examples=100)


@pytest.mark.parametrize("method", ["deepclusterv2", "mira"])
def test_views_with_one_global_crop_are_refused_before_training(method):
  from configs import quickstart  # pylint: disable=g-import-not-at-top
  from ssl_jax.jobs import pretrain  # pylint: disable=g-import-not-at-top
  config = quickstart.get_config(method)
  config.data.num_examples, config.data.views = 1280, "mae_synthetic"
  with pytest.raises(ConfigError, match="data.views='mae_synthetic' has 1 global crop.*"
                     "needs two global crops"):
    pretrain.build_run(config)
