"""Backbones into and out of PyTorch: torchvision's names and layouts, strict
loading, and the same features on the same uint8 images (CPU torch)."""
import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from ssl_jax import backbone as backbones
from ssl_jax.models import build_backbone
from tests.end_to_end import ROOT

torch = pytest.importorskip("torch")
safetensors_torch = pytest.importorskip("safetensors.torch")


def _torchvision_resnet():
  from bench.torch_reference import torchvision_resnets  # pylint: disable=g-import-not-at-top
  return torchvision_resnets()


def _random_variables(name, stem, size, seed=0):
  """Random weights (shapes from the model, values from NumPy: no init to
  compile) with BatchNorm affine and running statistics far from their
  initial values, so every tensor's layout matters."""
  module = build_backbone({"name": name, "stem": stem})
  shapes = jax.eval_shape(lambda: module.init(jax.random.key(0),
                                              jnp.zeros((1, 1, size, size, 3)), train=False))
  rng = np.random.default_rng(seed)

  def draw(leaf):
    if leaf.ndim == 1:  # BatchNorm scale, bias, mean, var
      return rng.uniform(0.5, 1.5, leaf.shape).astype(np.float32)
    fan_in = np.prod(leaf.shape[:-1])
    return (rng.normal(size=leaf.shape) * np.sqrt(2.0 / fan_in)).astype(np.float32)
  return jax.tree.map(draw, shapes)


def _images(n, size, seed=0):
  return np.random.default_rng(seed).integers(0, 256, (n, size, size, 3), dtype=np.uint8)


def _torch_features(model, images, mean, std):
  x = (images / 255.0 - np.asarray(mean)) / np.asarray(std)
  with torch.no_grad():
    return model(torch.from_numpy(x.transpose(0, 3, 1, 2)).float()).numpy()


def _exported(tmp_path, name, stem, size):
  backbone = backbones.Backbone(
      model={"name": name, "width": 1.0, "stem": stem},
      variables=_random_variables(name, stem, size), mean=(0.4, 0.5, 0.6),
      std=(0.2, 0.25, 0.3), image_size=size, step=7, source="random",
      data={"name": "synthetic", "root": None, "num_examples": 160})
  path = str(tmp_path / f"{name}.safetensors")
  backbones.save(backbone, path)
  return backbone, path


def _headless(model):
  model.fc = torch.nn.Identity()
  return model.eval()


def test_an_exported_resnet50_loads_strictly_into_torchvision_with_our_features(tmp_path):
  backbone, path = _exported(tmp_path, "resnet50", "imagenet", 64)
  model = _headless(_torchvision_resnet().resnet50())
  model.load_state_dict(safetensors_torch.load_file(path), strict=True)
  images = _images(3, 64)
  ours = np.asarray(backbone.features(images))
  np.testing.assert_allclose(_torch_features(model, images, backbone.mean, backbone.std),
                             ours, rtol=1e-4, atol=1e-4 * np.abs(ours).max())
  again = backbones.load_backbone(path)  # and back: the same backbone
  assert (again.model, again.mean, again.image_size, again.step, again.data) == (
      backbone.model, backbone.mean, 64, 7, backbone.data)
  for x, y in zip(jax.tree.leaves(again.variables), jax.tree.leaves(backbone.variables)):
    np.testing.assert_array_equal(x, y)


def test_the_cifar_stem_is_torchvisions_resnet_with_a_3x3_stride_1_stem(tmp_path):
  backbone, path = _exported(tmp_path, "resnet18", "cifar", 32)
  model = _headless(_torchvision_resnet().resnet18())
  model.conv1 = torch.nn.Conv2d(3, 64, kernel_size=3, stride=1, padding=1, bias=False)
  model.maxpool = torch.nn.Identity()
  model.load_state_dict(safetensors_torch.load_file(path), strict=True)
  images = _images(4, 32, seed=1)
  ours = np.asarray(backbone.features(images))
  np.testing.assert_allclose(_torch_features(model, images, backbone.mean, backbone.std),
                             ours, rtol=1e-4, atol=1e-4 * np.abs(ours).max())


def _torch_resnet18_with_statistics():
  torch.manual_seed(0)
  model = _torchvision_resnet().resnet18()
  for module in model.modules():
    if isinstance(module, torch.nn.BatchNorm2d):
      module.running_mean.uniform_(-0.5, 0.5)
      module.running_var.uniform_(0.5, 1.5)
      module.weight.data.uniform_(0.5, 1.5)
      module.bias.data.uniform_(-0.5, 0.5)
  return model.eval()


def test_a_torchvision_checkpoint_is_evaluated_with_the_same_features(tmp_path):
  """A PyTorch checkpoint whose ResNet sits under a prefix beside other
  weights (as SSL codebases save them), and a plain safetensors file."""
  model = _torch_resnet18_with_statistics()
  state = model.state_dict()
  checkpoint = {"state_dict": {**{f"module.backbone.{k}": v for k, v in state.items()},
                               "module.projector.0.weight": torch.zeros(8, 512)},
                "epoch": 3}
  torch.save(checkpoint, tmp_path / "run.pth")
  safetensors_torch.save_file(state, str(tmp_path / "plain.safetensors"))
  images = _images(2, 64, seed=2)
  want = _torch_features(_headless(model), images, (0.485, 0.456, 0.406), (0.229, 0.224, 0.225))
  for path in (tmp_path / "run.pth", tmp_path / "plain.safetensors"):
    backbone = backbones.load_backbone(str(path))
    assert backbone.model == {"name": "resnet18", "width": 1.0, "stem": "imagenet"}
    np.testing.assert_allclose(np.asarray(backbone.features(images)), want, rtol=1e-4,
                               atol=1e-4 * np.abs(want).max())


def test_a_checkpoint_with_two_resnets_names_them_and_takes_a_prefix(tmp_path):
  state = _torchvision_resnet().resnet18().state_dict()
  torch.save({**{f"encoder_q.{k}": v for k, v in state.items()},
              **{f"encoder_k.{k}": v for k, v in state.items()}}, tmp_path / "moco.pth")
  with pytest.raises(backbones.BackboneNotFound, match="holds 2 backbones.*'encoder_k.'"):
    backbones.load_backbone(str(tmp_path / "moco.pth"))
  assert backbones.load_backbone(f"{tmp_path}/moco.pth#encoder_q.").model["name"] == "resnet18"


def test_features_refuses_unit_floats_and_one_unbatched_image(tmp_path):
  backbone, _ = _exported(tmp_path, "resnet18", "cifar", 32)
  with pytest.raises(ValueError, match="floats all lie in \\[0, 1\\]: multiply by 255"):
    backbone.features(_images(2, 32) / 255.0)
  with pytest.raises(ValueError, match="one image: pass images\\[None\\]"):
    backbone.features(_images(1, 32)[0])
  assert backbone.features(_images(2, 32).astype(np.float32)).shape == (2, 512)
  assert backbone.features(np.zeros((2, 32, 32, 3), np.float32)).shape == (2, 512)  # black


def test_loading_a_backbone_imports_no_tensorflow():
  code = ("import sys, ssl_jax.backbone, ssl_jax.jobs.export; "
          "print('tensorflow' in sys.modules)")
  out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                       text=True, timeout=120, check=True).stdout
  assert out.strip() == "False"
