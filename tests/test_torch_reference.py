"""bench/torch_reference.py computes what our step computes (the losses and
augmentations against ssl_jax's, the heads' sizes against ours), and
bench/gpu_side_by_side.py prints its table on CPU with tiny shapes."""
import argparse

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from ssl_jax import kernels
from ssl_jax.models.heads import MLP, MLPSpec
from ssl_jax.train import augment as ours

torch = pytest.importorskip("torch")
from bench import torch_augment, torch_losses, torch_reference  # pylint: disable=g-import-not-at-top,wrong-import-position


def _t(x):
  return torch.tensor(np.asarray(x), dtype=torch.float64)


@pytest.mark.parametrize("views", [2, 3])
def test_simclr_loss_equals_the_kernel(views):
  z = np.random.default_rng(0).normal(size=(views, 12, 8)).astype(np.float32)
  want = float(kernels.simclr_loss(jnp.asarray(z), 0.2))
  assert float(torch_losses.simclr(_t(z), 0.2)) == pytest.approx(want, rel=1e-5)


def test_intl_loss_equals_the_kernel():
  z = np.random.default_rng(1).normal(size=(2, 16, 24)).astype(np.float32)
  want = float(kernels.intl_loss(jnp.asarray(z), iters=4))
  assert float(torch_losses.intl(_t(z), 4)) == pytest.approx(want, rel=1e-4)


def test_mira_loss_equals_the_kernel():
  rng = np.random.default_rng(2)
  student = np.tanh(rng.normal(size=(4, 16, 10))).astype(np.float32)
  teacher = np.tanh(rng.normal(size=(2, 16, 10))).astype(np.float32)
  want = float(kernels.mira_loss(jnp.asarray(student), jnp.asarray(teacher), 0.1, 0.225,
                                 0.75, 30))
  got = float(torch_losses.mira(_t(student), _t(teacher), 0.1, 0.225, 0.75, 30))
  assert got == pytest.approx(want, rel=1e-4)


@pytest.mark.parametrize("spec", [
    dict(hidden_dim=32, out_dim=16, num_layers=2),
    dict(hidden_dim=32, out_dim=16, num_layers=3, last_bn=True, last_bias=False),
    dict(hidden_dim=32, out_dim=16, num_layers=2, hidden_bn=False),
])
def test_the_torch_heads_have_our_parameters(spec):
  flax_params = MLP(MLPSpec(**spec)).init(jax.random.key(0), jnp.zeros((1, 2, 20)),
                                          train=True)["params"]
  ours_count = sum(x.size for x in jax.tree.leaves(flax_params))
  theirs = torch_reference.mlp(spec, 20)
  assert sum(p.numel() for p in theirs.parameters()) == ours_count


def test_a_head_the_reference_cannot_build_is_refused():
  with pytest.raises(ValueError, match="ReLU heads"):
    torch_reference.mlp(dict(hidden_dim=8, out_dim=4, num_layers=2, activation="gelu"), 6)


def test_the_colour_ops_equal_ours():
  rng = np.random.default_rng(3)
  image = rng.uniform(size=(8, 8, 3)).astype(np.float32)
  batch = torch.tensor(image).permute(2, 0, 1)[None]
  hue = torch_augment._hue(batch, torch.tensor([0.3]))[0].permute(1, 2, 0).numpy()
  np.testing.assert_allclose(hue, np.asarray(ours.adjust_hue(jnp.asarray(image), 0.3)),
                             atol=1e-5)
  grey = torch_augment._gray(batch)[0, 0].numpy()
  np.testing.assert_allclose(grey, np.asarray(ours.grayscale(jnp.asarray(image)))[..., 0],
                             atol=1e-6)
  blur = torch_augment._blur(batch, (1.3, 1.3))[0].permute(1, 2, 0).numpy()
  want = ours.gaussian_blur(jnp.asarray(image), jax.random.key(0), (1.3, 1.3))
  np.testing.assert_allclose(blur, np.asarray(want), atol=1e-5)


