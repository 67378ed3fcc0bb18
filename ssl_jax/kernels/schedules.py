"""Step -> value schedules, pure jnp (usable inside jit and by any layer).

Learning rate: linear warm-up then cosine to ``end_ratio`` of the peak, with
the INTL reference's step convention (``adjust_learning_rate``):

    lr(s) = start + (peak - start) (s + 1) / W        for s < W
    lr(s) = peak q + peak end_ratio (1 - q),  q = (1 + cos(π (s - W + 1) / (T - W))) / 2

EMA momentum: ``m(s) = 1 - (1 - m_0) (1 + cos(π s / T)) / 2`` (BYOL).
"""
import math

import jax.numpy as jnp


def _warm(step, start, peak, warmup_steps):
  """The linear warm-up: ``start + (peak - start) (s + 1) / W``."""
  return start + (peak - start) * (step + 1) / max(warmup_steps, 1)


def warmup_cosine(peak, warmup_steps, total_steps, end_ratio=0.0, start=0.0):
  """Step -> learning rate (see the module docstring); ``start`` is the
  warm-up's starting value (0; MIRA's code starts at 0.3, miossl's at 1e-4)."""
  if total_steps < 1 or not 0 <= warmup_steps < total_steps:
    raise ValueError(f"need 0 <= warmup_steps ({warmup_steps}) < total_steps ({total_steps})")

  def schedule(step):
    step = jnp.asarray(step, jnp.float32)
    warm = _warm(step, start, peak, warmup_steps)
    progress = jnp.clip((step - warmup_steps + 1) / (total_steps - warmup_steps), 0.0, 1.0)
    q = 0.5 * (1.0 + jnp.cos(math.pi * progress))
    cosine = peak * q + peak * end_ratio * (1.0 - q)
    return jnp.where(step < warmup_steps, warm, cosine)
  return schedule


def warmup_multistep(peak, warmup_steps, boundaries, start=0.0):
  """Step -> learning rate: the same linear warm-up as ``warmup_cosine``,
  then ``peak`` times the product of ``boundaries[b]`` over every boundary
  step b <= step (W-MSE's MultiStepLR; the linear protocols' milestones)."""
  def schedule(step):
    step = jnp.asarray(step, jnp.float32)
    warm = _warm(step, start, peak, warmup_steps)
    value = jnp.asarray(peak, jnp.float32)
    for boundary, factor in sorted(boundaries.items()):
      value = jnp.where(step >= boundary, value * factor, value)
    return jnp.where(step < warmup_steps, warm, value)
  return schedule


def milestone_steps(milestones, gamma, steps_per_epoch):
  """{step: gamma} for milestones given in epochs (``warmup_multistep``)."""
  return {int(round(e * steps_per_epoch)): gamma for e in milestones}


def ema_momentum(base, total_steps):
  """Step -> EMA momentum, cosine from ``base`` at step 0 to 1 at ``total_steps``."""
  return cosine_anneal(base, 1.0, total_steps)


def cosine_anneal(start, end, total_steps):
  """Step -> value, cosine from ``start`` at step 0 to ``end`` at ``total_steps``
  (MIRA's β: 0.75 -> 2/3)."""
  def schedule(step):
    progress = jnp.clip(jnp.asarray(step, jnp.float32) / max(total_steps, 1), 0.0, 1.0)
    return end - (end - start) * 0.5 * (1.0 + jnp.cos(math.pi * progress))
  return schedule


def epoch_linspace_warmup(start, end, warmup_epochs, steps_per_epoch):
  """Step -> value held per epoch: ``linspace(start, end, W)[epoch]`` over
  the first W epochs, ``end`` after (DINO's teacher temperature,
  ``DINOLoss.teacher_temp_schedule``; W = 1 gives ``start`` for one epoch)."""
  def schedule(step):
    epoch = jnp.asarray(step, jnp.int32) // max(steps_per_epoch, 1)
    if warmup_epochs <= 1:
      return jnp.where(epoch < warmup_epochs, start, end).astype(jnp.float32)
    frac = jnp.minimum(epoch, warmup_epochs - 1).astype(jnp.float32) / (warmup_epochs - 1)
    warm = start + (end - start) * frac
    return jnp.where(epoch < warmup_epochs, warm, end).astype(jnp.float32)
  return schedule
