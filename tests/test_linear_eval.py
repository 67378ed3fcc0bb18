"""The classifier step of linear evaluation and fine-tuning, its schedules, and
the evaluation jobs following the pretraining run's data."""
import os

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from configs import common
from ssl_jax import backbone as backbones
from ssl_jax.jobs.follow_run import follow_run
from ssl_jax.jobs.linear_eval import (ClassifierState, make_classifier_step,
                                      make_optimizer_pair)
from ssl_jax.models import ResNet
from ssl_jax.models.inputs import Normalization
from ssl_jax.models.linear import init_linear
from ssl_jax.models.resnet import BasicBlock
from ssl_jax.registry import ConfigError
from ssl_jax.train.optim import learning_rate, scaled_learning_rate
from tests.test_config import ROOT, load


def _setup(backbone_lr, cached=False):
  config = common.linear_eval_config()
  config.optim.backbone_base_lr = backbone_lr
  config.optim.schedule, config.optim.milestones = "cosine", ()
  module = ResNet(stage_sizes=(1, 1), block=BasicBlock, width=0.0625, stem="cifar")
  variables = module.init(jax.random.key(0), jnp.zeros((1, 2, 8, 8, 3)), train=True)
  tx, lr, frozen = make_optimizer_pair(config.optim, 256, 10, 100)
  params = {"head": init_linear(8, 3), "backbone": variables["params"]}
  state = ClassifierState(jnp.zeros((), jnp.int32), params, variables["batch_stats"],
                          tx.init(params))
  step = jax.jit(make_classifier_step(module, Normalization((0.5,) * 3, (0.25,) * 3), tx, lr, frozen))
  rng = np.random.default_rng(0)
  batch = {"label": jnp.asarray(rng.integers(0, 3, 8), jnp.int32)}
  if cached:
    batch["features"] = jnp.asarray(rng.normal(size=(8, 8)), jnp.float32)
  else:
    batch["views"] = (jnp.asarray(rng.integers(0, 255, (8, 8, 8, 3)), jnp.uint8),)
  return state, step, batch


def _same(a, b):
  return all(np.array_equal(x, y) for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b)))


@pytest.mark.parametrize("cached", [False, True])
def test_linear_evaluation_changes_only_the_head(cached):
  state, step, batch = _setup(0.0, cached)
  new, metrics = step(state, batch)
  assert np.isfinite(float(metrics["loss"]))
  assert _same(new.params["backbone"], state.params["backbone"])
  assert _same(new.batch_stats, state.batch_stats)  # inference-mode BatchNorm
  assert not _same(new.params["head"], state.params["head"])


def test_fine_tuning_trains_the_backbone_and_its_statistics():
  state, step, batch = _setup(0.01)
  # The zero-initialised head passes no gradient back on the first step.
  new, _ = step(*step(state, batch)[:1], batch)
  assert not _same(new.params["backbone"], state.params["backbone"])
  assert not _same(new.batch_stats, state.batch_stats)


def test_repeated_steps_fit_a_small_batch():
  state, step, batch = _setup(0.0, cached=True)
  for _ in range(60):
    state, metrics = step(state, batch)
  assert float(metrics["train_top1"]) == 100.0


def test_multistep_schedule_drops_at_the_milestones():
  optim = common.linear_eval_config().optim  # 0.2 x B/256, x0.1 at epochs 60 and 80
  lr = learning_rate(optim, scaled_learning_rate(optim.base_lr, 512), 10, 1000)
  got = [float(lr(s)) for s in (0, 599, 600, 799, 800, 999)]
  np.testing.assert_allclose(got, [0.4, 0.4, 0.04, 0.04, 0.004, 0.004], rtol=1e-6)


def test_exponential_schedule_decays_once_per_epoch():
  """PyTorch's ExponentialLR stepped after every epoch (MIO: × 0.98)."""
  optim = common.linear_eval_config().optim
  optim.schedule, optim.milestones, optim.gamma = "exponential", (), 0.98
  lr = learning_rate(optim, scaled_learning_rate(0.08, 32), 10, 1000)  # 0.01, 10 steps an epoch
  got = [float(lr(s)) for s in (0, 9, 10, 19, 20, 999)]
  np.testing.assert_allclose(got, [0.01, 0.01, 0.0098, 0.0098, 0.01 * 0.98 ** 2,
                                   0.01 * 0.98 ** 99], rtol=1e-5)


def _backbone_of_run(data, image_size=24):
  return backbones.Backbone(model={"name": "resnet10", "width": 0.0625, "stem": "cifar"},
                            variables={}, mean=(0.5,) * 3, std=(0.25,) * 3,
                            image_size=image_size, source="RUN", data=data)


def test_an_evaluation_without_a_protocol_follows_the_run_and_a_named_one_wins():
  run = {"name": "synthetic", "root": None, "image_size": 32, "seed": 3, "num_examples": 640,
         "views": "synthetic"}
  config = load(os.path.join(ROOT, "configs", "linear_eval.py")).get_config()
  follow_run(config, _backbone_of_run(run))
  assert (config.data.name, config.data.seed, config.data.num_examples,
          config.data.views) == ("synthetic", 3, 640, "linear_synthetic")
  knn = load(os.path.join(ROOT, "configs", "knn_eval.py")).get_config()
  knn.data.num_examples = 160  # a setting of the evaluation's own wins
  follow_run(knn, _backbone_of_run(run))
  assert (knn.data.name, knn.data.num_examples) == ("synthetic", 160)
  named = load(os.path.join(ROOT, "configs", "linear_eval.py")).get_config("intl")
  follow_run(named, _backbone_of_run(run))
  assert (named.data.name, named.data.views) == ("imagenet100", "linear_imagenet")
  with pytest.raises(ConfigError, match="RUN does not record the data.*set --config.data.name"):
    follow_run(load(os.path.join(ROOT, "configs", "knn_eval.py")).get_config(),
               _backbone_of_run({}))
  odd = load(os.path.join(ROOT, "configs", "linear_eval.py")).get_config()
  follow_run(odd, _backbone_of_run(run, image_size=64))  # no preset at 64 px: resized
  assert (odd.data.views, odd.data.view_size) == ("linear_cifar", 64)
