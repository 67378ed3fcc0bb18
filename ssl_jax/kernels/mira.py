"""MIRA: mutual-information-regularised pseudo-labels by a fixed point.

Lee et al., "Unsupervised Visual Representation Learning via Mutual
Information Regularized Assignment", official code (``mira`` in train.py).
With k = softmax(logits / (τ (1 - β))) and v^{(0)} = mean_i(k)^{1-β}:

    repeat: t_ij = k_ij / Σ_j' v_j'^{-β/(1-β)} k_ij'     v_j = mean_i(t_ij)^{1-β}
    target_ij ∝ v_j^{-β/(1-β)} k_ij

(the paper's pseudo-code writes ``v.pow(-β)`` inside the loop; the code, and
the convergence proof, use ``v^{-β/(1-β)}``).  At the fixed point v equals
the mean target w̄, so w_ij ∝ p_ij^{1/(1-β)} w̄_j^{-β/(1-β)} with
p = softmax(logits / τ): the KKT condition of
min_W (1/B) Σ_i KL(w_i ‖ p_i) - β Î(W).  Column means run over the global
batch.  Computed in the log domain, so no power of a zero ever appears.
"""
import jax
import jax.numpy as jnp
from jax import lax
from jax.scipy.special import logsumexp

from ssl_jax.kernels.probability import soft_cross_entropy
from ssl_jax.kernels.dtypes import as_float


def mira_targets(logits, tau=0.225, beta=2.0 / 3.0, iters=30):
  """MIRA pseudo-labels (no gradient).

  Args:
    logits: [B, K] teacher logits (cosine similarities to prototypes).
    tau: target temperature τ_t (0.225 in the paper).
    beta: MI-regularisation coefficient β in [0, 1).
    iters: fixed-point iterations (30).
  Returns:
    [B, K] float32 targets; rows sum to 1.
  """
  logits = lax.stop_gradient(as_float(logits))
  b = logits.shape[0]
  log_k = jax.nn.log_softmax(logits / (tau * (1.0 - beta)), axis=1)
  power = -beta / (1.0 - beta)

  def log_v_of(log_t):  # log of mean_i(t)^(1-β)
    return (1.0 - beta) * (logsumexp(log_t, axis=0) - jnp.log(b))

  def body(_, log_v):
    log_t = log_k - logsumexp(power * log_v + log_k, axis=1, keepdims=True)
    return log_v_of(log_t)

  log_v = lax.fori_loop(0, iters, body, log_v_of(log_k))
  log_w = power * log_v + log_k
  return jnp.exp(log_w - logsumexp(log_w, axis=1, keepdims=True))


def mira_loss(student_logits, teacher_logits, tau_s=0.1, tau_t=0.225,
              beta=2.0 / 3.0, iters=30):
  """MIRA swapped-prediction loss over all crops (official ``loss_func``).

      L = ½ [ CE(target_0, crops ≠ 0) + CE(target_1, crops ≠ 1) ]

  where each CE is the mean over the listed crops and the batch of
  ``-Σ_k target_k log softmax(s / τ_s)_k``.

  Args:
    student_logits: [V, N, K] online logits of every crop (global first).
    teacher_logits: [2, N, K] EMA-teacher logits of the two global crops.
  Returns:
    float32 scalar.
  """
  s = as_float(student_logits)
  num_views = s.shape[0]
  total = 0.0
  for t in range(2):
    target = mira_targets(teacher_logits[t], tau_t, beta, iters)
    others = jnp.stack([s[v] for v in range(num_views) if v != t])
    total += jnp.mean(soft_cross_entropy(target[None], others / tau_s))
  return total / 2.0
