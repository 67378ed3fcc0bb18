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
  """EMA of the teacher logits' mean over all teacher views and the batch.
  (A mean over the axes as they are: flattening views and examples first
  would gather every device's logits onto each.)"""
  t = lax.stop_gradient(as_float(teacher_logits))
  batch_center = jnp.mean(t, axis=tuple(range(t.ndim - 1)))
  return momentum * center + (1.0 - momentum) * batch_center


def ibot_patch_loss(student_patch_logits, teacher_patch_logits, mask, center,
                    student_temp=0.1, teacher_temp=0.07):
  """iBOT's masked image modelling term: each global crop's masked patches
  (student, mask tokens in) against the same crop's patches (teacher,
  unmasked), official ``iBOTLoss`` (its ``loss2``):

      L = mean_v mean_i  Σ_l m_vil CE(softmax((T_vil - c) / τ_t), S_vil / τ_s)
                         / max(Σ_l m_vil, 1)

  A crop with no masked patch contributes 0 (and still counts in the mean).

  Args:
    student_patch_logits: [V, N, L, K] of the masked crops.
    teacher_patch_logits: [V, N, L, K] of the same crops, unmasked.
    mask: [V, N, L], 1 where the student's patch was masked.
    center: [K], the patch centre.
  Returns:
    float32 scalar.
  """
  s = as_float(student_patch_logits) / student_temp
  t = lax.stop_gradient(as_float(teacher_patch_logits))
  probs = jax.nn.softmax(lax.stop_gradient(t - center) / teacher_temp, axis=-1)
  m = lax.stop_gradient(as_float(mask))
  per_patch = soft_cross_entropy(probs, s)  # [V, N, L]
  per_crop = jnp.sum(per_patch * m, axis=-1) / jnp.maximum(jnp.sum(m, axis=-1), 1.0)
  return jnp.mean(per_crop)


def ibot_patch_center_update(center, teacher_patch_logits, momentum=0.9):
  """EMA of the teacher patch logits' mean (per crop over its patches, then
  over crops: every crop has L patches, so the mean over all of them)."""
  t = lax.stop_gradient(as_float(teacher_patch_logits))
  batch_center = jnp.mean(t, axis=tuple(range(t.ndim - 1)))
  return momentum * center + (1.0 - momentum) * batch_center
