"""InfoNCE-family losses: SimCLR's NT-Xent, MoCo v2, MoCo v3, and MIO.

Inputs are normalised here (the references normalise before the loss);
positives' keys and queues carry no gradient where the references detach
them.  All batch dimensions are global, so every negative across devices is
a negative.
"""
import jax
import jax.numpy as jnp
from jax import lax

from ssl_jax.kernels.probability import hard_cross_entropy
from ssl_jax.kernels.similarity import l2_normalize, pairwise_dot
from ssl_jax.kernels.dtypes import as_float




def simclr_loss(views, temperature=0.1):
  """NT-Xent over V views (SimCLR; solo-learn's multi-view form).

  For each of the V·N embeddings z_a, positives are the other views of the
  same image, negatives every other embedding, itself excluded:

      L = -mean_a log( Σ_{p∈P(a)} e^{s_ap} / Σ_{j≠a} e^{s_aj} ),  s = cos / T

  With V = 2 this is the usual cross-entropy over the 2N - 1 others.

  Args:
    views: [V, N, D] projections.
  Returns:
    float32 scalar.
  """
  v, n, d = views.shape
  z = l2_normalize(jnp.reshape(views, (v * n, d)))
  s = pairwise_dot(z, z) / temperature
  ids = jnp.tile(jnp.arange(n), v)
  self_mask = jnp.eye(v * n, dtype=bool)
  pos_mask = (ids[:, None] == ids[None, :]) & ~self_mask
  neg_inf = jnp.finfo(s.dtype).min
  log_pos = jax.nn.logsumexp(jnp.where(pos_mask, s, neg_inf), axis=1)
  log_all = jax.nn.logsumexp(jnp.where(self_mask, neg_inf, s), axis=1)
  return jnp.mean(log_all - log_pos)


def mocov2_loss(q, k, queue, temperature=0.2):
  """MoCo v2: CE at index 0 of [q·k | q·queue] / T (He et al.; Chen et al.).

  Args:
    q: [N, D] queries (online). k: [N, D] keys (momentum encoder, no grad).
    queue: [K, D] past keys (L2-normalised when stored; no grad).
  Returns:
    float32 scalar.
  """
  q = l2_normalize(q)
  k = lax.stop_gradient(l2_normalize(k))
  queue = lax.stop_gradient(as_float(queue))
  pos = jnp.sum(q * k, axis=1, keepdims=True)
  logits = jnp.concatenate([pos, pairwise_dot(q, queue)], axis=1) / temperature
  return jnp.mean(hard_cross_entropy(logits, jnp.zeros(q.shape[0], jnp.int32)))


def mocov3_loss(q, k, temperature=1.0):
  """MoCo v3: ``CE(q kᵀ / T, arange(N)) · 2T`` with global in-batch keys.

  Args:
    q: [N, D] predictions of the online network; k: [N, D] momentum keys.
    temperature: T (official default 1.0; 0.2 in solo-learn's CIFAR recipes).
  Returns:
    float32 scalar (one direction; the method sums both).
  """
  q = l2_normalize(q)
  k = lax.stop_gradient(l2_normalize(k))
  logits = pairwise_dot(q, k) / temperature
  labels = jnp.arange(q.shape[0], dtype=jnp.int32)
  return jnp.mean(hard_cross_entropy(logits, labels)) * (2.0 * temperature)


def mio_loss(z1, z2, temperature_pos=0.5, temperature_neg=0.5, lam=1.0,
             regularizer="mean"):
  """MIO: binary cross-entropy over all pairs of the 2N views, plus L2.

  Official ``MIOLoss``: with z = [ẑ1; ẑ2] (L2-normalised) and C = z zᵀ,

      L = mean_{2N positives} softplus(-C_ij / τ_p)
        + mean_{4N²-4N negatives} softplus(C_ij / τ_n) + λ R

  (MIO Eq. 4: BCE-with-logits, label 1 for positives and 0 for negatives).
  ``regularizer="mean"`` is the code's R = MSE(ẑ1, ẑ2) over N·D entries;
  ``"sum"`` is Eq. 39's R = Σ_i ‖ẑ1_i - ẑ2_i‖².

  Args:
    z1, z2: [N, D] projections of the two views.
  Returns:
    float32 scalar.
  """
  if regularizer not in ("mean", "sum"):
    raise ValueError(f"regularizer must be 'mean' or 'sum', got {regularizer!r}")
  a, b = l2_normalize(z1), l2_normalize(z2)
  n = a.shape[0]
  z = jnp.concatenate([a, b])
  c = pairwise_dot(z, z)
  idx = jnp.arange(2 * n)
  partner = (idx + n) % (2 * n)
  pos = c[idx, partner]
  neg_mask = (idx[:, None] != idx[None, :]) & (partner[:, None] != idx[None, :])
  pos_term = jnp.mean(jax.nn.softplus(-pos / temperature_pos))
  neg_term = jnp.sum(jnp.where(neg_mask, jax.nn.softplus(c / temperature_neg), 0.0))
  neg_term = neg_term / (4 * n * n - 4 * n)
  sq = jnp.square(a - b)
  reg = jnp.mean(sq) if regularizer == "mean" else jnp.sum(sq)
  return pos_term + neg_term + lam * reg


def nnclr_loss(z, p, support, temperature=0.1):
  """NNCLR (Dwibedi et al. 2021; solo-learn ``nnclr_loss_func``): each
  projection's nearest neighbour in the support set is the positive of the
  other view's prediction, the batch's other predictions its negatives.

      nn_i = support[argmax_j ẑ_i · support_j]      (no gradient)
      L    = CE(nn p̂ᵀ / τ, arange(N))

  Args:
    z: [N, D] projections of one view (only select neighbours: no gradient).
    p: [N, D] predictions of the other view.
    support: [K, D] the support set (a queue of past projections, unit norm).
  Returns:
    float32 scalar (one direction; the method averages both).
  """
  z = lax.stop_gradient(l2_normalize(z))
  support = lax.stop_gradient(as_float(support))
  nn = support[jnp.argmax(pairwise_dot(z, support), axis=1)]
  logits = pairwise_dot(l2_normalize(nn), l2_normalize(p)) / temperature
  return jnp.mean(hard_cross_entropy(logits, jnp.arange(p.shape[0], dtype=jnp.int32)))
