"""Top-1 and top-5 accuracy of a linear classifier on a split's features."""
from typing import Dict

import jax
import jax.numpy as jnp

from ssl_jax.evals.knn import topk_correct
from ssl_jax.models.linear import linear_logits


@jax.jit
def classifier_hits(params, features, labels, mask) -> Dict[int, jax.Array]:
  """Masked top-1 and top-5 hit counts of the linear classifier."""
  return topk_correct(linear_logits(params, features), labels, mask, ks=(1, 5))


def classifier_accuracy(params, data, prefix: str) -> Dict[str, float]:
  """``{prefix}_top1``, ``{prefix}_top5`` (%) on ``Features`` ``data``."""
  hits = classifier_hits(params, data["features"], data["label"], data["mask"])
  n = float(jnp.sum(data["mask"]))
  return {f"{prefix}_top1": 100.0 * float(hits[1]) / n,
          f"{prefix}_top5": 100.0 * float(hits[5]) / n}