def _tiny_args(**kw):
  args = dict(recipes="quickstart", model="resnet18", width=1.0, stem="imagenet",
              patch_stem=None, size=16, batch=8, steps=1, rounds=1, precision="float32",
              crop_canvas=None, no_compile=True, shares=False, profile_dir="")
  return argparse.Namespace(**{**args, **kw})


def test_the_reference_steps_train_on_cpu():
  """Each PyTorch step (MIRA's with its EMA teacher) changes the weights and
  counts its FLOPs."""
  for name in ("intl", "mira"):
    step = torch_reference.build_step(name, _tiny_args(), torch.device("cpu"))
    assert step.flops > 0 and step.sizes == (16, 16)
    before = [p.detach().clone() for p in step.model.parameters()]
    step.run()
    after = list(step.model.parameters())
    assert all(torch.isfinite(p).all() for p in after)
    assert any(not torch.equal(a, b) for a, b in zip(before, after))


def test_the_side_by_side_row_on_cpu():
  """The table row of bench/gpu_side_by_side.py on one CPU device: both steps
  build, run and are counted (SimCLR: the cheapest of ours to compile)."""
  from bench import gpu_side_by_side  # pylint: disable=g-import-not-at-top
  from ssl_jax import sharding  # pylint: disable=g-import-not-at-top
  mesh = sharding.make_mesh(jax.devices()[:1])
  row = gpu_side_by_side.compare("simclr", _tiny_args(), mesh, torch.device("cpu"), 1e11)
  cells = [c.strip() for c in row.strip("|").split("|")]
  assert cells[0] == "simclr" and cells[1] == "16+16"
  ours_ms, theirs_ms, speedup = float(cells[2]), float(cells[3]), float(cells[6])
  assert ours_ms > 0 and theirs_ms > 0
  assert speedup == pytest.approx(theirs_ms / ours_ms, rel=0.02, abs=0.006)  # 2 decimals
  assert float(cells[7].rstrip(" %")) > 0 and float(cells[8].rstrip(" %")) > 0


@pytest.mark.parametrize("name", ["sgd", "lars"])
def test_the_reference_optimizers_equal_ours(name):
  """Two steps of the PyTorch reference's SGD (torch's) and foreach LARS and
  of ours (decay on weights only; LARS's trust ratio on weights, plain
  momentum on biases) from the same parameters and gradients."""
  import ml_collections  # pylint: disable=g-import-not-at-top
  from ssl_jax.train.optim import make_optimizer  # pylint: disable=g-import-not-at-top
  config = ml_collections.ConfigDict({"name": name, "weight_decay": 1e-2, "momentum": 0.9,
                                      "trust_coefficient": 0.02,
                                      "exclude_bias_and_norm": True})
  rng = np.random.default_rng(4)
  net = torch.nn.Linear(5, 3)
  with torch.no_grad():
    net.weight.copy_(torch.tensor(rng.normal(size=(3, 5)), dtype=torch.float32))
    net.bias.copy_(torch.tensor(rng.normal(size=3), dtype=torch.float32))
  params = {"kernel": jnp.asarray(net.weight.detach().numpy()),
            "bias": jnp.asarray(net.bias.detach().numpy())}
  step = torch_reference.make_optimizer(net, config, 0.5, torch.device("cpu"))
  tx = make_optimizer(config, 0.5)
  state = tx.init(params)
  for _ in range(2):
    grads = {"kernel": rng.normal(size=(3, 5)), "bias": rng.normal(size=3)}
    net.weight.grad = torch.tensor(grads["kernel"], dtype=torch.float32)
    net.bias.grad = torch.tensor(grads["bias"], dtype=torch.float32)
    step()
    updates, state = tx.update(jax.tree.map(jnp.asarray, grads), state, params)
    params = jax.tree.map(lambda p, u: p + u, params, updates)
  np.testing.assert_allclose(net.weight.detach().numpy(), np.asarray(params["kernel"]),
                             rtol=1e-5)
  np.testing.assert_allclose(net.bias.detach().numpy(), np.asarray(params["bias"]), rtol=1e-5)
