"""Optimisers: SGD, LARS, LARC, Adam and AdamW as optax chains.

The peak learning rate scales linearly with the batch,
``peak = base_lr * B / 256``; ``learning_rate`` builds its schedule.
Weight decay and LARS trust ratios skip biases and normalisation parameters
(every parameter with fewer than 2 dimensions), as the references do.
"""
import jax
import jax.numpy as jnp
import optax

from ssl_jax.registry import ConfigError, Registry
from ssl_jax.kernels.schedules import (cosine_anneal, milestone_steps, warmup_cosine,
                                       warmup_multistep)


# Fine-tuning with layer-wise lr decay follows param_groups_lrd (BEiT, MAE),
# which also leaves timm's ``no_weight_decay()`` names undecayed.
_NO_DECAY_WITH_LAYER_DECAY = ("pos_embed", "cls_token")


def decay_mask(params, skip=()):
  """True for weights that get weight decay and LARS adaptation (ndim >= 2),
  except those under a name in ``skip``."""
  def decayed(path, p):
    return p.ndim >= 2 and not any(getattr(e, "key", None) in skip for e in path)
  return jax.tree_util.tree_map_with_path(decayed, params)


def _mask_or_all(optim_config):
  if not optim_config.exclude_bias_and_norm:
    return None
  skip = _NO_DECAY_WITH_LAYER_DECAY if optim_config.get("layer_decay") is not None else ()
  return lambda params: decay_mask(params, skip)


def _sgd(optim_config, lr, decay, own_parts):
  """PyTorch SGD: decay added to the gradient, then momentum, then -lr."""
  del own_parts
  return optax.chain(
      optax.add_decayed_weights(decay, _mask_or_all(optim_config)),
      optax.sgd(lr, momentum=optim_config.momentum or None))


def _lars(optim_config, lr, decay, own_parts):
  """The PyTorch references' LARS (MoCo v3, MIRA, eztorch, solo-learn):
  d = (g + wd p) η ||p|| / ||g + wd p|| for weights, d = g otherwise;
  buf = μ buf + d; p -= lr buf.  The learning rate scales the buffer, not
  what enters it (optax.lars does the latter: the two differ whenever the
  rate changes, as in warm-up)."""
  del own_parts
  mask = _mask_or_all(optim_config) or True
  return optax.chain(
      optax.add_decayed_weights(decay, mask),
      optax.masked(optax.scale_by_trust_ratio(
          trust_coefficient=optim_config.trust_coefficient, eps=0.0), mask),
      optax.trace(decay=optim_config.momentum),
      optax.scale_by_learning_rate(lr))


def _larc_scaling(trust_coefficient, weight_decay, eps=1e-8):
  """Apex LARC's rescaling (clip=False) of each parameter's gradient:
  (g + wd p) η ||p|| / (||g|| + wd ||p|| + eps) where ||p|| and ||g|| are
  nonzero, g unchanged otherwise."""
  def update(updates, state, params):
    def scale(g, p):
      p_norm, g_norm = jnp.linalg.norm(p), jnp.linalg.norm(g)
      adaptive = trust_coefficient * p_norm / (g_norm + weight_decay * p_norm + eps)
      return jnp.where((p_norm > 0) & (g_norm > 0), (g + weight_decay * p) * adaptive, g)
    return jax.tree.map(scale, updates, params), state
  return optax.GradientTransformation(lambda params: optax.EmptyState(), update)


def _larc(optim_config, lr, decay, own_parts):
  """SwAV's optimiser: apex LARC (``_larc_scaling``) around PyTorch SGD with
  momentum; unlike ``lars``, the ratio's denominator is ||g|| + wd ||p||."""
  del own_parts
  if callable(decay):
    raise ConfigError("optim.weight_decay_end: larc takes a constant weight decay")
  mask = _mask_or_all(optim_config) or True
  return optax.chain(
      optax.masked(_larc_scaling(optim_config.trust_coefficient, decay), mask),
      optax.trace(decay=optim_config.momentum),
      optax.scale_by_learning_rate(lr))


def _moments(optim_config, own_parts):
  """Adam's moment estimates; each group of ``own_parts`` has an instance of
  its own, whose step count (bias correction) advances only while the group
  trains, as PyTorch counts steps per parameter: a group frozen for the
  first epoch starts its correction at 1 when released, not at the epoch's
  length (DINO's last layer under AdamW).  β1 is ``momentum``, β2
  ``beta2`` (absent: PyTorch's 0.999; MAE 0.95)."""
  adam = lambda: optax.scale_by_adam(b1=optim_config.momentum or 0.9,
                                     b2=optim_config.get("beta2", 0.999))
  if not own_parts:
    return adam()
  label = lambda params: {k: (k if k in own_parts else "main") for k in params}
  return optax.multi_transform({"main": adam(), **{k: adam() for k in own_parts}}, label)


