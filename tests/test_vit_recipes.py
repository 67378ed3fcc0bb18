"""The ViT recipes' options against the official code: MoCo v3's fixed
sine-cosine position table (tests/official/vit_sincos_generate.py), its head
count and frozen random patch projection, and MAE's layer-wise learning-rate
decay for fine-tuning (tests/official/vit_lr_decay_generate.py)."""
import os

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import optax
import pytest

from ssl_jax.models import build_backbone
from ssl_jax.models.vit import VisionTransformer, sincos_position_embedding
from ssl_jax.registry import ConfigError
from ssl_jax.train.optim import make_optimizer

FIXTURE = os.path.join(os.path.dirname(__file__), "official", "vit", "mocov3_sincos.npz")


@pytest.mark.parametrize("grid, dim", [(14, 384), (3, 8)])
def test_sincos_table_equals_mocov3s(grid, dim):
  want = np.load(FIXTURE)[f"grid{grid}_dim{dim}"]
  got = np.asarray(sincos_position_embedding(grid, grid, dim)).reshape(grid * grid, dim)
  np.testing.assert_allclose(got, want, atol=1e-6)


def test_a_sincos_vit_has_no_position_parameter_and_heads_can_be_set():
  module = build_backbone({"name": "vit_small16", "num_heads": 12, "pos_embed": "sincos"})
  assert module.heads == 12
  micro = VisionTransformer(patch=4, dim=8, depth=1, heads=2, pos_embed="sincos")
  params = micro.init(jax.random.key(0), jnp.zeros((1, 1, 8, 8, 3)), train=False)["params"]
  assert "pos_embed" not in params


def _adamw(**extra):
  return ml_collections.ConfigDict({"name": "adamw", "weight_decay": 0.1, "momentum": 0.9,
                                    "exclude_bias_and_norm": False, **extra})


def test_a_frozen_patch_projection_takes_no_update_and_no_decay():
  micro = VisionTransformer(patch=4, dim=8, depth=1, heads=2)
  params = micro.init(jax.random.key(0), jnp.zeros((1, 1, 8, 8, 3)), train=False)["params"]
  tx = make_optimizer(_adamw(), 1e-2, frozen_modules=("patch_embed",))
  grads = jax.tree.map(jnp.ones_like, params)
  state = tx.init(params)
  for _ in range(3):
    updates, state = tx.update(grads, state, params)
    params_new = optax.apply_updates(params, updates)
  for name, leaf in params_new["patch_embed"].items():
    np.testing.assert_array_equal(np.asarray(leaf), np.asarray(params["patch_embed"][name]))
  assert not np.allclose(np.asarray(params_new["cls_token"]), np.asarray(params["cls_token"]))


def test_freezing_a_module_the_model_lacks_is_refused():
  tx = make_optimizer(_adamw(), 1e-2, frozen_modules=("patch_embed",))
  with pytest.raises(ConfigError, match="applies to ViTs"):
    tx.init({"backbone": {"conv1": {"kernel": jnp.ones((3, 3))}}})


def test_layer_decay_scales_equal_maes_param_groups():
  """tests/official/vit_lr_decay_generate.py: MAE's ``param_groups_lrd`` on
  timm's ViT; ours on the same architecture, named as timm names it."""
  import json  # pylint: disable=g-import-not-at-top
  from ssl_jax.models import timm_names  # pylint: disable=g-import-not-at-top
  from ssl_jax.train.optim import layer_decay_scales  # pylint: disable=g-import-not-at-top
  with open(os.path.join(os.path.dirname(FIXTURE), "mae_lr_decay.json")) as f:
    fixture = json.load(f)
  micro = VisionTransformer(patch=4, dim=8, depth=3, heads=2)
  params = micro.init(jax.random.key(0), jnp.zeros((1, 1, 8, 8, 3)), train=False)["params"]
  scales = layer_decay_scales(params, fixture["layer_decay"])
  filled = jax.tree.map(lambda p, s: np.full(p.shape, s, np.float32), params, scales)
  got = {name: float(np.unique(v)[0]) for name, v in timm_names.to_timm(filled).items()}
  assert got.keys() == fixture["lr_scale"].keys()
  for name, want in fixture["lr_scale"].items():
    assert got[name] == pytest.approx(want, rel=1e-6), name
  # Weight decay: off the 1-d tensors and timm's no_weight_decay() names
  # (position table, CLS token), as fine-tuning's optimiser masks it.
  from ssl_jax.train.optim import _mask_or_all  # pylint: disable=g-import-not-at-top
  config = ml_collections.ConfigDict({"exclude_bias_and_norm": True,
                                      "layer_decay": fixture["layer_decay"]})
  mask = jax.tree.map(lambda p, m: np.full(p.shape, m, np.float32), params,
                      _mask_or_all(config)(params))
  decayed = {name: bool(np.unique(v)[0]) for name, v in timm_names.to_timm(mask).items()}
  assert decayed == {name: wd > 0 for name, wd in fixture["weight_decays"].items()}


