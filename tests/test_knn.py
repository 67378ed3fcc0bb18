"""k-NN against a brute-force NumPy reference, with ties and a sharded bank."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.sharding import NamedSharding, PartitionSpec as P

from ssl_jax import sharding
from ssl_jax.evals import knn


def _normalize(x):
  return x / np.linalg.norm(x, axis=1, keepdims=True)


def _neighbours(q, bank, mask, k):
  """Stable brute force: equal similarities go to the lower bank index."""
  sims = q @ bank.T
  sims[:, mask == 0] = -np.inf
  order = np.argsort(-sims, axis=1, kind="stable")[:, :k]
  return np.take_along_axis(sims, order, 1), order


def _accuracy(q, labels, bank, bank_labels, mask, num_classes, k, t, majority=False):
  sims, order = _neighbours(q, bank, mask, k)
  scores = np.zeros((len(q), num_classes))
  for i in range(len(q)):
    for s, j in zip(sims[i], order[i]):
      if np.isfinite(s):
        scores[i, bank_labels[j]] += 1.0 if majority else np.exp(s / t)
  pred = np.argsort(-scores, axis=1, kind="stable")
  return 100.0 * np.mean(pred[:, 0] == labels), 100.0 * np.mean(
      np.any(pred[:, :5] == labels[:, None], axis=1))


def _sharded(x, mesh):
  return jax.device_put(jnp.asarray(x), NamedSharding(mesh, P("data")))


def _features(rows, labels, mask=None):
  mask = np.ones(len(rows)) if mask is None else mask
  return {"features": jnp.asarray(rows, jnp.float32), "label": jnp.asarray(labels),
          "mask": jnp.asarray(mask, jnp.float32)}


@pytest.mark.parametrize("k", [1, 5, 20])
def test_neighbours_match_brute_force_with_the_bank_over_8_devices(k):
  mesh = sharding.make_mesh()
  assert mesh.devices.size == 8
  rng = np.random.default_rng(k)
  q = _normalize(rng.normal(size=(13, 6))).astype(np.float32)
  bank = _normalize(rng.normal(size=(64, 6))).astype(np.float32)
  mask = (rng.random(64) > 0.2).astype(np.float32)
  sims, idx = knn.nearest_neighbours(jnp.asarray(q), _sharded(bank, mesh),
                                     _sharded(mask, mesh), k, mesh)
  want_sims, want_idx = _neighbours(q, bank, mask, k)
  np.testing.assert_array_equal(np.asarray(idx), want_idx)
  np.testing.assert_allclose(np.asarray(sims), want_sims, rtol=1e-5)


def test_ties_go_to_the_lower_bank_index_across_shards():
  """Eight identical rows, one per device shard: the k nearest are the first k."""
  mesh = sharding.make_mesh()
  bank = np.tile(_normalize(np.array([[1.0, 0.0], [0.0, 1.0]])), (8, 1))  # 16 rows
  q = _normalize(np.array([[1.0, 0.2]]))
  _, idx = knn.nearest_neighbours(jnp.asarray(q, jnp.float32),
                                  _sharded(bank.astype(np.float32), mesh),
                                  _sharded(np.ones(16, np.float32), mesh), 5, mesh)
  np.testing.assert_array_equal(np.asarray(idx)[0], [0, 2, 4, 6, 8])


def test_padded_bank_rows_are_never_neighbours_and_odd_sizes_are_padded():
  mesh = sharding.make_mesh()
  rng = np.random.default_rng(1)
  q = _normalize(rng.normal(size=(5, 4))).astype(np.float32)
  bank = np.concatenate([_normalize(rng.normal(size=(10, 4))), q]).astype(np.float32)
  mask = np.concatenate([np.ones(10), np.zeros(5)]).astype(np.float32)  # 15 rows: padded to 16
  _, idx = knn.nearest_neighbours(jnp.asarray(q), jnp.asarray(bank), jnp.asarray(mask), 4, mesh)
  assert np.all(np.asarray(idx) < 10)
  np.testing.assert_array_equal(np.asarray(idx), _neighbours(q, bank, mask, 4)[1])


@pytest.mark.parametrize("ks,majority", [((10, 20), ()), ((3,), (5,))])
def test_accuracies_match_brute_force(ks, majority):
  mesh = sharding.make_mesh()
  rng = np.random.default_rng(3)
  centres = _normalize(rng.normal(size=(4, 8)))
  bank_labels = rng.integers(0, 4, 96)
  bank = _normalize(centres[bank_labels] + 0.8 * rng.normal(size=(96, 8)))
  labels = rng.integers(0, 4, 40)
  q = _normalize(centres[labels] + 0.8 * rng.normal(size=(40, 8)))
  counter = knn.make_knn_counter(mesh, 4, ks, 0.07, majority)
  got = knn.knn_accuracy(counter, _features(q, labels), _features(bank, bank_labels),
                         chunk=16)
  for k in ks:
    top1, top5 = _accuracy(q, labels, bank, bank_labels, np.ones(96), 4, k, 0.07)
    assert got[f"knn{k}_top1"] == pytest.approx(top1)
    assert got[f"knn{k}_top5"] == pytest.approx(top5)
  for k in majority:
    top1, _ = _accuracy(q, labels, bank, bank_labels, np.ones(96), 4, k, 0.07, True)
    assert got[f"knn_majority{k}_top1"] == pytest.approx(top1)


def test_majority_vote_ties_go_to_the_lower_class():
  # Neighbours: two of class 2, two of class 1: the vote is tied, class 1 wins.
  sims = jnp.asarray([[0.9, 0.8, 0.7, 0.6]])
  votes = knn.majority_votes(sims, jnp.asarray([[2, 1, 2, 1]]), 3)
  hits = knn.topk_correct(votes, jnp.asarray([1]), jnp.ones(1), ks=(1,))
  assert float(hits[1]) == 1.0


def test_masked_queries_do_not_count():
  mesh = sharding.make_mesh()
  rng = np.random.default_rng(4)
  bank = _normalize(rng.normal(size=(32, 4)))
  bank_labels = rng.integers(0, 3, 32)
  q = np.concatenate([bank[:6], -bank[:2]])  # the last two are padding
  labels = np.concatenate([bank_labels[:6], [0, 0]])
  counter = knn.make_knn_counter(mesh, 3, (1,), 0.07)
  got = knn.knn_accuracy(counter, _features(q, labels, [1] * 6 + [0, 0]),
                         _features(bank, bank_labels), chunk=8)
  assert got["knn1_top1"] == 100.0  # each real query finds itself


def test_a_bank_smaller_than_k_is_an_error():
  mesh = sharding.make_mesh()
  with pytest.raises(ValueError, match="at least 20"):
    knn.nearest_neighbours(jnp.ones((1, 2)), jnp.ones((8, 2)), jnp.ones(8), 20, mesh)
