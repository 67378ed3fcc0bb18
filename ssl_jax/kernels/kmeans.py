"""Spherical k-means on a memory bank and DeepCluster v2's loss.

DeepCluster v2 (Caron et al. 2020, facebookresearch/swav
main_deepclusterv2.py) clusters the unit-norm embeddings of the last epoch
with k-means on the dot product: E-step ``a_i = argmax_k <x_i, c_k>``,
M-step ``c_k = normalize(Σ_{a_i = k} x_i / |{a_i = k}|)``, a cluster that
lost every point keeping its centroid.  ``iters`` M-steps are followed by
a final E-step, so the assignments are those of the returned centroids.
"""
import jax
import jax.numpy as jnp

from ssl_jax.kernels.dtypes import as_float, compute_dtype
from ssl_jax.kernels.probability import hard_cross_entropy
from ssl_jax.kernels.similarity import l2_normalize

# Rows of the bank scored per block: the [block, K] scores of a 1.28M-row
# bank against 3000 centroids would otherwise need 15 GB at once.
_BLOCK = 8192
IGNORE = -100  # the official target of an example no clustering assigned


def nearest_centroid(points, centroids, block=_BLOCK):
  """argmax_k <points_i, centroids_k>; [N, D], [K, D] -> int32 [N].

  Ties go to the lowest k (``torch.max``'s choice too)."""
  n = points.shape[0]
  blocks = -(-n // block)
  padded = jnp.pad(points, ((0, blocks * block - n), (0, 0)))

  def assign(rows):
    scores = jnp.dot(rows, centroids.T, precision=jax.lax.Precision.HIGHEST)
    return jnp.argmax(scores, axis=-1).astype(jnp.int32)
  return jax.lax.map(assign, padded.reshape(blocks, block, -1)).reshape(-1)[:n]


def spherical_kmeans(points, valid, init, iters: int, block=_BLOCK):
  """k-means of the ``valid`` rows of ``points`` from centroids ``init``.

  Args:
    points: [N, D] unit-norm embeddings.
    valid: bool [N]; rows that are False neither move a centroid nor get an
      assignment.
    init: [K, D] starting centroids (the official code draws K bank rows).
    iters: M-steps (the official 10).

  Returns:
    (centroids [K, D] unit-norm, assignments int32 [N], ``IGNORE`` where not
    valid).
  """
  dtype = compute_dtype(points, init)
  points, init = as_float(points, dtype), as_float(init, dtype)
  num_clusters = init.shape[0]
  weight = valid.astype(dtype)

  def m_step(centroids, _):
    labels = nearest_centroid(points, centroids, block)
    sums = jax.ops.segment_sum(points * weight[:, None], labels, num_clusters)
    counts = jax.ops.segment_sum(weight, labels, num_clusters)
    moved = sums / jnp.maximum(counts, 1.0)[:, None]
    centroids = jnp.where((counts > 0)[:, None], moved, centroids)
    return l2_normalize(centroids), None

  centroids, _ = jax.lax.scan(m_step, init, None, length=iters)
  labels = nearest_centroid(points, centroids, block)
  return centroids, jnp.where(valid, labels, IGNORE)


def deepcluster_loss(logits, targets):
  """Cross-entropy of each view's cluster scores with the example's cluster.

  Args:
    logits: [V, N, K] scores (cosine to the centroids over the temperature).
    targets: int [N], ``IGNORE`` for examples with no assignment.

  Returns:
    The mean over the (view, example) pairs with a target (PyTorch's
    ``cross_entropy(ignore_index=-100)`` over the views concatenated); 0
    when no example has one.
  """
  keep = targets != IGNORE
  safe = jnp.where(keep, targets, 0)
  per_view = jax.vmap(lambda z: hard_cross_entropy(z, safe))(logits)
  weight = jnp.broadcast_to(keep, per_view.shape).astype(per_view.dtype)
  return jnp.sum(per_view * weight) / jnp.maximum(jnp.sum(weight), 1.0)
