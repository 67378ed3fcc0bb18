"""Weighted k-NN classification on frozen features (Wu et al. 2018; DINO).

For a query q and its k most cosine-similar bank features b_j with labels
y_j, class c scores ``Σ_j [y_j = c] exp(cos(q, b_j) / T)``; the prediction
is the arg-max.  DINO's protocol is k = 20, T = 0.07.
"""
import dataclasses
from typing import Dict

import jax
import jax.numpy as jnp
from jax import lax

from ssl_jax.data import pipeline
from ssl_jax.evals.features import extract, make_feature_fn
from ssl_jax.kernels.similarity import pairwise_dot


def knn_scores(queries, bank, bank_labels, bank_mask, num_classes, k=20,
               temperature=0.07):
  """Class scores of weighted k-NN.

  Args:
    queries: [Q, C] L2-normalised features.
    bank: [B, C] L2-normalised features; bank_labels int [B]; bank_mask [B]
      (0 marks padding, which is never a neighbour).
  Returns:
    [Q, num_classes] float32 scores.
  """
  sims = pairwise_dot(queries, bank)
  sims = jnp.where(bank_mask[None, :] > 0, sims, -jnp.inf)
  top_sims, top_idx = lax.top_k(sims, k)
  weights = jnp.where(jnp.isfinite(top_sims), jnp.exp(top_sims / temperature), 0.0)
  votes = jax.nn.one_hot(bank_labels[top_idx], num_classes) * weights[..., None]
  return jnp.sum(votes, axis=1)


def topk_correct(scores, labels, mask, ks=(1, 5)):
  """Masked counts of queries whose label is among the top-k scores."""
  ranked = jnp.argsort(-scores, axis=-1)
  out = {}
  for k in ks:
    hit = jnp.any(ranked[:, :k] == labels[:, None], axis=-1)
    out[k] = jnp.sum(hit * mask)
  return out


@dataclasses.dataclass
class KnnEvaluator:
  """k-NN accuracy of the backbone: bank = labelled train split, queries = test."""
  model: object
  mesh: object
  dataset: object
  image_size: int
  batch_size: int
  k: int = 20
  temperature: float = 0.07
  shard: pipeline.HostShard = pipeline.HostShard()

  def __post_init__(self):
    self._features = make_feature_fn(self.model, self.mesh, self.dataset.mean,
                                     self.dataset.std)
    num_classes, k, t = self.dataset.num_classes, self.k, self.temperature

    @jax.jit
    def correct(queries, labels, mask, bank, bank_labels, bank_mask):
      scores = knn_scores(queries, bank, bank_labels, bank_mask, num_classes, k, t)
      return topk_correct(scores, labels, mask, ks=(1, 5))

    self._correct = correct

  def _batches(self, split):
    return pipeline.eval_batches(split, self.image_size, self.batch_size,
                                 self.dataset.eval_crop_fraction, self.shard)

  def __call__(self, variables) -> Dict[str, float]:
    bank, bank_labels, bank_mask = extract(self._features, variables,
                                           self._batches(self.dataset.bank), self.mesh)
    if bank.shape[0] < self.k:
      raise ValueError(f"k-NN with k={self.k} needs a bank of at least k examples")
    queries, labels, mask = extract(self._features, variables,
                                    self._batches(self.dataset.test), self.mesh)
    hits = {1: 0.0, 5: 0.0}
    step = self.batch_size
    for start in range(0, queries.shape[0], step):
      sl = slice(start, start + step)
      counts = self._correct(queries[sl], labels[sl], mask[sl], bank, bank_labels,
                             bank_mask)
      for kk, v in counts.items():
        hits[kk] += v
    total = float(jnp.sum(mask))
    return {"knn_top1": 100.0 * float(hits[1]) / total,
            "knn_top5": 100.0 * float(hits[5]) / total}
