"""MoCo v3's ViT options: the fixed sine-cosine position table against the
official code's (tests/official/vit_sincos_generate.py), the head count
override, and the frozen random patch projection."""
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
