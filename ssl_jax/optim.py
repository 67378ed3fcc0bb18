"""Optimisers and the schedules that change over training.

Learning rate: linear warm-up then cosine to ``end_ratio`` of the peak, with
the INTL reference's step convention (``adjust_learning_rate``):

    lr(s) = peak (s + 1) / W                          for s < W
    lr(s) = peak q + peak end_ratio (1 - q),  q = (1 + cos(π (s - W + 1) / (T - W))) / 2

and the peak scaled linearly with the batch, ``peak = base_lr * B / 256``.
EMA momentum: ``m(s) = 1 - (1 - m_0) (1 + cos(π s / T)) / 2`` (BYOL).
Weight decay and LARS trust ratios skip biases and normalisation parameters
(every parameter with fewer than 2 dimensions), as the references do.
"""
import math

import jax
import jax.numpy as jnp
import optax

from ssl_jax.registry import Registry


def warmup_cosine(peak, warmup_steps, total_steps, end_ratio=0.0):
  """Step -> learning rate (see the module docstring)."""
  if total_steps < 1 or not 0 <= warmup_steps < total_steps:
    raise ValueError(f"need 0 <= warmup_steps ({warmup_steps}) < total_steps ({total_steps})")

  def schedule(step):
    step = jnp.asarray(step, jnp.float32)
    warm = peak * (step + 1) / max(warmup_steps, 1)
    progress = jnp.clip((step - warmup_steps + 1) / (total_steps - warmup_steps), 0.0, 1.0)
    q = 0.5 * (1.0 + jnp.cos(math.pi * progress))
    cosine = peak * q + peak * end_ratio * (1.0 - q)
    return jnp.where(step < warmup_steps, warm, cosine)
  return schedule


def ema_momentum(base, total_steps):
  """Step -> EMA momentum, cosine from ``base`` at step 0 to 1 at ``total_steps``."""
  def schedule(step):
    progress = jnp.clip(jnp.asarray(step, jnp.float32) / total_steps, 0.0, 1.0)
    return 1.0 - (1.0 - base) * 0.5 * (1.0 + jnp.cos(math.pi * progress))
  return schedule


def decay_mask(params):
  """True for weights that get weight decay and LARS adaptation (ndim >= 2)."""
  return jax.tree.map(lambda p: p.ndim >= 2, params)


def _mask_or_all(optim_config):
  return decay_mask if optim_config.exclude_bias_and_norm else None


def _sgd(optim_config, lr):
  """PyTorch SGD: decay added to the gradient, then momentum, then -lr."""
  return optax.chain(
      optax.add_decayed_weights(optim_config.weight_decay, _mask_or_all(optim_config)),
      optax.sgd(lr, momentum=optim_config.momentum or None))


def _lars(optim_config, lr):
  mask = _mask_or_all(optim_config) or True
  return optax.lars(lr, weight_decay=optim_config.weight_decay, weight_decay_mask=mask,
                    trust_coefficient=optim_config.trust_coefficient, eps=0.0,
                    trust_ratio_mask=mask, momentum=optim_config.momentum)


def _adamw(optim_config, lr):
  return optax.adamw(lr, b1=optim_config.momentum or 0.9,
                     weight_decay=optim_config.weight_decay,
                     mask=_mask_or_all(optim_config))


OPTIMIZERS = Registry("optimizer", {"sgd": _sgd, "lars": _lars, "adamw": _adamw})


def peak_learning_rate(optim_config, global_batch):
  """``base_lr * B / 256`` (the linear scaling rule the papers quote)."""
  return optim_config.base_lr * global_batch / 256


def make_optimizer(optim_config, lr_schedule) -> optax.GradientTransformation:
  return OPTIMIZERS.lookup(optim_config.name, "optim.name")(optim_config, lr_schedule)
