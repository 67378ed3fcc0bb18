"""iBOT's parts: the masked ViT input, the patch term, what the step hands
the method (its one- and three-step equality with main_ibot.py is in
tests/test_official_steps.py, its masks in tests/test_block_masking.py)."""
import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import pytest

from ssl_jax import kernels
from ssl_jax.methods import build_method
from ssl_jax.models import SSLModel, VisionTransformer
from ssl_jax.models.timm_names import to_timm
from ssl_jax.registry import ConfigError
from ssl_jax.train.step import encode_views
from tests.method_configs import TINY

VIT = dict(patch=4, dim=16, depth=1, heads=2)


def _method(**kw):
  return build_method(ml_collections.ConfigDict({"name": "ibot", **TINY["ibot"], **kw}),
                      total_steps=10)


def test_the_patch_term_is_the_masked_mean_per_crop_then_the_mean_over_crops():
  rng = np.random.default_rng(0)
  s, t = rng.normal(size=(2, 3, 5, 7)), rng.normal(size=(2, 3, 5, 7))
  mask = (rng.uniform(size=(2, 3, 5)) < 0.4).astype(np.float32)
  mask[1, 2] = 0  # a crop with nothing masked: 0, and still one of the six
  center = rng.normal(size=7)
  want = []
  for v in range(2):
    for i in range(3):
      p = np.exp((t[v, i] - center) / 0.07)
      p /= p.sum(-1, keepdims=True)
      logq = s[v, i] / 0.1 - np.log(np.exp(s[v, i] / 0.1).sum(-1, keepdims=True))
      ce = -(p * logq).sum(-1)
      want.append((ce * mask[v, i]).sum() / max(mask[v, i].sum(), 1.0))
  got = kernels.ibot_patch_loss(s, t, mask, center, 0.1, 0.07)
  np.testing.assert_allclose(float(got), np.mean(want), rtol=1e-5)
  c = kernels.ibot_patch_center_update(center, t, 0.9)
  np.testing.assert_allclose(c, 0.9 * center + 0.1 * t.reshape(-1, 7).mean(0), rtol=1e-5)


def test_masked_patches_see_the_mask_token_only():
  """Pixels under the mask do not reach the output; pixels elsewhere do."""
  vit = VisionTransformer(**VIT)
  x = jax.random.normal(jax.random.key(0), (1, 2, 16, 16, 3))
  mask = jnp.zeros((1, 2, 4, 4), bool).at[:, :, 1:3, 0:2].set(True)
  params = vit.init(jax.random.key(1), x, train=False, patch_mask=mask)
  assert params["params"]["mask_token"].shape == (1, 16)
  out = vit.apply(params, x, train=False, patch_mask=mask)
  assert out["tokens"].shape == (1, 2, 16, 16) and out["cls"].shape == (1, 2, 16)
  under = x.at[:, :, 4:12, 0:8].add(1.0)  # rows 1-2, columns 0-1 of the grid
  beside = x.at[:, :, 0:4, 12:16].add(1.0)
  same = vit.apply(params, under, train=False, patch_mask=mask)
  np.testing.assert_allclose(same["tokens"], out["tokens"], atol=1e-6)
  assert not np.allclose(vit.apply(params, beside, train=False, patch_mask=mask)["cls"],
                         out["cls"], atol=1e-4)
  # The mask token is an input of pretraining, not part of the backbone.
  assert "mask_token" not in to_timm(params["params"])


def test_the_step_masks_the_global_crops_and_scores_their_patches():
  method = _method()
  model = SSLModel(VisionTransformer(**VIT), method.head)
  views = [jnp.ones((4, 16, 16, 3)) * i for i in range(2)] + [jnp.ones((4, 8, 8, 3))] * 2
  variables = model.init(jax.random.key(0), jnp.stack(views[:2]), train=True)
  masked = method.masked_views(2)
  online, _ = encode_views(model, variables["params"], {}, views, masked=masked,
                           rng=jax.random.key(1))
  assert online["logits"].shape == (4, 4, 20)
  assert online["patch_logits"].shape == (2, 4, 16, 20)  # the global crops only
  assert online["mask"].shape == (2, 4, 16)
  teacher, _ = encode_views(model, variables["params"], {}, views[:2],
                            method=type(model).project)
  assert teacher["patch_logits"].shape == (2, 4, 16, 20) and "mask" not in teacher


@pytest.mark.parametrize("kw, message", [
    (dict(projector=dict(hidden_dim=32, out_dim=16, num_layers=3)), "no BatchNorm"),
    (dict(pred_ratio=(0.3,), pred_ratio_var=(0.5,)), "0 <= v <= r"),
    (dict(patch_weight=-1.0), "patch_weight"),
])
def test_bad_ibot_settings_are_one_line_config_errors(kw, message):
  with pytest.raises(ConfigError, match=message):
    _method(**kw)


def test_ibot_needs_a_vit():
  from ssl_jax.models import build_model  # pylint: disable=g-import-not-at-top
  with pytest.raises(ValueError, match="needs a ViT backbone"):
    build_model({"name": "resnet18"}, _method().head).init(
        jax.random.key(0), jnp.zeros((1, 1, 16, 16, 3)))


@pytest.mark.parametrize("method", ["ibot", "mae"])
def test_a_masked_image_method_on_a_resnet_is_a_config_error(method):
  from configs import quickstart  # pylint: disable=g-import-not-at-top
  from ssl_jax import config_check  # pylint: disable=g-import-not-at-top
  config = quickstart.get_config(method)
  with config.unlocked():
    config.model.name = "resnet18"
    config.model.pos_embed = "learned"
    config.model.pool = "cls"
    config.model.drop_path_rate = 0.0
  with pytest.raises(ConfigError, match=f"must be a ViT for {method}"):
    config_check.validate(config)
