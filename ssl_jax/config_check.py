"""Fail-fast validation of a config before anything expensive starts.

Each check names the key, the bad value and what would be valid.  Method
hyper-parameters are checked by the method's own constructor (see
``methods.build_method``).
"""
import math

from ssl_jax.registry import ConfigError

PRECISIONS = ("float32", "bfloat16")


def _choice(config, path, choices):
  value, name = _get(config, path), ".".join(path)
  if value not in choices:
    raise ConfigError(f"{name}={value!r} is not valid; choose one of: "
                      f"{', '.join(sorted(choices))}")


def _get(config, path):
  for part in path:
    config = config[part]
  return config


def _check(condition, key, value, requirement):
  if not condition:
    raise ConfigError(f"{key}={value!r} is out of range: {requirement}")


def check_finite(tree, prefix=""):
  """Every float in the config is a number: inf or nan anywhere (a learning
  rate, a temperature) would poison the run without failing it."""
  for key, value in tree.items():
    if hasattr(value, "items"):
      check_finite(value, f"{prefix}{key}.")
    elif isinstance(value, float) and not math.isfinite(value):
      raise ConfigError(f"{prefix}{key}={value!r} is not a finite number")


def validate(config):
  """Raises ConfigError on the first invalid value."""
  from ssl_jax.data.sources import SOURCES  # pylint: disable=g-import-not-at-top
  from ssl_jax.data.views import VIEW_PRESETS, views_of  # pylint: disable=g-import-not-at-top
  from ssl_jax.methods import METHODS  # pylint: disable=g-import-not-at-top
  from ssl_jax.models import BACKBONES, STEMS, VITS  # pylint: disable=g-import-not-at-top
  from ssl_jax.models.vit import PATCH_STEMS  # pylint: disable=g-import-not-at-top
  from ssl_jax.train.optim import OPTIMIZERS  # pylint: disable=g-import-not-at-top

  check_finite(config)
  _choice(config, ("method", "name"), METHODS)
  _choice(config, ("model", "name"), BACKBONES)
  _choice(config, ("model", "stem"), STEMS)
  _choice(config, ("data", "name"), SOURCES)
  _choice(config, ("data", "views"), VIEW_PRESETS)
  _choice(config, ("optim", "name"), OPTIMIZERS)
  _choice(config, ("train", "precision"), PRECISIONS)

  t, o, e = config.train, config.optim, config.eval
  _check(config.model.width > 0, "model.width", config.model.width, "must be > 0")
  freeze = config.model.get("freeze_patch_embed", False)
  _check(not freeze or config.model.name in VITS, "model.freeze_patch_embed", freeze,
         f"applies to ViTs, not {config.model.name}")
  view_size = config.data.get("view_size")
  _check(view_size is None or view_size >= 8, "data.view_size", view_size,
         "must be at least 8 px (or unset: the preset's sizes)")
  try:
    views_of(config.data)
  except ValueError as e:  # the crop canvas (the preset's own values are checked)
    raise ConfigError(f"data.crop_canvas={config.data.crop_canvas!r} is out of range: "
                      f"{e}") from None
  _check(t.batch_size >= 2, "train.batch_size", t.batch_size, "must be >= 2")
  _check(t.epochs >= 1 or t.total_steps, "train.epochs", t.epochs, "must be >= 1")
  _check(t.total_steps is None or t.total_steps >= 1, "train.total_steps",
         t.total_steps, "must be >= 1 (or None to use epochs)")
  _check(t.log_every >= 1, "train.log_every", t.log_every, "must be >= 1")
  _check(t.max_consecutive_skips >= 1, "train.max_consecutive_skips",
         t.max_consecutive_skips, "must be >= 1")
  _check(o.base_lr > 0, "optim.base_lr", o.base_lr, "must be > 0")
  _check(o.weight_decay >= 0, "optim.weight_decay", o.weight_decay, "must be >= 0")
  wd_end, clip = o.get("weight_decay_end"), o.get("clip_grad")
  _check(wd_end is None or wd_end >= 0, "optim.weight_decay_end", wd_end,
         "must be >= 0 (or None: constant weight decay)")
  _check(clip is None or clip > 0, "optim.clip_grad", clip, "must be > 0 (or None: no clipping)")
  _check(0 <= o.momentum < 1, "optim.momentum", o.momentum, "must be in [0, 1)")
  beta2 = o.get("beta2", 0.999)
  _check(0 <= beta2 < 1, "optim.beta2", beta2, "must be in [0, 1)")
  _check(beta2 == 0.999 or o.name in ("adam", "adamw"), "optim.beta2", beta2,
         f"applies to adam and adamw, not {o.name}")
  _check(config.method.name != "mae" or config.model.name in VITS, "model.name", config.model.name,
         "must be a ViT for mae (its decoder reads the encoder's patch tokens)")
  _check(config.method.name != "ibot" or config.model.name in VITS, "model.name",
         config.model.name, "must be a ViT for ibot (it masks patch tokens and scores them)")
  _choice(config, ("model", "patch_stem"), PATCH_STEMS)
  stem = config.model.patch_stem
  _check(stem == "linear" or config.model.name in VITS, "model.patch_stem", stem,
         f"applies to ViTs, not {config.model.name}")
  _check(stem == "linear" or config.method.name != "mae", "model.patch_stem", stem,
         "must be linear for mae (its encoder must not see the removed patches through "
         "their neighbours' stem)")
  _check(o.warmup_epochs >= 0, "optim.warmup_epochs", o.warmup_epochs, "must be >= 0")
  _check(0 <= o.end_lr_ratio <= 1, "optim.end_lr_ratio", o.end_lr_ratio, "must be in [0, 1]")
  _check(o.warmup_start_lr >= 0, "optim.warmup_start_lr", o.warmup_start_lr, "must be >= 0")
  _check(o.bias_lr_ratio > 0, "optim.bias_lr_ratio", o.bias_lr_ratio, "must be > 0")
  _choice(config, ("optim", "schedule"), ("cosine", "multistep"))
  _check(0 < o.gamma <= 1, "optim.gamma", o.gamma, "must be in (0, 1]")
  _check(o.schedule == "multistep" or not o.milestones, "optim.milestones", o.milestones,
         "go with optim.schedule=multistep")
  _check(o.decay_epochs is None or o.decay_epochs > 0, "optim.decay_epochs",
         o.decay_epochs, "must be > 0 (or None: the run's length)")
  _check(o.trust_coefficient > 0, "optim.trust_coefficient", o.trust_coefficient,
         "must be > 0")
  _check(e.every_steps >= 0, "eval.every_steps", e.every_steps, "must be >= 0")
  _check(e.batch_size >= 1, "eval.batch_size", e.batch_size, "must be >= 1")
  _check(e.knn_k >= 1, "eval.knn_k", e.knn_k, "must be >= 1")
  _check(t.online_probe_lr > 0, "train.online_probe_lr", t.online_probe_lr, "must be > 0")
  _check(e.min_effective_rank >= 0, "eval.min_effective_rank", e.min_effective_rank,
         "must be >= 0")
  _check(e.collapse_patience >= 1, "eval.collapse_patience", e.collapse_patience,
         "must be >= 1")
  _check(e.knn_temperature > 0, "eval.knn_temperature", e.knn_temperature, "must be > 0")
  ck = config.checkpoint
  _check(ck.every_steps >= 1, "checkpoint.every_steps", ck.every_steps, "must be >= 1")
  _check(ck.max_to_keep >= 1, "checkpoint.max_to_keep", ck.max_to_keep, "must be >= 1")
  _check(config.data.image_size >= 8, "data.image_size", config.data.image_size,
         "must be >= 8")