def _adam(optim_config, lr, decay, own_parts):
  """PyTorch's Adam: weight decay added to the gradient before the moments
  (L2, not AdamW's decoupled decay), as W-MSE's and INTL's CIFAR linear
  classifier uses it."""
  return optax.chain(
      optax.add_decayed_weights(decay, _mask_or_all(optim_config)),
      _moments(optim_config, own_parts),
      optax.scale_by_learning_rate(lr))


def _adamw(optim_config, lr, decay, own_parts):
  """PyTorch's AdamW: p -= lr (m̂ / (√v̂ + ε) + wd p)."""
  return optax.chain(
      _moments(optim_config, own_parts),
      optax.add_decayed_weights(decay, _mask_or_all(optim_config)),
      optax.scale_by_learning_rate(lr))


def _clip_per_tensor(max_norm):
  """DINO's ``clip_gradients``: each tensor's gradient g scaled by
  min(1, c / (||g|| + 1e-6)), independently of the others."""
  def update(updates, state, params=None):
    del params
    def clip(g):
      return g * jnp.minimum(1.0, max_norm / (jnp.linalg.norm(g) + 1e-6))
    return jax.tree.map(clip, updates), state
  return optax.GradientTransformation(lambda params: optax.EmptyState(), update)


OPTIMIZERS = Registry("optimizer", {"sgd": _sgd, "lars": _lars, "larc": _larc,
                                     "adam": _adam, "adamw": _adamw})


def scaled_learning_rate(base_lr, global_batch):
  """``base_lr * B / 256`` (the linear scaling rule the papers quote)."""
  return base_lr * global_batch / 256


def learning_rate(optim_config, peak, steps_per_epoch, total_steps, idle_steps=0):
  """Step -> learning rate from ``optim``: a warm-up of ``warmup_epochs``
  from ``warmup_start_lr`` (0 if absent) to ``peak``, then ``schedule``:
  "cosine" to ``end_lr_ratio`` of the peak over ``decay_epochs`` (absent or
  None: the run), "multistep" (x ``gamma`` at each of ``milestones``, in
  epochs) or "exponential" (x ``gamma`` after every epoch, PyTorch's
  ExponentialLR).  The schedule starts after ``idle_steps``
  (``Method.idle_steps``, which train nothing) and spans the rest of the run."""
  if idle_steps:
    base = learning_rate(optim_config, peak, steps_per_epoch, total_steps - idle_steps)
    return lambda step: base(jnp.maximum(step - idle_steps, 0))
  spe = steps_per_epoch
  decay = optim_config.get("decay_epochs")
  horizon = total_steps if decay is None else max(int(round(decay * spe)), 1)
  warmup = min(int(round(optim_config.warmup_epochs * spe)), horizon - 1)
  start = optim_config.get("warmup_start_lr", 0.0)
  if optim_config.schedule == "multistep":
    return warmup_multistep(peak, warmup, milestone_steps(
        optim_config.milestones, optim_config.gamma, spe), start)
  if optim_config.schedule == "exponential":
    return optax.exponential_decay(peak, spe, optim_config.gamma, staircase=True)
  return warmup_cosine(peak, warmup, horizon, optim_config.end_lr_ratio, start)


def _part_labels(constant_parts, bias_ratio):
  """params -> "constant" under a top-level group of ``constant_parts``,
  "bias" for parameters of fewer than 2 dimensions when ``bias_ratio`` is
  not 1, "main" otherwise."""
  def label(path, p):
    if getattr(path[0], "key", None) in constant_parts:
      return "constant"
    return "bias" if bias_ratio != 1.0 and p.ndim < 2 else "main"

  def labels(params):
    unknown = sorted(set(constant_parts) - set(params))
    if unknown:
      raise ConfigError(f"optim.constant_lr_parts names {', '.join(unknown)}; the model's "
                        f"parameter groups are: {', '.join(sorted(params))}")
    return jax.tree_util.tree_map_with_path(label, params)
  return labels


def weight_decay(optim_config, total_steps=None):
  """``optim.weight_decay``, or with ``optim.weight_decay_end`` a step ->
  value cosine from one to the other over ``total_steps`` (DINO's
  ``wd_schedule``: 0.04 -> 0.4)."""
  end = optim_config.get("weight_decay_end")
  if end is None:
    return optim_config.weight_decay
  if total_steps is None:
    raise ValueError("optim.weight_decay_end needs the run's total steps")
  return cosine_anneal(optim_config.weight_decay, end, total_steps)