def test_layer_decay_scales_the_backbones_updates_and_leaves_the_heads():
  micro = VisionTransformer(patch=4, dim=8, depth=2, heads=2)
  vit = micro.init(jax.random.key(0), jnp.zeros((1, 1, 8, 8, 3)), train=False)["params"]
  params = {"backbone": vit, "head": {"kernel": jnp.ones((8, 3))}}
  config = ml_collections.ConfigDict({"name": "sgd", "weight_decay": 0.0, "momentum": 0.0,
                                      "exclude_bias_and_norm": True})
  tx = make_optimizer(config, 1.0, layer_decay=0.5)
  grads = jax.tree.map(jnp.ones_like, params)
  updates, _ = tx.update(grads, tx.init(params), params)
  assert float(updates["head"]["kernel"][0, 0]) == -1.0
  assert float(updates["backbone"]["norm"]["scale"][0]) == -1.0
  assert float(updates["backbone"]["block2"]["qkv"]["kernel"][0, 0]) == -0.5
  assert float(updates["backbone"]["patch_embed"]["kernel"].ravel()[0]) == -0.125


def test_fine_tuning_decays_only_the_backbones_rates():
  """linear_eval's optimiser pair with ``optim.layer_decay``: the classifier
  at the full rate, the ViT's blocks scaled."""
  from ssl_jax.jobs.linear_eval import make_optimizer_pair  # pylint: disable=g-import-not-at-top
  micro = VisionTransformer(patch=4, dim=8, depth=2, heads=2)
  vit = micro.init(jax.random.key(0), jnp.zeros((1, 1, 8, 8, 3)), train=False)["params"]
  params = {"backbone": vit, "head": {"kernel": jnp.ones((8, 3))}}
  config = ml_collections.ConfigDict({
      "name": "sgd", "base_lr": 1.0, "backbone_base_lr": 1.0, "weight_decay": 0.0,
      "momentum": 0.0, "exclude_bias_and_norm": True, "schedule": "multistep",
      "milestones": (), "gamma": 0.1, "warmup_epochs": 0.0, "end_lr_ratio": 0.0,
      "layer_decay": 0.5})
  tx, _, frozen = make_optimizer_pair(config, 256, 10, 100)
  assert not frozen
  grads = jax.tree.map(jnp.ones_like, params)
  updates, _ = tx.update(grads, tx.init(params), params)
  assert float(updates["head"]["kernel"][0, 0]) == -1.0
  assert float(updates["backbone"]["block1"]["fc1"]["kernel"][0, 0]) == -0.25


def test_fine_tuning_a_vit_uses_its_stochastic_depth():
  """The classifier step gives the backbone keys when fine-tuning: with a
  drop-path rate the step's features depend on the step (its key), without
  one they do not."""
  from ssl_jax.jobs.linear_eval import ClassifierState, make_classifier_step  # pylint: disable=g-import-not-at-top
  from ssl_jax.models.inputs import Normalization  # pylint: disable=g-import-not-at-top
  losses = {}
  for rate in (0.0, 0.5):
    vit = VisionTransformer(patch=4, dim=8, depth=2, heads=2, drop_path_rate=rate)
    variables = vit.init(jax.random.key(0), jnp.zeros((1, 1, 8, 8, 3)), train=False)
    params = {"backbone": variables["params"],
              "head": {"kernel": jax.random.normal(jax.random.key(2), (8, 3)),
                       "bias": jnp.zeros(3)}}
    tx = optax.set_to_zero()
    step = jax.jit(make_classifier_step(vit, Normalization((0.5,) * 3, (0.25,) * 3), tx,
                                        lambda s: 0.0, frozen=False))
    images = jax.random.randint(jax.random.key(1), (8, 8, 8, 3), 0, 256).astype(jnp.uint8)
    batch = {"views": (images,), "label": jnp.zeros(8, jnp.int32)}
    losses[rate] = [float(step(ClassifierState(jnp.asarray(s, jnp.int32), params, {},
                                               tx.init(params)), batch)[1]["loss"])
                    for s in (0, 1)]
  assert losses[0.0][0] == losses[0.0][1]
  assert losses[0.5][0] != losses[0.5][1]