def _check_evaluated(config):
  check_finite(config)
  _check(config.pretrained is not None, "pretrained", config.pretrained,
         "set --config.pretrained to a pretraining workdir or an exported backbone")
  from ssl_jax.data.sources import SOURCES  # pylint: disable=g-import-not-at-top
  if config.data.name is not None:  # None: the pretraining run's (jobs/follow_run.py)
    _choice(config, ("data", "name"), SOURCES)
  _check(config.eval.batch_size >= 1, "eval.batch_size", config.eval.batch_size,
         "must be >= 1")


def _check_fraction(key, value):
  _check(value is None or 0 < value <= 1, key, value, "must be in (0, 1]")


def validate_linear_eval(config):
  """Raises ConfigError on the first invalid value of a linear_eval config."""
  from ssl_jax.data.views import VIEW_PRESETS  # pylint: disable=g-import-not-at-top
  from ssl_jax.train.optim import OPTIMIZERS  # pylint: disable=g-import-not-at-top
  _check_evaluated(config)
  if config.data.views is not None:
    _choice(config, ("data", "views"), VIEW_PRESETS)
  _choice(config, ("optim", "name"), OPTIMIZERS)
  _choice(config, ("optim", "schedule"), ("cosine", "multistep", "exponential"))
  t, o = config.train, config.optim
  _check_fraction("data.label_fraction", config.data.label_fraction)
  _check(t.batch_size >= 1, "train.batch_size", t.batch_size, "must be >= 1")
  _check(t.epochs >= 1, "train.epochs", t.epochs, "must be >= 1")
  _check(o.base_lr > 0, "optim.base_lr", o.base_lr, "must be > 0")
  _check(o.backbone_base_lr >= 0, "optim.backbone_base_lr", o.backbone_base_lr,
         "must be >= 0 (0 freezes the backbone)")
  decay = o.get("layer_decay")
  _check(decay is None or 0 < decay <= 1, "optim.layer_decay", decay, "must be in (0, 1]")
  _check(not (t.cached_features and o.backbone_base_lr > 0), "train.cached_features",
         t.cached_features, "needs a frozen backbone (optim.backbone_base_lr=0)")
  _check(o.schedule == "cosine" or o.warmup_epochs == 0, "optim.warmup_epochs",
         o.warmup_epochs, "warm-up goes with the cosine schedule only")
  _check(0 < o.gamma <= 1, "optim.gamma", o.gamma, "must be in (0, 1]")
  _check(all(0 < m < t.epochs for m in o.milestones), "optim.milestones", o.milestones,
         f"must lie inside (0, train.epochs={t.epochs})")