def make_optimizer(optim_config, lr_schedule, peak_lr=None, total_steps=None,
                   own_parts=(), frozen_modules=(),
                   layer_decay=None) -> optax.GradientTransformation:
  """The optimiser ``optim.name`` on ``lr_schedule``.  Two options of the
  references change the rate per parameter group:

  ``optim.constant_lr_parts``: groups kept at ``peak_lr`` throughout
  (SimSiam's --fix-pred-lr for its predictor).
  ``optim.bias_lr_ratio``: biases and BatchNorm parameters at this fraction
  of the schedule (Barlow Twins: 0.0048 / 0.2).

  ``optim.weight_decay_end`` schedules the decay (``weight_decay``);
  ``optim.clip_grad`` clips each tensor's gradient norm first (DINO).
  ``own_parts``: parameter groups the method freezes for a while; Adam keeps
  their moments and step count apart (``_moments``).
  ``frozen_modules``: module names (anywhere in a parameter's path) whose
  parameters never change: no update, no decay (MoCo v3's random patch
  projection, ``model.freeze_patch_embed``).
  ``layer_decay``: a ViT's layer-wise learning-rate decay (fine-tuning's
  ``optim.layer_decay``, ``layer_decay_scales``).
  """
  tx = _make(optim_config, lr_schedule, peak_lr, total_steps, own_parts)
  if layer_decay is not None:
    tx = optax.chain(tx, _scale_updates(lambda params: _model_scales(params, layer_decay)))
  return _frozen(frozen_modules, tx)


def layer_decay_scales(params, decay):
  """BEiT's and MAE's layer-wise decay (``param_groups_lrd``) on a ViT's
  parameters: the patch embedding, CLS token, registers, position table
  and iBOT's mask token are layer 0, ``block{i}`` is layer i, the rest (the
  final norm) layer L + 1, and layer l's rate is scaled by
  decay^(L + 1 - l); L = depth."""
  blocks = [k for k in params if k.startswith("block") and k[5:].isdigit()]
  if not blocks:
    raise ConfigError(f"optim.layer_decay applies to ViTs; the parameters have no blocks "
                      f"(groups: {', '.join(sorted(params))})")
  depth = len(blocks)

  def layer(name):
    if name in ("patch_embed", "cls_token", "pos_embed", "registers", "mask_token"):
      return 0
    return int(name[5:]) if name in blocks else depth + 1
  return {k: jax.tree.map(lambda _, l=layer(k): decay ** (depth + 1 - l), v)
          for k, v in params.items()}


def _model_scales(params, decay):
  """``layer_decay_scales`` of the ViT under ``backbone`` (the other groups,
  heads, at 1), or of ``params`` itself when it is the ViT's."""
  if "backbone" not in params:
    return layer_decay_scales(params, decay)
  return {k: (layer_decay_scales(v, decay) if k == "backbone" else jax.tree.map(lambda _: 1.0, v))
          for k, v in params.items()}


def _scale_updates(scales_of):
  """Each update times its parameter's factor from ``scales_of(params)``."""
  def update(updates, state, params=None):
    scales = scales_of(updates)
    return jax.tree.map(lambda u, s: u * s, updates, scales), state
  return optax.GradientTransformation(lambda params: optax.EmptyState(), update)


def _frozen(modules, tx):
  if not modules:
    return tx

  def labels(params):
    def label(path, _):
      return "frozen" if any(getattr(e, "key", None) in modules for e in path) else "train"
    out = jax.tree_util.tree_map_with_path(label, params)
    if "frozen" not in jax.tree.leaves(out):
      raise ConfigError(f"no parameters under {', '.join(modules)} to freeze (the model's "
                        f"groups: {', '.join(sorted(params))}); model.freeze_patch_embed "
                        "applies to ViTs")
    return out
  return optax.multi_transform({"train": tx, "frozen": optax.set_to_zero()}, labels)


def _make(optim_config, lr_schedule, peak_lr, total_steps, own_parts):
  build = OPTIMIZERS.lookup(optim_config.name, "optim.name")
  decay = weight_decay(optim_config, total_steps)
  make = lambda lr: build(optim_config, lr, decay, tuple(own_parts))
  constant_parts = tuple(optim_config.get("constant_lr_parts", ()))
  bias_ratio = optim_config.get("bias_lr_ratio", 1.0)
  if not constant_parts and bias_ratio == 1.0:
    return _clipped(optim_config, make(lr_schedule))
  if constant_parts and peak_lr is None:
    raise ValueError("optim.constant_lr_parts needs the peak learning rate")
  transforms = {"main": make(lr_schedule)}
  if constant_parts:
    transforms["constant"] = make(lambda step: peak_lr)
  if bias_ratio != 1.0:
    transforms["bias"] = make(lambda step: bias_ratio * lr_schedule(step))
  return _clipped(optim_config, optax.multi_transform(
      transforms, _part_labels(constant_parts, bias_ratio)))


def _clipped(optim_config, tx):
  clip = optim_config.get("clip_grad")
  return tx if not clip else optax.chain(_clip_per_tensor(clip), tx)
