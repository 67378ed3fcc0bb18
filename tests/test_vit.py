"""Vision Transformer backbones: sizes and names as timm's, features as DINO's,
stochastic depth, and training with parameters sliced over 8 devices."""
import dataclasses
import os

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from ssl_jax import sharding
from ssl_jax.data import pipeline
from ssl_jax.kernels.schedules import warmup_cosine
from ssl_jax.methods import build_method
from ssl_jax.models import BACKBONES, HeadSpec, SSLModel, build_backbone, timm_names
from ssl_jax.models.vit import DropPath, VisionTransformer, resize_position_embedding
from ssl_jax.registry import ConfigError
from ssl_jax.train.augment import ViewAugmenter
from ssl_jax.train.optim import make_optimizer
from ssl_jax.train.state import init_train_state
from ssl_jax.train.step import Schedules, encode_views, make_train_step
from tests import helpers
from tests.official import vit_weights

# timm 1.0.31: sum(p.numel() for p in timm.create_model(NAME, num_classes=0).parameters()).
TIMM_PARAMETERS = {
    "vit_tiny16": ("vit_tiny_patch16_224", 5_524_416),
    "vit_small16": ("vit_small_patch16_224", 21_665_664),
    "vit_small8": ("vit_small_patch8_224", 21_670_272),
    "vit_base16": ("vit_base_patch16_224", 85_798_656),
    "vit_base8": ("vit_base_patch8_224", 85_807_872),
    "vit_large16": ("vit_large_patch16_224", 303_301_632),
}


def _count(module, size=224):
  shapes = jax.eval_shape(lambda: module.init(jax.random.key(0),
                                               jnp.zeros((1, 1, size, size, 3)), train=False))
  return sum(int(np.prod(x.shape)) for x in jax.tree.leaves(shapes["params"]))


@pytest.mark.parametrize("name", sorted(TIMM_PARAMETERS))
def test_parameter_counts_equal_timms(name):
  assert _count(build_backbone({"name": name})) == TIMM_PARAMETERS[name][1]


def test_registers_and_layerscale_add_their_own_parameters_only():
  # LayerScale: two gains of D per block (timm's init_values adds the same).
  # Registers: R x D and no position embedding (DINOv2 adds them after the
  # positions; timm's reg_tokens with its default no_embed_class=False
  # gives them positions, 21,677,952 here).
  module = build_backbone({"name": "vit_small16", "registers": 4, "layerscale": 1e-5})
  assert _count(module) == TIMM_PARAMETERS["vit_small16"][1] + 4 * 384 + 2 * 12 * 384


def test_position_embeddings_resize_as_dinos_interpolate_pos_encoding():
  torch = pytest.importorskip("torch")
  grid = np.random.default_rng(0).normal(size=(14, 14, 5))
  for new in (6, 14, 28, 3):
    got = np.asarray(resize_position_embedding(jnp.asarray(grid, jnp.float32), new, new))
    if new == 14:  # DINO returns the embeddings as they are at the base grid
      np.testing.assert_array_equal(got, grid.astype(np.float32))
      continue
    want = torch.nn.functional.interpolate(
        torch.tensor(grid).permute(2, 0, 1)[None], mode="bicubic",
        scale_factor=((new + 0.1) / 14, (new + 0.1) / 14))[0].permute(1, 2, 0).numpy()
    assert want.shape == (new, new, 5)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


def _micro(**kw):
  return VisionTransformer(**{"patch": 8, "dim": 32, "depth": 2, "heads": 2, **kw})


def test_views_of_any_size_give_one_feature_per_view():
  vit = _micro(registers=2)
  x = jax.random.uniform(jax.random.key(0), (2, 3, 16, 16, 3))
  variables = vit.init(jax.random.key(1), x, train=False)
  assert vit.apply(variables, x, train=False).shape == (2, 3, 32)
  # 12 px: one 8 px patch, the remainder dropped (DINO's strided convolution).
  np.testing.assert_array_equal(vit.apply(variables, x[:, :, :12, :12], train=False),
                                vit.apply(variables, x[:, :, :8, :8], train=False))
  assert _micro(pool="cls_mean").apply(variables, x, train=False).shape == (2, 3, 64)


