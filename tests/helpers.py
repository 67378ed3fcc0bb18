"""Tiny models, data and configs shared by the tests."""
import dataclasses

import jax
import jax.numpy as jnp
import numpy as np

from ssl_jax import sharding
from ssl_jax.data import synthetic, views
from ssl_jax.data.sources import ArraySplit
from ssl_jax.kernels.schedules import warmup_cosine
from ssl_jax.models import ResNet, SSLModel, VisionTransformer
from ssl_jax.models.inputs import Normalization
from ssl_jax.models.resnet import BasicBlock
from ssl_jax.train.augment import ViewAugmenter
from ssl_jax.train.optim import make_optimizer
from ssl_jax.train.state import init_train_state
from ssl_jax.train.step import Schedules, make_train_step

TINY_VIEWS = views.ViewSet(tuple(dataclasses.replace(v, size=16)
                                 for v in views.VIEW_PRESETS["synthetic"].views))
# The same crops without photometric augmentation: ~40 % less to compile,
# for tests about a method's mechanics rather than its augmentations.
PLAIN_VIEWS = views.ViewSet(tuple(
    dataclasses.replace(v, jitter_prob=0.0, gray_prob=0.0, solarize_prob=0.0)
    for v in TINY_VIEWS.views))
# Two 16 px global crops and two 8 px local ones: a step over views of mixed sizes.
MULTICROP_VIEWS = views.ViewSet(PLAIN_VIEWS.views + tuple(
    dataclasses.replace(PLAIN_VIEWS.views[0], size=8, min_scale=0.05, max_scale=0.4)
    for _ in range(2)), num_global=2)
NORMALIZATION = Normalization((0.5, 0.5, 0.5), (0.25, 0.25, 0.25))


class OptimConfig(dict):
  __getattr__ = dict.__getitem__


def sgd_config(**kw):
  base = dict(name="sgd", base_lr=0.3, weight_decay=1e-5, momentum=0.9,
              trust_coefficient=0.001, exclude_bias_and_norm=True)
  return OptimConfig({**base, **kw})


def tiny_split(n=64, size=16, seed=0):
  return ArraySplit(*synthetic.generate("train", size, seed, n))


def tiny_model(method, dtype=jnp.float32):
  """A 2-stage ResNet at 1/16 width, or for a method that masks patches
  (MAE, iBOT) a 1-block ViT of width 32 with 4 px patches."""
  if method.head.decoder is not None or method.head.patch_masks is not None:
    backbone = VisionTransformer(patch=4, dim=32, depth=1, heads=2, pos_embed="sincos_mae",
                                 dtype=dtype)
  else:
    backbone = ResNet(stage_sizes=(1, 1), block=BasicBlock, width=0.0625, stem="cifar",
                      dtype=dtype)
  return SSLModel(backbone, method.head, dtype=dtype)


def tiny_setup(method, total_steps=50, lr=0.3, view_set=TINY_VIEWS, dtype=jnp.float32):
  """(model, tx, jitted-ready step fn, init fn) for a method on 16 px views;
  ``dtype``: compute dtype of the backbone, heads and augmentation."""
  model = tiny_model(method, dtype)
  schedule = warmup_cosine(lr, 0, total_steps)
  tx = make_optimizer(sgd_config(), schedule)
  ema = method.ema_schedule(total_steps)
  step = make_train_step(model, method, tx, Schedules(schedule, ema),
                         ViewAugmenter(view_set, NORMALIZATION, dtype))
  init = lambda rng: init_train_state(rng, model, method, tx, view_set.views[0].size)
  return model, tx, step, init


def host_batch(split, step, batch_size, view_set=TINY_VIEWS, seed=0):
  from ssl_jax.data import pipeline  # pylint: disable=g-import-not-at-top
  return next(pipeline.train_batches(split, view_set, batch_size, seed, step))


def run_steps(step_fn, init_fn, split, num_steps, batch_size, mesh, view_set=TINY_VIEWS):
  """Runs ``num_steps`` jitted steps on ``mesh`` (batches of ``view_set``'s
  crops); returns (state, [metrics])."""
  repl = sharding.replicated(mesh)
  init = jax.jit(init_fn, out_shardings=repl)
  fn = sharding.jit_train_step(step_fn, mesh)
  from ssl_jax.data import pipeline  # pylint: disable=g-import-not-at-top
  state = init(jax.random.key(0))
  batches = pipeline.train_batches(split, view_set, batch_size, 0, 0)
  history = []
  for _ in range(num_steps):
    batch = sharding.to_global(next(batches), mesh)
    state, metrics = fn(state, batch, jax.random.key(1))
    history.append(jax.device_get(metrics))
  return state, history


def assert_trees_close(a, b, rtol=1e-4, atol=1e-5):
  for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b)):
    np.testing.assert_allclose(np.asarray(x), np.asarray(y), rtol=rtol, atol=atol)
