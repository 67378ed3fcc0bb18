"""MAE against the official model (tests/official/mae_generate.py): the
position tables, the mask, the prediction, the loss and every gradient."""
import os

import flax
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from ssl_jax import kernels
from ssl_jax.methods import build_method
from ssl_jax.models import HeadSpec, SSLModel, VisionTransformer
from ssl_jax.models import timm_names
from ssl_jax.models.decoder import DecoderSpec, patchify
from ssl_jax.models.vit import mae_sincos_position_embedding, sincos_position_embedding
from ssl_jax.registry import ConfigError

FIXTURE = os.path.join(os.path.dirname(__file__), "official", "mae", "mae_forward.npz")


@pytest.fixture(scope="module")
def official():
  with np.load(FIXTURE) as f:
    return {k: f[k] for k in f.files}


def _model():
  backbone = VisionTransformer(patch=4, dim=32, depth=2, heads=2, pos_embed="sincos_mae")
  return SSLModel(backbone, HeadSpec(decoder=DecoderSpec(dim=16, depth=2, heads=2,
                                                         mask_ratio=0.75)))


def _decoder_name(path):
  """Our decoder parameter path -> (official name, to ours)."""
  *modules, leaf = path
  linear = (lambda v: v.T) if leaf == "kernel" else (lambda v: v)
  torch_leaf = {"kernel": "weight", "scale": "weight", "bias": "bias"}.get(leaf)
  if not modules:
    return "mask_token", lambda v: v[0]
  if modules[0] in ("embed", "pred", "norm"):
    return f"decoder_{modules[0]}.{torch_leaf}", linear
  block = int(modules[0][len("block"):]) - 1
  inner = {"qkv": "attn.qkv", "proj": "attn.proj", "fc1": "mlp.fc1", "fc2": "mlp.fc2"}
  return f"decoder_blocks.{block}.{inner.get(modules[1], modules[1])}.{torch_leaf}", linear


def _ours(tree, official, prefix):
  """A params-shaped tree of the official ``prefix/`` arrays (params or grads)."""
  encoder = {k[len(prefix):]: v for k, v in official.items()
             if k.startswith(prefix) and not k[len(prefix):].startswith("decoder_")
             and k[len(prefix):] not in ("mask_token", "pos_embed")}
  out = {"backbone": timm_names.from_timm(encoder, tree["backbone"])}
  flat = {}
  for path in flax.traverse_util.flatten_dict(tree["decoder"]):
    name, convert = _decoder_name(path)
    flat[path] = convert(official[prefix + name])
  out["decoder"] = flax.traverse_util.unflatten_dict(flat)
  return out


def _run(official):
  """(loss, outputs, grads) of our model on the official weights, images
  and noise, and the official gradients in the shape of ours."""
  model = _model()
  images = jnp.asarray(official["images"].transpose(0, 2, 3, 1))[None]
  like = model.init(jax.random.key(0), images)["params"]
  params = _ours(like, official, "param/")
  noise = jnp.asarray(official["noise"])[None]

  def with_official_noise(next_fun, args, kwargs, context):
    if isinstance(context.module, VisionTransformer) and kwargs.get("noise") is not None:
      kwargs = {**kwargs, "noise": noise}
    return next_fun(*args, **kwargs)

  def loss(p):
    with flax.linen.intercept_methods(with_official_noise):
      out = model.apply({"params": p}, images, rngs={"masking": jax.random.key(1)})
    return kernels.mae_loss(out["reconstruction"][0], out["target"][0], out["mask"][0]), out

  (value, out), grads = jax.jit(jax.value_and_grad(loss, has_aux=True))(params)
  return value, out, grads, _ours(like, official, "grad/")


def test_position_tables_equal_maes(official):
  """MAE's table, not MoCo v3's (the same features with the halves swapped)."""
  for key, dim in (("param/pos_embed", 32), ("param/decoder_pos_embed", 16)):
    table = official[key][0]
    assert not table[0].any()  # the CLS token's row
    np.testing.assert_allclose(mae_sincos_position_embedding(4, 4, dim).reshape(16, dim),
                               table[1:], rtol=1e-6, atol=1e-6)
    assert not np.allclose(sincos_position_embedding(4, 4, dim).reshape(16, dim), table[1:])


@pytest.fixture(scope="module")
def ours(official):
  return _run(official)


def test_one_pass_equals_the_official_model(official, ours):
  """Mask, prediction, loss and the gradient of every parameter (the
  encoder's, the mask token's and the decoder's)."""
  loss, out, grads, want = ours
  np.testing.assert_array_equal(np.asarray(out["mask"][0]), official["mask"])
  np.testing.assert_allclose(out["reconstruction"][0], official["pred"], rtol=1e-5, atol=1e-6)
  np.testing.assert_allclose(loss, official["loss"], rtol=1e-5)
  flat, flat_want = (flax.traverse_util.flatten_dict(t) for t in (grads, want))
  assert set(flat) == set(flat_want)
  for path, g in flat.items():
    scale = np.max(np.abs(flat_want[path]))
    np.testing.assert_allclose(g, flat_want[path], rtol=1e-5, atol=1e-6 * scale,
                               err_msg="/".join(path))