def test_stochastic_depth_needs_a_key_and_only_trains():
  ones = jnp.ones((64, 3, 4))
  drop = DropPath(0.5)
  dropped = np.asarray(drop.apply({}, ones, True, rngs={"dropout": jax.random.key(0)}))
  per_example = dropped.reshape(64, -1)
  assert set(np.unique(per_example)) == {0.0, 2.0}  # whole examples, kept ones scaled
  assert np.all(per_example.min(1) == per_example.max(1)) and 16 < (per_example[:, 0] == 0).sum() < 48
  np.testing.assert_array_equal(drop.apply({}, ones, True), ones)  # no key: a teacher's pass
  np.testing.assert_array_equal(drop.apply({}, ones, False, rngs={"dropout": jax.random.key(0)}),
                                ones)
  vit = _micro(drop_path_rate=0.5, layerscale=0.1)
  x = jax.random.uniform(jax.random.key(0), (1, 8, 16, 16, 3))
  variables = vit.init(jax.random.key(1), x, train=False)
  assert float(variables["params"]["block1"]["ls1"][0]) == pytest.approx(0.1)
  evaluated = vit.apply(variables, x, train=False)
  np.testing.assert_array_equal(vit.apply(variables, x, train=True), evaluated)
  trained = vit.apply(variables, x, train=True, rngs={"dropout": jax.random.key(3)})
  assert not np.allclose(trained, evaluated)
  # The step's forward passes hand the key on (the online one; a teacher none).
  model = SSLModel(vit, HeadSpec())
  encode = lambda rng: encode_views(model, {"backbone": variables["params"]}, {}, [x[0]],
                                    rng=rng)[0]["features"]
  np.testing.assert_array_equal(encode(None)[0], evaluated[0])
  assert not np.allclose(encode(jax.random.key(3))[0], evaluated[0])


def test_the_other_familys_settings_are_refused():
  with pytest.raises(ConfigError, match="model.stem='cifar' does not apply to vit_small16"):
    build_backbone({"name": "vit_small16", "stem": "cifar"})
  with pytest.raises(ConfigError, match="model.registers=4 does not apply to resnet18"):
    build_backbone({"name": "resnet18", "registers": 4})
  assert {"resnet50", "vit_base16"} <= set(BACKBONES)


def _vit_steps(mesh, shard_params, num_steps=3):
  """SimCLR on the micro ViT with stochastic depth: (state, losses) after
  ``num_steps`` steps, the state replicated or FSDP-sliced over ``mesh``."""
  method = build_method(helpers.OptimConfig(name="simclr", projector=dict(
      hidden_dim=32, out_dim=16, num_layers=2), temperature=0.2), 100, 10)
  model = SSLModel(_micro(drop_path_rate=0.2), method.head)
  schedule = warmup_cosine(0.05, 0, 100)
  tx = make_optimizer(helpers.sgd_config(), schedule)
  view_set = helpers.PLAIN_VIEWS
  step = make_train_step(model, method, tx, Schedules(schedule),
                         ViewAugmenter(view_set, helpers.NORMALIZATION))
  init = lambda rng: init_train_state(rng, model, method, tx, 16)
  where = (sharding.fsdp_shardings(jax.eval_shape(init, jax.random.key(0)), mesh, min_size=1024)
           if shard_params else sharding.replicated(mesh))
  state = jax.jit(init, out_shardings=where)(jax.random.key(0))
  fn = sharding.jit_train_step(step, mesh, state_sharding=where)
  batches = pipeline.train_batches(helpers.tiny_split(), view_set, 16, 0, 0)
  losses = []
  for _ in range(num_steps):
    state, metrics = fn(state, sharding.to_global(next(batches), mesh), jax.random.key(1))
    losses.append(float(metrics["loss"]))
  return state, losses


def test_a_vit_trains_alike_on_one_device_and_sliced_over_eight():
  one, losses = _vit_steps(sharding.make_mesh(jax.devices()[:1]), shard_params=False)
  sliced, sliced_losses = _vit_steps(sharding.make_mesh(), shard_params=True)
  assert all(np.isfinite(losses)) and losses[-1] != losses[0]
  np.testing.assert_allclose(sliced_losses, losses, rtol=1e-4)
  helpers.assert_trees_close(sliced.params, one.params)
  kernel = sliced.params["backbone"]["block1"]["fc1"]["kernel"]  # [32, 128]
  assert tuple(kernel.sharding.spec) == (None, sharding.DATA_AXIS)
  assert kernel.addressable_shards[0].data.shape == (32, 16)
  momentum = [x for x in jax.tree.leaves(sliced.opt_state) if getattr(x, "shape", ()) == (32, 128)]
  assert momentum and all(tuple(m.sharding.spec) == (None, sharding.DATA_AXIS) for m in momentum)


def _micro_from_timm_weights():
  """Our micro ViT with the weights vit_weights gives timm's names."""
  vit = VisionTransformer(**vit_weights.MICRO)
  shapes = jax.eval_shape(lambda: vit.init(jax.random.key(0), jnp.zeros((1, 1, 224, 224, 3)),
                                           train=False))["params"]
  names = timm_names.to_timm(jax.tree.map(lambda s: np.zeros(s.shape, np.float32), shapes))
  state = {name: vit_weights.weight(name, value.shape) for name, value in names.items()}
  return vit, state, timm_names.from_timm(state, shapes)


