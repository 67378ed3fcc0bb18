"""Every config loads, validates and builds; bad keys and values fail clearly."""
import glob
import importlib.util
import os

import jax
import numpy as np
import pytest

from ssl_jax import config_check
from ssl_jax.data import imagenet100, pipeline
from ssl_jax.data.views import VIEW_PRESETS
from ssl_jax.jobs.linear_eval import make_optimizer_pair
from ssl_jax.kernels.schedules import warmup_cosine
from ssl_jax.methods import build_method
from ssl_jax.models import build_model
from ssl_jax.registry import ConfigError
from ssl_jax.train.optim import make_optimizer
from ssl_jax.train.state import init_train_state
from tests.recipes import RECIPES

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONFIGS = sorted(p for p in glob.glob(os.path.join(ROOT, "configs", "*.py"))
                 if os.path.basename(p) != "common.py"
                 and not os.path.basename(p).startswith("_"))


def load(path):
  spec = importlib.util.spec_from_file_location(os.path.basename(path)[:-3], path)
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  return module


@pytest.mark.parametrize("path", CONFIGS, ids=os.path.basename)
def test_config_loads_validates_and_builds(path):
  module = load(path)
  assert module.__doc__.startswith("python -m ssl_jax.main --config=configs/"
                                   + os.path.basename(path))
  config = module.get_config()
  assert config.is_locked
  if config.job != "pretrain":
    _check_evaluation_config(config)
    return
  config_check.validate(config)
  views = VIEW_PRESETS.lookup(config.data.views)
  method = build_method(config.method, total_steps=1000, num_examples=10000)
  model = build_model(config.model, method.head)
  tx = make_optimizer(config.optim, warmup_cosine(0.1, 10, 1000), 0.1, total_steps=1000)
  shapes = jax.eval_shape(
      lambda r: init_train_state(r, model, method, tx, views.views[0].size),
      jax.random.key(0))
  assert shapes.params["backbone"]
  if method.uses_target:
    assert set(shapes.ema_params) == set(
        method.teacher_parts + method.copied_teacher_parts)


def _check_evaluation_config(config):
  with pytest.raises(ConfigError, match="set --config.pretrained"):
    (config_check.validate_linear_eval if config.job == "linear_eval"
     else config_check.validate_knn_eval)(config)
  config.pretrained = "/some/run"
  if config.job == "knn_eval":
    config_check.validate_knn_eval(config)
    return
  config_check.validate_linear_eval(config)
  if config.data.views is not None:  # None: the run's resolution (follow_run)
    VIEW_PRESETS.lookup(config.data.views)
  tx, lr, frozen = make_optimizer_pair(config.optim, config.train.batch_size, 100,
                                       100 * config.train.epochs)
  assert frozen == (config.optim.backbone_base_lr == 0) and float(lr(0)) > 0
  params = {"head": {"w": jax.numpy.ones((2, 2))}, "backbone": {"w": jax.numpy.ones((2, 2))}}
  tx.init(params)


@pytest.mark.parametrize("name,protocol", [("linear_eval.py", "nope"),
                                           ("semi_supervised.py", "mira_50pct")])
def test_unknown_evaluation_protocol_lists_the_valid_ones(name, protocol):
  with pytest.raises(ValueError, match="choose one of"):
    load(os.path.join(ROOT, "configs", name)).get_config(protocol)


def _quickstart(method="intl"):
  return load(os.path.join(ROOT, "configs", "quickstart.py")).get_config(method)


@pytest.mark.parametrize("key,value,match", [
    ("method.name", "simclrr",
     "valid method names: barlow_twins, byol, deepclusterv2, dino, ibot, intl"),
    ("model.name", "resnet9", "valid model names: resnet10, resnet18, resnet50"),
    ("data.name", "mnist", "valid dataset names: cifar10"),
    ("optim.name", "adagrad", "adam, adamw, larc, lars, sgd"),
    ("train.precision", "fp16", "bfloat16, float32"),
])
def test_unknown_names_list_the_valid_ones(key, value, match):
  config = _quickstart()
  section, field = key.split(".")
  with config.unlocked():
    config[section][field] = value
  with pytest.raises(ConfigError, match=match):
    config_check.validate(config)


@pytest.mark.parametrize("key,value", [
    ("train.batch_size", 0), ("optim.base_lr", -0.1), ("optim.momentum", 1.0),
    ("eval.knn_temperature", 0.0), ("eval.knn_k", 0), ("train.total_steps", -5),
    ("optim.clip_grad", 0.0), ("optim.weight_decay_end", -0.1),
    ("model.freeze_patch_embed", True), ("model.patch_stem", "conv"),
    ("model.patch_stem", "convs"),
])
def test_out_of_range_values_name_the_key(key, value):
  config = _quickstart()
  section, field = key.split(".")
  config[section][field] = value
  with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
    config_check.validate(config)


def test_mae_refuses_a_stem_that_mixes_patches():
  config = _quickstart("mae")
  config.model.patch_stem = "conv"
  with pytest.raises(ConfigError, match="model.patch_stem='conv' is out of range: must be "
                                        "linear for mae"):
    config_check.validate(config)


