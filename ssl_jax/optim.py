"""Optimisers: SGD, LARS, Adam and AdamW as optax chains.

The peak learning rate scales linearly with the batch,
``peak = base_lr * B / 256``; its schedule is ``schedules.warmup_cosine``.
Weight decay and LARS trust ratios skip biases and normalisation parameters
(every parameter with fewer than 2 dimensions), as the references do.
"""
import jax
import optax

from ssl_jax.registry import Registry


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
  """The PyTorch references' LARS (MoCo v3, MIRA, eztorch, solo-learn):
  d = (g + wd p) η ||p|| / ||g + wd p|| for weights, d = g otherwise;
  buf = μ buf + d; p -= lr buf.  The learning rate scales the buffer, not
  what enters it (optax.lars does the latter: the two differ whenever the
  rate changes, as in warm-up)."""
  mask = _mask_or_all(optim_config) or True
  return optax.chain(
      optax.add_decayed_weights(optim_config.weight_decay, mask),
      optax.masked(optax.scale_by_trust_ratio(
          trust_coefficient=optim_config.trust_coefficient, eps=0.0), mask),
      optax.trace(decay=optim_config.momentum),
      optax.scale_by_learning_rate(lr))


def _adam(optim_config, lr):
  """PyTorch's Adam: weight decay added to the gradient before the moments
  (L2, not AdamW's decoupled decay), as W-MSE's and INTL's CIFAR linear
  classifier uses it."""
  return optax.chain(
      optax.add_decayed_weights(optim_config.weight_decay, _mask_or_all(optim_config)),
      optax.scale_by_adam(b1=optim_config.momentum or 0.9),
      optax.scale_by_learning_rate(lr))


def _adamw(optim_config, lr):
  return optax.adamw(lr, b1=optim_config.momentum or 0.9,
                     weight_decay=optim_config.weight_decay,
                     mask=_mask_or_all(optim_config))


OPTIMIZERS = Registry("optimizer", {"sgd": _sgd, "lars": _lars, "adam": _adam,
                                     "adamw": _adamw})


def scaled_learning_rate(base_lr, global_batch):
  """``base_lr * B / 256`` (the linear scaling rule the papers quote)."""
  return base_lr * global_batch / 256


def make_optimizer(optim_config, lr_schedule) -> optax.GradientTransformation:
  return OPTIMIZERS.lookup(optim_config.name, "optim.name")(optim_config, lr_schedule)