def test_features_equal_dinos_and_timms_vit_with_the_same_weights():
  """tests/official/vit/features.npz: DINO's and timm's ViT in float64 (vit_generate.py)."""
  vit, state, params = _micro_from_timm_weights()
  fixture = np.load(os.path.join(os.path.dirname(__file__), "official", "vit", "features.npz"))
  for size, want in ((224, fixture["dino_224"]), (224, fixture["timm_224"]),
                     (96, fixture["dino_96"])):
    got = vit.apply({"params": params}, jnp.asarray(vit_weights.images(size))[None], train=False)
    np.testing.assert_allclose(np.asarray(got[0]), want, rtol=1e-4, atol=1e-5)
  back = timm_names.to_timm(params)
  assert back.keys() == state.keys()
  for name, value in state.items():
    np.testing.assert_array_equal(back[name], value)


def test_a_vit_travels_in_timms_layout_and_is_read_back_from_other_checkpoints(tmp_path):
  from safetensors.numpy import save_file  # pylint: disable=g-import-not-at-top
  from ssl_jax import backbone as backbones  # pylint: disable=g-import-not-at-top
  shapes = jax.eval_shape(lambda: build_backbone({"name": "vit_tiny16"}).init(
      jax.random.key(0), jnp.zeros((1, 1, 224, 224, 3)), train=False))["params"]
  names = timm_names.to_timm(jax.tree.map(lambda s: np.zeros(s.shape, np.float32), shapes))
  state = {name: vit_weights.weight(name, value.shape) for name, value in names.items()}
  params = timm_names.from_timm(state, shapes)
  exported = backbones.Backbone(model={"name": "vit_tiny16"}, variables={
      "params": params, "batch_stats": {}}, mean=(0.5,) * 3, std=(0.25,) * 3, image_size=224)
  backbones.save(exported, str(tmp_path / "vit.safetensors"))
  save_file({**{f"module.backbone.{k}": v for k, v in state.items()},
             "module.head.weight": np.zeros((4, 192), np.float32)},
            str(tmp_path / "dino.safetensors"))
  images = (vit_weights.images(224) * 60 + 128).clip(0, 255).astype(np.uint8)
  want = np.asarray(exported.features(images))
  loaded = {name: backbones.load_backbone(str(tmp_path / f"{name}.safetensors"))
            for name in ("vit", "dino")}
  for backbone in loaded.values():
    assert backbone.model["name"] == "vit_tiny16"
    for a, b in zip(jax.tree.leaves(backbone.variables["params"]), jax.tree.leaves(params)):
      np.testing.assert_array_equal(np.asarray(a), b)
  np.testing.assert_array_equal(np.asarray(loaded["vit"].features(images)), want)
  assert loaded["dino"].mean == (0.485, 0.456, 0.406)  # weights alone: ImageNet's
  # No position for the CLS token (timm's no_embed_class): refused, not misread.
  with pytest.raises(ValueError, match=r"pos_embed of shape \(1, 196, 192\) does not fit"):
    timm_names.from_timm({**state, "pos_embed": state["pos_embed"][:, 1:]}, shapes)


@pytest.mark.parametrize("kind", ["sincos", "sincos_mae"])
def test_a_fixed_table_vit_exports_its_table_as_timms_position_embeddings(kind, tmp_path):
  """timm has no fixed tables: the file carries the table as ``pos_embed``,
  so a learned-embedding ViT (timm's layout) loading it computes the same
  features at the exported resolution; ssl_jax reads the file back as the
  fixed-table ViT it was."""
  from safetensors.numpy import load_file  # pylint: disable=g-import-not-at-top
  from ssl_jax import backbone as backbones  # pylint: disable=g-import-not-at-top
  model = {"name": "vit_tiny16", "pos_embed": kind}
  x = jax.random.normal(jax.random.key(1), (1, 1, 224, 224, 3))
  variables = build_backbone(model).init(jax.random.key(0), x, train=False)
  exported = backbones.Backbone(model=model, variables={**variables, "batch_stats": {}},
                                mean=(0.5,) * 3, std=(0.25,) * 3, image_size=224)
  backbones.save(exported, str(tmp_path / "vit.safetensors"))
  state = load_file(str(tmp_path / "vit.safetensors"))
  assert state["pos_embed"].shape == (1, 1 + 14 * 14, 192) and not state["pos_embed"][0, 0].any()
  learned = build_backbone({"name": "vit_tiny16"})
  shapes = jax.eval_shape(lambda: learned.init(jax.random.key(0), x, train=False))["params"]
  as_learned = timm_names.from_timm(state, shapes)
  np.testing.assert_allclose(np.asarray(learned.apply({"params": as_learned}, x, train=False)),
                             np.asarray(build_backbone(model).apply(variables, x, train=False)),
                             rtol=1e-5, atol=1e-5)
  back = backbones.load_backbone(str(tmp_path / "vit.safetensors"))
  assert back.model["pos_embed"] == kind
  for a, b in zip(jax.tree.leaves(back.variables["params"]), jax.tree.leaves(variables["params"])):
    np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


