"""Self-distillation with a centred, sharpened teacher: DINO.

Caron et al. 2021 (official ``DINOLoss``): teacher probabilities
softmax((t - c) / τ_t) of the global crops supervise the student's
log-softmax(s / τ_s) of every other crop; the centre c follows an EMA of the
teacher logits' batch mean.
"""
import jax
import jax.numpy as jnp
from jax import lax

from ssl_jax.kernels.probability import soft_cross_entropy
from ssl_jax.kernels.dtypes import as_float


def dino_loss(student_logits, teacher_logits, center, student_temp=0.1,
              teacher_temp=0.04):
  """Cross-entropy between every (teacher view, other student view) pair.

      L = mean_{t, s ≠ t} mean_i CE(softmax((T_t,i - c)/τ_t), S_s,i / τ_s)

  Args:
    student_logits: [Vs, N, K] student outputs of all crops (global first).
    teacher_logits: [Vt, N, K] teacher outputs of the global crops.
    center: [K] current centre.
    teacher_temp: τ_t at this step (warm it up with a schedule).
  Returns:
    float32 scalar.
  """
  s = as_float(student_logits) / student_temp
  t = lax.stop_gradient(as_float(teacher_logits))
  # The centred teacher is a target: no gradient reaches the centre either
  # (the official DINOLoss computes it under no_grad).
  probs = jax.nn.softmax(lax.stop_gradient(t - center) / teacher_temp, axis=-1)
  terms = [jnp.mean(soft_cross_entropy(probs[i], s[j]))
           for i in range(t.shape[0]) for j in range(s.shape[0]) if i != j]
  return sum(terms) / len(terms)


def dino_center_update(center, teacher_logits, momentum=0.9):
  """EMA of the teacher logits' mean over all teacher views and the batch."""
  t = lax.stop_gradient(as_float(teacher_logits))
  batch_center = jnp.mean(jnp.reshape(t, (-1, t.shape[-1])), axis=0)
  return momentum * center + (1.0 - momentum) * batch_center
