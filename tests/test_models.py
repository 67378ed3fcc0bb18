"""ResNets and heads: torchvision shapes, per-view BatchNorm semantics."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from ssl_jax.models import (HeadSpec, MLPSpec, PrototypeSpec, Prototypes, ResNet, ResNet10,
                            ResNet18, ResNet50, SSLModel)
from ssl_jax.models import batch_axes
from ssl_jax.models.resnet import BasicBlock, BottleneckBlock
from ssl_jax.models.batchnorm import BatchNorm


def _num_params(tree):
  return sum(x.size for x in jax.tree.leaves(tree))


@pytest.mark.parametrize("ctor,want", [(ResNet18, 11_176_512), (ResNet50, 23_508_032)])
def test_parameter_counts_match_torchvision_without_fc(ctor, want):
  shapes = jax.eval_shape(lambda: ctor().init(jax.random.key(0),
                                                jnp.zeros((1, 1, 64, 64, 3))))
  assert _num_params(shapes["params"]) == want


@pytest.mark.parametrize("ctor,blocks", [(ResNet18, 2), (ResNet10, 1)])
@pytest.mark.parametrize("stem,size,want_spatial", [("imagenet", 64, 2), ("cifar", 32, 4)])
def test_stems_downsample_like_the_references(ctor, blocks, stem, size, want_spatial):
  model = ctor(width=0.0625, stem=stem)
  x = jnp.zeros((1, 2, size, size, 3))
  variables = jax.eval_shape(lambda: model.init(jax.random.key(0), x))
  # The final feature map is want_spatial^2: capture it through the last block.
  feats, inter = jax.eval_shape(lambda v: model.apply(
      v, x, train=False, capture_intermediates=True), variables)
  assert feats.shape == (1, 2, 32)  # 4 * 2^3 channels at 1/16 width
  stages = inter["intermediates"]
  assert {f"stage{i}_block{blocks}" for i in range(1, 5)} <= set(stages)
  assert not any(f"block{blocks + 1}" in name for name in stages)  # blocks per stage
  last = stages[f"stage4_block{blocks}"]["__call__"][0]
  assert last.shape[2:4] == (want_spatial, want_spatial)
  with pytest.raises(ValueError, match=r"a ResNet takes \[G, N, H, W, 3\], got shape"):
    model.apply(variables, x[0], train=False)  # one batch axis: no view axis to keep apart


def _two_view_model(seed):
  """A tiny ResNet with a BatchNorm projector, 2 views of 6 images, its variables."""
  model = SSLModel(ResNet(stage_sizes=(1, 1), block=BasicBlock, width=0.0625, stem="cifar"),
                   HeadSpec(MLPSpec(16, 8, 2)))
  rng = np.random.default_rng(seed)
  views = jnp.asarray(rng.normal(size=(2, 6, 16, 16, 3)), jnp.float32)
  return model, views, jax.jit(model.init)(jax.random.key(0), views)


def test_grouped_forward_equals_separate_forwards():
  """[G, N] views in one pass == G separate passes (per-view statistics)."""
  model, views, variables = _two_view_model(0)
  apply = jax.jit(lambda v, x: model.apply(v, x, mutable=["batch_stats"])[0])
  joint = apply(variables, views)
  for g in range(2):
    alone = apply(variables, views[g:g + 1])
    for key in ("features", "projection"):
      np.testing.assert_allclose(np.asarray(joint[key][g]), np.asarray(alone[key][0]),
                                 rtol=1e-4, atol=1e-5)


def test_bn_pooling_pools_the_statistics_of_the_layers_it_names():
  """"heads" (W-MSE's reference): backbone per view, head on the
  concatenated views; "all" (SwAV): the whole model on them."""
  model, views, variables = _two_view_model(1)
  run = lambda pooling: model.apply(variables, views, bn_pooling=pooling,
                                    mutable=["batch_stats"])[0]
  pooled, per_view = jax.jit(lambda: (run("heads"), run("per_view")))()
  features = per_view["features"]
  np.testing.assert_allclose(np.asarray(pooled["features"]), np.asarray(features),
                             rtol=1e-5, atol=1e-6)
  head = model.apply(variables, features.reshape(1, 12, -1),
                     method=lambda m, h: m.projector(h, True), mutable=["batch_stats"])[0]
  np.testing.assert_allclose(np.asarray(pooled["projection"]),
                             np.asarray(head.reshape(2, 6, -1)), rtol=1e-4, atol=1e-5)
  assert not np.allclose(np.asarray(pooled["projection"]),
                         np.asarray(per_view["projection"]), atol=1e-3)
  everything = jax.jit(lambda: run("all"))()
  one_batch = model.apply(variables, views.reshape((1, 12) + views.shape[2:]),
                          mutable=["batch_stats"])[0]
  for key in ("features", "projection"):
    np.testing.assert_allclose(np.asarray(everything[key]),
                               np.asarray(one_batch[key]).reshape(2, 6, -1),
                               rtol=1e-4, atol=1e-5)
  assert not np.allclose(np.asarray(everything["features"]), np.asarray(features), atol=1e-3)
  with pytest.raises(ValueError, match="bn_pooling must be one of"):
    run("views")


def test_batchnorm_matches_pytorch_semantics():
  rng = np.random.default_rng(1)
  x = rng.normal(2.0, 3.0, size=(2, 10, 4)).astype(np.float32)
  bn = BatchNorm()
  variables = bn.init(jax.random.key(0), x, train=True)
  y, mutated = bn.apply(variables, x, train=True, mutable=["batch_stats"])
  for g in range(2):  # biased variance for normalisation, per group
    want = (x[g] - x[g].mean(0)) / np.sqrt(x[g].var(0) + 1e-5)
    np.testing.assert_allclose(np.asarray(y[g]), want, rtol=1e-4, atol=1e-4)
  # Running stats: momentum 0.1 (PyTorch) toward each group's mean and
  # *unbiased* variance, group after group, as two PyTorch calls would.
  mean, var = np.zeros(4), np.ones(4)
  for g in range(2):
    mean = 0.9 * mean + 0.1 * x[g].mean(0)
    var = 0.9 * var + 0.1 * x[g].var(0, ddof=1)
  want_mean, want_var = mean.astype(np.float32), var.astype(np.float32)
  stats = mutated["batch_stats"]
  np.testing.assert_allclose(np.asarray(stats["mean"]), want_mean, rtol=1e-5)
  np.testing.assert_allclose(np.asarray(stats["var"]), want_var, rtol=1e-5)
  # Inference uses the running statistics.
  y_eval = bn.apply({**variables, "batch_stats": stats}, x, train=False)
  np.testing.assert_allclose(np.asarray(y_eval),
                             (x - want_mean) / np.sqrt(want_var + 1e-5), rtol=1e-4, atol=1e-4)
  # group_axis=1: the same on [N, G, C], the ResNet's example-major layout.
  y_t, mutated_t = BatchNorm(group_axis=1).apply(variables, x.swapaxes(0, 1), train=True,
                                                 mutable=["batch_stats"])
  np.testing.assert_allclose(np.asarray(y_t).swapaxes(0, 1), np.asarray(y), rtol=1e-6, atol=1e-6)
  for key in ("mean", "var"):
    np.testing.assert_allclose(np.asarray(mutated_t["batch_stats"][key]),
                               np.asarray(stats[key]), rtol=1e-6)


def test_batch_axes_merge_example_major_and_split_back():
  """[G, N, ...] -> [N * G, ...] keeps each example's views together, so a
  split of N over devices stays a split of the merged axis."""
  x = jnp.arange(2 * 3 * 4).reshape(2, 3, 4)
  merged = batch_axes.merge(x, 2)
  np.testing.assert_array_equal(np.asarray(merged[:2]), np.asarray(x[:, 0]))
  np.testing.assert_array_equal(np.asarray(batch_axes.split(merged, (2, 3))), np.asarray(x))
  np.testing.assert_array_equal(np.asarray(batch_axes.split(batch_axes.merge(x[0], 1), (3,))),
                                np.asarray(x[0]))


def test_intl_projector_layout():
  """Linear(no bias) -> BN -> ReLU, twice, then Linear with bias (INTL E.2)."""
  model = SSLModel(ResNet18(width=0.0625), HeadSpec(MLPSpec(64, 32, 3)))
  params = jax.eval_shape(model.init, jax.random.key(0),
                          jnp.zeros((1, 2, 32, 32, 3)))["params"]
  proj = jax.tree.map(jnp.shape, params["projector"])
  assert proj == {"linear1": {"kernel": (32, 64)}, "bn1": {"scale": (64,), "bias": (64,)},
                  "linear2": {"kernel": (64, 64)}, "bn2": {"scale": (64,), "bias": (64,)},
                  "linear3": {"kernel": (64, 32), "bias": (32,)}}


@pytest.mark.parametrize("flags,last,bn", [
    ({}, {"kernel": (64, 32), "bias": (32,)}, None),
    ({"last_bn": True}, {"kernel": (64, 32)}, {"scale": (32,), "bias": (32,)}),
    ({"last_bn": True, "last_bias": False}, {"kernel": (64, 32)}, {"scale": (32,)}),
    ({"last_bn": True, "last_bn_affine": False}, {"kernel": (64, 32)}, None)])
def test_last_layer_options(flags, last, bn):
  """After a last BN: scale and shift (MIO), scale only with last_bias=False
  (SimCLR's center=False), neither without affine (SimSiam, MoCo v3)."""
  model = SSLModel(ResNet18(width=0.0625), HeadSpec(MLPSpec(64, 32, 2, **flags)))
  params = jax.eval_shape(model.init, jax.random.key(0),
                          jnp.zeros((1, 2, 32, 32, 3)))["params"]
  proj = jax.tree.map(jnp.shape, params["projector"])
  assert proj["linear2"] == last and proj.get("bn2") == bn


def test_bfloat16_compute_keeps_float32_params_and_outputs():
  model = SSLModel(ResNet(stage_sizes=(1, 1), block=BasicBlock, width=0.0625,
                          dtype=jnp.bfloat16),
                   HeadSpec(MLPSpec(16, 8, 2)), dtype=jnp.bfloat16)
  x = jnp.ones((1, 2, 16, 16, 3))
  variables = jax.jit(model.init)(jax.random.key(0), x)
  assert all(p.dtype == jnp.float32 for p in jax.tree.leaves(variables["params"]))
  out, _ = jax.jit(lambda v: model.apply(v, x, mutable=["batch_stats"]))(variables)
  assert out["projection"].dtype == jnp.float32
  assert np.all(np.isfinite(np.asarray(out["projection"])))


@pytest.mark.parametrize("block, last", [(BasicBlock, "BatchNorm_1"),
                                         (BottleneckBlock, "BatchNorm_2")])
def test_zero_init_residual_starts_each_branch_at_zero(block, last):
  """torchvision's zero_init_residual: the last BatchNorm scale of every
  residual branch is 0, every other scale 1."""
  for zero in (True, False):
    net = ResNet(stage_sizes=(1, 1), block=block, width=1 / 16, stem="cifar",
                 zero_init_residual=zero)
    params = net.init(jax.random.key(0), jnp.zeros((1, 1, 8, 8, 3)))["params"]
    for stage in ("stage1_block1", "stage2_block1"):
      for name, layer in params[stage].items():
        if name.startswith("BatchNorm"):
          want = 0.0 if (zero and name == last) else 1.0
          np.testing.assert_array_equal(np.asarray(layer["scale"]), want)


def test_prototypes_start_as_torch_linear_of_the_embedding_width():
  """Linear(D, K).weight ~ U(±1/sqrt(D)), stored [K, D]: the fan-in is D, not K
  (the norm of weight-normalised prototypes sets how fast they turn)."""
  k, d = 3000, 16
  w = Prototypes(PrototypeSpec(k)).init(jax.random.key(0), jnp.ones((1, 2, d)))["params"]
  w = np.asarray(w["kernel"])
  assert w.shape == (k, d)
  assert 0.99 / np.sqrt(d) < np.abs(w).max() <= 1 / np.sqrt(d)