def _torch_conv_stem(state, images):
  """The convolutional stem from its exported tensors, in plain torch:
  3x3/2 convolutions, LayerNorm over channels and exact GELU, then the 1x1
  projection; [N, H, W, 3] -> [N, H/p, W/p, D]."""
  import torch  # pylint: disable=g-import-not-at-top
  import torch.nn.functional as F  # pylint: disable=g-import-not-at-top
  t = lambda name: torch.from_numpy(np.asarray(state[f"patch_embed.{name}"], np.float64))
  x = torch.from_numpy(np.asarray(images, np.float64)).permute(0, 3, 1, 2)
  layer = 1
  while f"patch_embed.conv{layer}.weight" in state:
    x = F.conv2d(x, t(f"conv{layer}.weight"), stride=2, padding=1).permute(0, 2, 3, 1)
    x = F.layer_norm(x, x.shape[-1:], t(f"norm{layer}.weight"), t(f"norm{layer}.bias"), 1e-6)
    x = F.gelu(x).permute(0, 3, 1, 2)
    layer += 1
  x = F.conv2d(x, t("proj.weight"), t("proj.bias"))
  return x.permute(0, 2, 3, 1).numpy()


def test_a_convolutional_stem_equals_its_torch_layers_and_travels_in_the_file(tmp_path):
  from safetensors.numpy import load_file, save_file  # pylint: disable=g-import-not-at-top
  from ssl_jax import backbone as backbones  # pylint: disable=g-import-not-at-top
  from ssl_jax.models.vit import ConvStem  # pylint: disable=g-import-not-at-top
  model = {"name": "vit_tiny4", "patch_stem": "conv"}
  x = jax.random.normal(jax.random.key(1), (2, 1, 24, 24, 3))
  variables = build_backbone(model).init(jax.random.key(0), x, train=False)
  # Norm gains and biases away from 1 and 0, so a misplaced one shows.
  params = jax.tree.map(lambda v: v + 0.3 * jax.random.normal(jax.random.key(v.size), v.shape),
                        variables["params"])
  assert sorted(params["patch_embed"]) == ["conv1", "conv2", "norm1", "norm2", "proj"]
  exported = backbones.Backbone(model=model, variables={"params": params, "batch_stats": {}},
                                mean=(0.5,) * 3, std=(0.25,) * 3, image_size=24)
  backbones.save(exported, str(tmp_path / "vit.safetensors"))
  state = load_file(str(tmp_path / "vit.safetensors"))
  assert state["patch_embed.conv2.weight"].shape == (96, 48, 3, 3)
  ours = ConvStem(4, 192).apply({"params": params["patch_embed"]}, x[:, 0])
  assert ours.shape == (2, 6, 6, 192)
  np.testing.assert_allclose(np.asarray(ours), _torch_conv_stem(state, x[:, 0]),
                             rtol=1e-4, atol=1e-5)
  # Read back with its metadata, and from the weights alone (no metadata).
  save_file(state, str(tmp_path / "bare.safetensors"))
  for name in ("vit", "bare"):
    back = backbones.load_backbone(str(tmp_path / f"{name}.safetensors"))
    assert back.model["name"] == "vit_tiny4" and back.model["patch_stem"] == "conv"
    for a, b in zip(jax.tree.leaves(back.variables["params"]), jax.tree.leaves(params)):
      np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


def test_a_convolutional_stem_refuses_what_it_cannot_embed():
  x = jnp.zeros((1, 1, 24, 24, 3))
  with pytest.raises(ValueError, match="unknown patch_stem 'convs'"):
    build_backbone({"name": "vit_tiny4", "patch_stem": "convs"}).init(jax.random.key(0), x)
  with pytest.raises(ValueError, match="power of 2 above 1, got 6"):
    VisionTransformer(patch=6, dim=8, depth=1, heads=2, patch_stem="conv").init(
        jax.random.key(0), x)
  # MAE's encoder sees a subset of patches: a stem that mixes neighbours
  # would show it the removed ones.
  vit = build_backbone({"name": "vit_tiny4", "patch_stem": "conv"})
  with pytest.raises(ValueError, match="MAE's masking needs each patch embedded on its own"):
    vit.init(jax.random.key(0), x, noise=jnp.zeros((1, 1, 36)), keep=9)
