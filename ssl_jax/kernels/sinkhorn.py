"""Sinkhorn-Knopp assignments and the SwAV swapped-prediction loss.

Caron et al. 2020 (SwAV), official ``distributed_sinkhorn``: with scores
S [B, K] (cosine similarities of L2-normalised embeddings and prototypes),

    Q = exp(S / ε)ᵀ / Σ exp(S / ε)                       # [K, B]
    repeat n times:  Q ← Q / (K · rowsum(Q));  Q ← Q / (B · colsum(Q))
    return (B · Q)ᵀ                                      # [B, K], rows sum to 1

The marginals are over the global batch (a plain reduction over the
batch-sharded axis).  For cosine scores (|S| / ε <= 40 at ε = 0.05) the
iterations only rescale rows and columns of exp(S / ε), two matrix-vector
products each; scores spread wider than exp's range (e.g. |S| / ε = 400)
take the log-domain form, identical on normal input and finite there.
"""
import jax.numpy as jnp
from jax import lax
from jax.scipy.special import logsumexp

from ssl_jax.kernels.probability import soft_cross_entropy
from ssl_jax.kernels.dtypes import as_float


# Below this spread of S / ε, exp(S / ε - max) keeps every entry far above
# float32's underflow (e^-60 ~ 1e-26), so the scaling form is exact.
_SCALED_RANGE = 60.0


def _log_domain(s, epsilon, num_iters):
  b, k = s.shape
  log_q = s / epsilon
  log_q = log_q - logsumexp(log_q)

  def body(_, lq):
    lq = lq - logsumexp(lq, axis=0, keepdims=True) - jnp.log(k)  # per prototype
    return lq - logsumexp(lq, axis=1, keepdims=True) - jnp.log(b)  # per sample

  return jnp.exp(lax.fori_loop(0, num_iters, body, log_q) + jnp.log(b))


def _scaled(s, epsilon, num_iters):
  """Q = diag(a) exp(S / ε) diag(c): each iteration is two matrix-vector
  products instead of two passes of exp and log over [B, K]."""
  b, k = s.shape
  kernel = jnp.exp((s - jnp.max(s)) / epsilon)
  dot = lambda x, y: jnp.matmul(x, y, precision=lax.Precision.HIGHEST)

  def body(_, scales):
    a, _ = scales
    c = 1.0 / (k * dot(a, kernel))   # every prototype gets mass 1 / K
    return 1.0 / (b * dot(kernel, c)), c  # every sample gets mass 1 / B

  ones = (jnp.ones((b,), kernel.dtype), jnp.ones((k,), kernel.dtype))
  a, c = lax.fori_loop(0, num_iters, body, ones)
  return b * a[:, None] * kernel * c[None, :]


def sinkhorn_knopp(scores, epsilon=0.05, num_iters=3):
  """Balanced soft assignments of samples to prototypes (no gradient).

  Args:
    scores: [B, K] sample-prototype similarities (any float dtype).
    epsilon: entropy regularisation ε.
    num_iters: alternating normalisations.
  Returns:
    [B, K] float32 assignments; each row sums to 1 and, after the final
    column step, each prototype receives total mass ≈ B / K.
  """
  s = lax.stop_gradient(as_float(scores))
  spread = (jnp.max(s) - jnp.min(s)) / epsilon
  return lax.cond(spread < _SCALED_RANGE, lambda x: _scaled(x, epsilon, num_iters),
                  lambda x: _log_domain(x, epsilon, num_iters), s)


def swav_loss(scores, assign_views=(0, 1), temperature=0.1, epsilon=0.05,
              num_iters=3, queue_scores=None):
  """SwAV loss: each assigned view's codes supervise every other view.

      L = 1/|A| Σ_{a∈A} 1/(V-1) Σ_{v≠a} mean_i CE(q_a,i, softmax(s_v,i / T))

  Args:
    scores: [V, N, K] prototype scores of every view (global then local).
    assign_views: views whose Sinkhorn codes are targets (the global crops).
    temperature: T of the predictions.
    epsilon, num_iters: Sinkhorn parameters.
    queue_scores: optional [len(assign_views), Q, K] scores of queued past
      embeddings, prepended to the batch for Sinkhorn only (SwAV's queue).
  Returns:
    float32 scalar.
  """
  scores = as_float(scores)
  num_views, n, _ = scores.shape
  total = 0.0
  for a_idx, a in enumerate(assign_views):
    s = scores[a]
    if queue_scores is not None:
      s = jnp.concatenate([as_float(queue_scores[a_idx]), s])
    codes = sinkhorn_knopp(s, epsilon, num_iters)[-n:]
    terms = [jnp.mean(soft_cross_entropy(codes, scores[v] / temperature))
             for v in range(num_views) if v != a]
    total += sum(terms) / len(terms)
  return total / len(assign_views)
