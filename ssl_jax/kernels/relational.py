"""Relational (soft-target) contrastive losses: SCE and ReSSL.

SCE (Denize et al., official eztorch ``compute_sce_loss``): with L2-normalised
q (online prediction), k (momentum projection, no grad) and a queue,

    s_q = [q·k | q·queue] / τ,     s_k = [0 | k·queue] / τ_m
    w   = λ onehot_0 + (1 - λ) softmax(s_k)
    L   = -mean_i Σ_j w_ij log softmax(s_q)_ij

The positive's target logit is 0, not masked.  The in-batch variant of
Proposition 1 uses every key of the (global) batch instead of k alone:
s_q = [q·K_allᵀ | q·queue] / τ, s_k = [k·K_allᵀ | k·queue] / τ_m with the
own key masked out of s_k only, and w's one-hot on the own key.
"""
import jax
import jax.numpy as jnp
from jax import lax

from ssl_jax.kernels.probability import soft_cross_entropy
from ssl_jax.kernels.similarity import l2_normalize, pairwise_dot
from ssl_jax.kernels.dtypes import as_float

_LARGE = 1e9



def sce_loss(q, k, queue=None, lam=0.5, temperature=0.1, temperature_m=0.07,
             in_batch=False):
  """SCE loss.

  Args:
    q: [N, D] online predictions; k: [N, D] momentum projections (no grad).
    queue: [K, D] past keys, or None (allowed with ``in_batch=True``).
    lam: λ, the weight of the contrastive one-hot in the target.
    temperature: τ of the online similarities; temperature_m: τ_m of the target.
    in_batch: use all in-batch keys (Proposition 1) instead of k alone.
  Returns:
    float32 scalar.
  """
  q = l2_normalize(q)
  k = lax.stop_gradient(l2_normalize(k))
  n = q.shape[0]
  if in_batch:
    sim_q, sim_k = pairwise_dot(q, k), pairwise_dot(k, k)
    eye = jnp.eye(n, dtype=q.dtype)
    sim_k = sim_k - _LARGE * eye
    onehot = eye
  else:
    if queue is None:
      raise ValueError("sce_loss needs a queue unless in_batch=True")
    sim_q = jnp.sum(q * k, axis=1, keepdims=True)
    sim_k = jnp.zeros((n, 1), q.dtype)
    onehot = None
  if queue is not None:
    queue = lax.stop_gradient(as_float(queue))
    sim_q = jnp.concatenate([sim_q, pairwise_dot(q, queue)], axis=1)
    sim_k = jnp.concatenate([sim_k, pairwise_dot(k, queue)], axis=1)
  if onehot is None:
    onehot = jnp.zeros_like(sim_q).at[:, 0].set(1.0)
  else:
    onehot = jnp.pad(onehot, ((0, 0), (0, sim_q.shape[1] - n)))
  p_k = jax.nn.softmax(sim_k / temperature_m, axis=1)
  w = lam * onehot + (1.0 - lam) * p_k
  return jnp.mean(soft_cross_entropy(w, sim_q / temperature))


def ressl_loss(q, k, queue, temperature=0.1, temperature_m=0.04):
  """ReSSL (Zheng et al.; solo-learn): match q's relation to the queue to k's.

      L = -mean_i Σ_j softmax(k·queue / τ_m)_ij log softmax(q·queue / τ)_ij

  Args:
    q: [N, D] online projections; k: [N, D] momentum projections (no grad);
    queue: [K, D] past keys.
  Returns:
    float32 scalar.
  """
  q = l2_normalize(q)
  k = lax.stop_gradient(l2_normalize(k))
  queue = lax.stop_gradient(as_float(queue))
  target = jax.nn.softmax(pairwise_dot(k, queue) / temperature_m, axis=1)
  return jnp.mean(soft_cross_entropy(target, pairwise_dot(q, queue) / temperature))