def test_the_loss_reads_only_the_removed_patches_and_the_target_no_gradient(ours):
  """Changing the prediction of a kept patch leaves the loss unchanged."""
  _, out, _, _ = ours
  pred, target, mask = out["reconstruction"][0], out["target"][0], out["mask"][0]
  moved = jnp.where(mask[..., None] == 0, pred + 5.0, pred)
  assert kernels.mae_loss(moved, target, mask) == pytest.approx(
      float(kernels.mae_loss(pred, target, mask)), rel=1e-6)
  grad_target = jax.grad(lambda t: kernels.mae_loss(pred, t, mask))(target)
  assert not np.any(np.asarray(grad_target))


def test_patchify_is_maes_order(official):
  """Patch l's values are rows, then columns, then channels of its pixels."""
  images = official["images"].transpose(0, 2, 3, 1)
  patches = np.asarray(patchify(jnp.asarray(images), 4))
  np.testing.assert_array_equal(patches[1, 5].reshape(4, 4, 3), images[1, 4:8, 4:8])


def test_the_masked_encoder_sees_the_kept_patches_only():
  """The features of a masked pass do not change when a removed patch's pixels do."""
  model = _model()
  x = jax.random.normal(jax.random.key(0), (1, 2, 16, 16, 3))
  variables = model.init(jax.random.key(1), x)
  apply = lambda x: model.apply(variables, x, rngs={"masking": jax.random.key(2)})
  out = apply(x)
  removed = int(np.argmax(np.asarray(out["mask"][0, 0])))
  row, col = divmod(removed, 4)
  changed = x.at[0, 0, 4 * row:4 * row + 4, 4 * col:4 * col + 4].add(1.0)
  again = apply(changed)
  np.testing.assert_array_equal(again["features"], out["features"])
  np.testing.assert_array_equal(again["mask"], out["mask"])
  assert float(out["mask"][0].sum(-1)[0]) == 12  # 75 % of 16


def test_mae_refuses_a_resnet_and_bad_decoders():
  from ssl_jax.models import build_model  # pylint: disable=g-import-not-at-top
  method = build_method(_config(), total_steps=10)
  with pytest.raises(ValueError, match="needs a ViT backbone"):
    build_model({"name": "resnet18"}, method.head).init(
        jax.random.key(0), jnp.zeros((1, 1, 16, 16, 3)))
  with pytest.raises(ConfigError, match="mask_ratio must be in"):
    build_method(_config(mask_ratio=1.0), total_steps=10)
  with pytest.raises(ConfigError, match="not divisible"):
    build_method(_config(decoder_dim=10, decoder_heads=4), total_steps=10)


def _config(**kw):
  from ml_collections import ConfigDict  # pylint: disable=g-import-not-at-top
  return ConfigDict({"name": "mae", **kw})


def test_adamw_with_maes_betas_and_decay_groups_equals_torch():
  """MAE's optimiser: torch AdamW, betas (0.9, 0.95), weight decay 0.05 on
  every tensor but the 1-d ones (``add_weight_decay``: biases, norms), over
  three steps of a warming-up lr."""
  import ml_collections  # pylint: disable=g-import-not-at-top
  import torch  # pylint: disable=g-import-not-at-top
  from ssl_jax.train import optim  # pylint: disable=g-import-not-at-top
  rng = np.random.default_rng(0)
  params = {"kernel": rng.normal(size=(4, 3)), "bias": rng.normal(size=3),
            "mask_token": rng.normal(size=(1, 3))}
  grads = [{k: rng.normal(size=v.shape) for k, v in params.items()} for _ in range(3)]
  lrs = [1e-3, 2e-3, 3e-3]
  tensors = {k: torch.tensor(v, requires_grad=True) for k, v in params.items()}
  opt = torch.optim.AdamW(
      [{"params": [tensors["kernel"], tensors["mask_token"]], "weight_decay": 0.05},
       {"params": [tensors["bias"]], "weight_decay": 0.0}], betas=(0.9, 0.95))
  for lr, grad in zip(lrs, grads):
    for group in opt.param_groups:
      group["lr"] = lr
    for k, p in tensors.items():
      p.grad = torch.tensor(grad[k])
    opt.step()
  config = ml_collections.ConfigDict({"name": "adamw", "weight_decay": 0.05, "momentum": 0.9,
                                      "beta2": 0.95, "exclude_bias_and_norm": True})
  with jax.enable_x64(True):
    tx = optim.make_optimizer(config, lambda s: jnp.asarray(lrs, jnp.float64)[s])
    p = {k: jnp.asarray(v) for k, v in params.items()}
    state = tx.init(p)
    for grad in grads:
      updates, state = tx.update({k: jnp.asarray(v) for k, v in grad.items()}, state, p)
      p = jax.tree.map(lambda a, u: a + u, p, updates)
    for k, t in tensors.items():
      np.testing.assert_allclose(np.asarray(p[k]), t.detach().numpy(), rtol=1e-10, err_msg=k)