def test_method_hyper_parameters_are_checked():
  config = _quickstart()
  config.method.axis = "channels"
  with pytest.raises(ConfigError, match="axis"):
    build_method(config.method, 100)
  config = _quickstart()
  config.method.ema_momentum = 1.5
  with pytest.raises(ConfigError, match="ema_momentum"):
    build_method(config.method, 100)


def test_unknown_override_key_lists_the_keys_at_that_level():
  with pytest.raises(ConfigError, match=r"config\.train has no 'bogus'.*batch_size"):
    config_check.check_override_keys(_quickstart(), ["train.bogus"])
  config_check.check_override_keys(_quickstart(), ["train.batch_size", "method.projector.out_dim"])


@pytest.mark.parametrize("epochs,base_lr", [("100", 0.5), ("200", 0.4), ("400", 0.4),
                                            ("800", 0.3)])
def test_intl_imagenet_lengths_use_the_official_scripts_learning_rates(epochs, base_lr):
  config = load(os.path.join(ROOT, "configs", "intl_imagenet.py")).get_config(epochs)
  assert (config.train.epochs, config.optim.base_lr) == (int(epochs), base_lr)
  with pytest.raises(ValueError, match="no 300-epoch recipe; choose one of: 100, 200"):
    load(os.path.join(ROOT, "configs", "intl_imagenet.py")).get_config("300")


def _config_for(spec):
  name, _, arg = spec.partition(":")
  module = load(os.path.join(ROOT, "configs", name))
  return module.get_config(arg) if arg else module.get_config()


def _recipe_value(config, key):
  if key == "peak_lr":
    return config.optim.base_lr * config.train.batch_size / 256
  if key == "warmup_steps":
    size = {"cifar10": 50000, "imagenet100": imagenet100.NUM_TRAIN}[config.data.name]
    spe = pipeline.steps_per_epoch(size, config.train.batch_size)
    return int(round(config.optim.warmup_epochs * spe))
  if key == "num_views" or key.startswith("view"):
    views = VIEW_PRESETS.lookup(config.data.views)
    if key == "num_views":
      return len(views)
    index, field = key[len("view"):].split(".")
    return getattr(views.views[int(index)], field)
  node = config
  for part in key.split("."):
    node = node[part]
  return node


def _arguments(module):
  """The arguments a config file's get_config takes (() for none)."""
  for table in ("PROTOCOLS", "BASE_LR"):
    if hasattr(module, table):
      return tuple(str(k) for k in getattr(module, table))
  return ()


def test_every_config_and_argument_has_a_recipe():
  specs = set()
  for path in CONFIGS:
    arguments = _arguments(load(path))
    name = os.path.basename(path)
    specs |= {f"{name}:{a}" for a in arguments} if arguments else {name}
  assert specs == set(RECIPES), (f"configs without a recipe: {sorted(specs - set(RECIPES))}; "
                                 f"recipes without a config: {sorted(set(RECIPES) - specs)}")


@pytest.mark.parametrize("spec", sorted(RECIPES))
def test_config_matches_its_recipe(spec):
  source, values = RECIPES[spec]
  config = _config_for(spec)
  wrong = []
  for key, want in values.items():
    got = _recipe_value(config, key)
    if isinstance(want, tuple):
      got = tuple(got)
    same = got == pytest.approx(want, rel=1e-12) if isinstance(want, float) else got == want
    if not same:
      wrong.append(f"{key} = {got!r}, {source} says {want!r}")
  assert not wrong, "\n".join(wrong)


def test_pretraining_follows_the_configured_schedule():
  """optim.schedule=multistep with a warm-up start: build_run's lr is the
  warm-up from warmup_start_lr, the peak, then x gamma at each milestone."""
  from ssl_jax.jobs import pretrain  # pylint: disable=g-import-not-at-top
  config = _quickstart()
  config.data.num_examples = 1280  # 10 steps an epoch at batch 128
  config.optim.schedule, config.optim.milestones, config.optim.gamma = "multistep", (3,), 0.5
  config.optim.warmup_epochs, config.optim.warmup_start_lr = 1.0, 0.01
  lr = pretrain.build_run(config).schedules.learning_rate
  peak = config.optim.base_lr * 128 / 256
  got = [float(lr(s)) for s in (0, 9, 10, 29, 30, 59)]
  want = [0.01 + (peak - 0.01) / 10, peak, peak, peak, peak / 2, peak / 2]
  np.testing.assert_allclose(got, want, rtol=1e-6)


def test_the_quickstart_has_a_recipe_for_every_registered_method():
  from ssl_jax.methods import METHODS  # pylint: disable=g-import-not-at-top
  quickstart = load(os.path.join(ROOT, "configs", "quickstart.py"))
  assert set(quickstart.METHODS) == set(METHODS)
  for name in [*METHODS, *quickstart.VARIANTS]:
    config_check.validate(quickstart.get_config(name))
    build_method(quickstart.get_config(name).method, total_steps=100, num_examples=1000)
  for name, (method, _) in quickstart.VARIANTS.items():
    assert quickstart.get_config(name).method.name == method
