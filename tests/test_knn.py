"""Weighted k-NN against a brute-force NumPy reference."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.sharding import NamedSharding, PartitionSpec as P

from ssl_jax import sharding
from ssl_jax.evals import knn


def _normalize(x):
  return x / np.linalg.norm(x, axis=1, keepdims=True)


def _knn_reference(q, bank, labels, num_classes, k, t):
  scores = np.zeros((len(q), num_classes))
  for i, row in enumerate(q @ bank.T):
    top = np.argsort(-row, kind="stable")[:k]
    for j in top:
      scores[i, labels[j]] += np.exp(row[j] / t)
  return scores


@pytest.mark.parametrize("k", [1, 5, 20])
def test_knn_scores_match_brute_force(k):
  rng = np.random.default_rng(0)
  q = _normalize(rng.normal(size=(13, 6)))
  bank = _normalize(rng.normal(size=(40, 6)))
  labels = rng.integers(0, 4, 40)
  got = knn.knn_scores(jnp.asarray(q, jnp.float32), jnp.asarray(bank, jnp.float32),
                       jnp.asarray(labels), jnp.ones(40), 4, k, 0.07)
  np.testing.assert_allclose(np.asarray(got), _knn_reference(q, bank, labels, 4, k, 0.07),
                             rtol=2e-4)


def test_padded_bank_entries_are_never_neighbours():
  rng = np.random.default_rng(1)
  q = _normalize(rng.normal(size=(5, 4)))
  bank = np.concatenate([_normalize(rng.normal(size=(10, 4))), q])  # pads = perfect matches
  labels = np.concatenate([rng.integers(0, 3, 10), np.full(5, 2)])
  mask = np.concatenate([np.ones(10), np.zeros(5)])
  got = knn.knn_scores(jnp.asarray(q, jnp.float32), jnp.asarray(bank, jnp.float32),
                       jnp.asarray(labels), jnp.asarray(mask), 3, 4, 0.1)
  want = _knn_reference(q, bank[:10], labels[:10], 3, 4, 0.1)
  np.testing.assert_allclose(np.asarray(got), want, rtol=2e-4)


def test_duplicate_bank_features_tie_without_error():
  bank = _normalize(np.array([[1.0, 0.0]] * 4 + [[0.0, 1.0]] * 4))
  labels = np.array([0, 0, 1, 1, 2, 2, 2, 2])
  q = _normalize(np.array([[1.0, 0.1]]))
  got = np.asarray(knn.knn_scores(jnp.asarray(q, jnp.float32), jnp.asarray(bank, jnp.float32),
                                  jnp.asarray(labels), jnp.ones(8), 3, 4, 0.07))
  # The four equidistant neighbours are all the [1, 0] rows: two of class 0, two of class 1.
  assert got[0, 2] == 0 and got[0, 0] == pytest.approx(got[0, 1], rel=1e-6)


def test_topk_correct_counts_masked_hits():
  scores = jnp.asarray([[0.1, 0.9, 0.0], [0.8, 0.1, 0.3], [0.2, 0.3, 0.5]])
  labels = jnp.asarray([1, 2, 0])
  out = knn.topk_correct(scores, labels, jnp.asarray([1.0, 1.0, 0.0]), ks=(1, 2))
  assert float(out[1]) == 1.0 and float(out[2]) == 2.0


def test_bank_sharded_over_8_devices_gives_the_same_scores():
  mesh = sharding.make_mesh()
  rng = np.random.default_rng(2)
  q = jnp.asarray(_normalize(rng.normal(size=(8, 5))), jnp.float32)
  bank = _normalize(rng.normal(size=(64, 5)))
  labels = rng.integers(0, 5, 64)
  rows = NamedSharding(mesh, P("data"))
  f = jax.jit(lambda *a: knn.knn_scores(*a, num_classes=5, k=7, temperature=0.07))
  sharded = f(q, jax.device_put(jnp.asarray(bank, jnp.float32), rows),
              jax.device_put(jnp.asarray(labels), rows), jax.device_put(jnp.ones(64), rows))
  np.testing.assert_allclose(np.asarray(sharded),
                             _knn_reference(np.asarray(q), bank, labels, 5, 7, 0.07), rtol=2e-4)
