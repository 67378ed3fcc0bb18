"""k-NN classification on frozen features (Wu et al. 2018; DINO; INTL).

Weighted vote: for a query q and its k most cosine-similar bank features
b_j with labels y_j, class c scores ``Σ_j [y_j = c] exp(cos(q, b_j) / T)``
(DINO: k = 20, T = 0.07).  Majority vote: ``Σ_j [y_j = c]`` (INTL reports
k = 5).  The prediction is the arg-max; equal scores go to the lower class
id, equal similarities to the lower bank index.

The bank stays sharded over the mesh: each device finds the k nearest among
its own rows and only those k candidates per query are gathered, so neither
the bank nor the [queries, bank] similarity matrix is ever on one device.
"""
from typing import Dict, Sequence

import jax
import jax.numpy as jnp
from jax import lax
from jax.sharding import PartitionSpec as P

from ssl_jax.kernels.similarity import l2_normalize, pairwise_dot
from ssl_jax.sharding import DATA_AXIS


def _local_neighbours(queries, bank, bank_mask, k):
  sims = pairwise_dot(queries, bank)
  sims = jnp.where(bank_mask[None, :] > 0, sims, -jnp.inf)
  return lax.top_k(sims, min(k, bank.shape[0]))


def nearest_neighbours(queries, bank, bank_mask, k: int, mesh):
  """The k largest cosine similarities of each query, searched shard by shard.

  Args:
    queries: [Q, C] L2-normalised (replicated).
    bank: [B, C] L2-normalised; bank_mask [B] (0 marks padding, never a
      neighbour; it shows up as similarity -inf only if the bank has fewer
      than k real rows).  B is padded to a multiple of the device count.
    mesh: the mesh whose ``data`` axis the bank is split over.
  Returns:
    (similarities [Q, k] descending, bank indices [Q, k] int32).
  """
  devices = mesh.shape[DATA_AXIS]
  if bank.shape[0] < k:
    raise ValueError(f"k-NN with k={k} needs a bank of at least {k} examples, "
                     f"got {bank.shape[0]}")
  pad = -bank.shape[0] % devices
  if pad:
    bank = jnp.pad(bank, ((0, pad), (0, 0)))
    bank_mask = jnp.pad(bank_mask, (0, pad))

  def per_shard(q, b, m):
    sims, idx = _local_neighbours(q, b, m, k)
    return sims, idx + lax.axis_index(DATA_AXIS) * b.shape[0]

  sims, idx = jax.shard_map(
      per_shard, mesh=mesh, in_specs=(P(), P(DATA_AXIS), P(DATA_AXIS)),
      out_specs=(P(None, DATA_AXIS), P(None, DATA_AXIS)))(queries, bank, bank_mask)
  # Candidates sit in device order, each device's in descending order with
  # lower indices first on ties, so top_k keeps the global lower-index rule.
  top, pos = lax.top_k(sims, k)
  return top, jnp.take_along_axis(idx, pos, axis=1)


def weighted_votes(sims, neighbour_labels, num_classes: int, temperature: float):
  """[Q, k] similarities and labels -> [Q, num_classes] Σ exp(s / T) per class."""
  weights = jnp.where(jnp.isfinite(sims), jnp.exp(sims / temperature), 0.0)
  return jnp.sum(jax.nn.one_hot(neighbour_labels, num_classes) * weights[..., None], 1)


def majority_votes(sims, neighbour_labels, num_classes: int):
  """[Q, k] -> [Q, num_classes] neighbour counts per class."""
  weights = jnp.isfinite(sims).astype(jnp.float32)
  return jnp.sum(jax.nn.one_hot(neighbour_labels, num_classes) * weights[..., None], 1)


def topk_correct(scores, labels, mask, ks=(1, 5)):
  """Masked counts of queries whose label is among the top-k scores.

  The ranking is stable: among equal scores the lower class id ranks first.
  """
  ranked = jnp.argsort(-scores, axis=-1, stable=True)
  return {k: jnp.sum(jnp.any(ranked[:, :k] == labels[:, None], axis=-1) * mask)
          for k in ks}


def make_knn_counter(mesh, num_classes: int, ks: Sequence[int], temperature: float,
                     majority_ks: Sequence[int] = ()):
  """Jitted (queries, labels, mask, bank, bank_labels, bank_mask) -> hit counts.

  One neighbour search with the largest k serves every k (the top-k of a
  sorted top-K list is its prefix).  Returns {name: count} with names
  ``knn{k}_top1``, ``knn{k}_top5`` (weighted) and ``knn_majority{k}_top1``.
  """
  k_max = max(tuple(ks) + tuple(majority_ks))

  @jax.jit
  def count(queries, labels, mask, bank, bank_labels, bank_mask):
    sims, idx = nearest_neighbours(queries, bank, bank_mask, k_max, mesh)
    neighbour_labels = bank_labels[idx]
    out = {}
    for k in ks:
      hits = topk_correct(weighted_votes(sims[:, :k], neighbour_labels[:, :k],
                                         num_classes, temperature), labels, mask)
      out[f"knn{k}_top1"], out[f"knn{k}_top5"] = hits[1], hits[5]
    for k in majority_ks:
      votes = majority_votes(sims[:, :k], neighbour_labels[:, :k], num_classes)
      out[f"knn_majority{k}_top1"] = topk_correct(votes, labels, mask, ks=(1,))[1]
    return out

  return count


def knn_accuracy(counter, queries, bank, chunk: int) -> Dict[str, float]:
  """Accuracies (%) of ``counter`` over all queries, ``chunk`` queries at a time.

  Args:
    counter: from ``make_knn_counter``.
    queries, bank: ``Features`` (``features`` [M, C] unnormalised, ``label``,
      ``mask``) of the test split and of the bank split.
  """
  q = l2_normalize(queries["features"])
  b = l2_normalize(bank["features"])
  totals = {}
  for start in range(0, q.shape[0], chunk):
    sl = slice(start, start + chunk)
    counts = counter(q[sl], queries["label"][sl], queries["mask"][sl], b,
                     bank["label"], bank["mask"])
    for name, value in counts.items():
      totals[name] = totals.get(name, 0.0) + value
  n = float(jnp.sum(queries["mask"]))
  return {name: 100.0 * float(value) / n for name, value in totals.items()}