def validate_knn_eval(config):
  """Raises ConfigError on the first invalid value of a knn_eval config."""
  _check_evaluated(config)
  k = config.knn
  _check(len(k.ks) + len(k.majority_ks) > 0 and min(tuple(k.ks) + tuple(k.majority_ks)) >= 1,
         "knn.ks", (k.ks, k.majority_ks), "needs at least one k, every k >= 1")
  _check(k.temperature > 0, "knn.temperature", k.temperature, "must be > 0")
  _check(len(k.label_fractions) >= 1, "knn.label_fractions", k.label_fractions,
         "needs at least one fraction (1.0: every label)")
  for fraction in k.label_fractions:
    _check_fraction("knn.label_fractions", fraction)


def check_override_keys(config, overrides):
  """Explains overrides like ``--config.train.bogus=1`` that name no key.

  Args:
    config: the loaded (unlocked or locked) ConfigDict.
    overrides: dotted paths after ``config.``, e.g. ["train.batch_size"].
  Raises:
    ConfigError naming the first unknown key and the valid keys at that level.
  """
  for path in overrides:
    node, walked = config, []
    for part in path.split("."):
      keys = list(node.keys()) if hasattr(node, "keys") else []
      if part not in keys:
        where = ".".join(["config"] + walked)
        raise ConfigError(f"unknown config key config.{path}: {where} has no "
                          f"{part!r}; valid keys there: {', '.join(sorted(keys))}")
      node, walked = node[part], walked + [part]
