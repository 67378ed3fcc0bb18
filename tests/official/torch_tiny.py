"""A torchvision-layout ResNet small enough for fixtures, and the map between
PyTorch state dicts and ssl_jax variables.  PyTorch only: the fixture
generator imports it, the test suite never does.

``TinyResNet`` is ssl_jax's ``ResNet(stage_sizes=(1, 1), block=BasicBlock,
width=1/16, stem="cifar")`` written the way torchvision writes a ResNet
(``conv1``/``bn1``, ``layerK.0.{conv1,bn1,conv2,bn2,downsample}``), so the
official training code can use it wherever it builds a torchvision
backbone.
"""
import re

import numpy as np
import torch
from torch import nn


class BasicBlock(nn.Module):

  def __init__(self, inplanes, planes, stride):
    super().__init__()
    self.conv1 = nn.Conv2d(inplanes, planes, 3, stride, 1, bias=False)
    self.bn1 = nn.BatchNorm2d(planes)
    self.relu = nn.ReLU(inplace=True)
    self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
    self.bn2 = nn.BatchNorm2d(planes)
    self.downsample = None
    if stride != 1 or inplanes != planes:
      self.downsample = nn.Sequential(nn.Conv2d(inplanes, planes, 1, stride, bias=False),
                                      nn.BatchNorm2d(planes))

  def forward(self, x):
    y = self.relu(self.bn1(self.conv1(x)))
    y = self.bn2(self.conv2(y))
    identity = x if self.downsample is None else self.downsample(x)
    return self.relu(y + identity)


class TinyResNet(nn.Module):
  """Widths 4 and 8, one basic block per stage, 3x3 stride-1 stem, no pool."""

  def __init__(self, widths=(4, 8), zero_init_residual=False):
    super().__init__()
    self.conv1 = nn.Conv2d(3, widths[0], 3, 1, 1, bias=False)
    self.bn1 = nn.BatchNorm2d(widths[0])
    self.relu = nn.ReLU(inplace=True)
    self.maxpool = nn.Identity()
    inplanes = widths[0]
    for i, planes in enumerate(widths):
      setattr(self, f"layer{i + 1}", nn.Sequential(BasicBlock(inplanes, planes, 1 if i == 0 else 2)))
      inplanes = planes
    self.avgpool = nn.AdaptiveAvgPool2d(1)
    self.fc = nn.Linear(inplanes, 10)
    self.inplanes = inplanes  # what MIRA's builder reads as the feature width
    self.num_layers = len(widths)
    if zero_init_residual:
      for m in self.modules():
        if isinstance(m, BasicBlock):
          nn.init.zeros_(m.bn2.weight)

  def forward(self, x):
    x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
    for i in range(self.num_layers):
      x = getattr(self, f"layer{i + 1}")(x)
    return self.fc(torch.flatten(self.avgpool(x), 1))


_BACKBONE = [
    (r"conv1\.weight", "stem_conv/kernel"),
    (r"bn1\.", "stem_bn/"),
    (r"layer(\d)\.0\.conv1\.weight", r"stage\1_block1/Conv_0/kernel"),
    (r"layer(\d)\.0\.bn1\.", r"stage\1_block1/BatchNorm_0/"),
    (r"layer(\d)\.0\.conv2\.weight", r"stage\1_block1/Conv_1/kernel"),
    (r"layer(\d)\.0\.bn2\.", r"stage\1_block1/BatchNorm_1/"),
    (r"layer(\d)\.0\.downsample\.0\.weight", r"stage\1_block1/Conv_2/kernel"),
    (r"layer(\d)\.0\.downsample\.1\.", r"stage\1_block1/BatchNorm_2/"),
]
_BN_FIELDS = {"weight": ("params", "scale"), "bias": ("params", "bias"),
              "running_mean": ("batch_stats", "mean"), "running_var": ("batch_stats", "var")}


def backbone_path(name):
  """Torch backbone key -> (collection, 'backbone/.../leaf'), or None (fc,
  num_batches_tracked)."""
  for pattern, repl in _BACKBONE:
    m = re.fullmatch(pattern + r"(\w*)", name)
    if not m:
      continue
    path = m.expand(repl)
    if path.endswith("/"):
      if m.group(m.re.groups) not in _BN_FIELDS:
        return None
      collection, leaf = _BN_FIELDS[m.group(m.re.groups)]
      return collection, "backbone/" + path + leaf
    return "params", "backbone/" + path
  return None


def head_paths(module, part):
  """{torch key: (collection, 'part/layer/leaf')} for an MLP head written as
  Linear and BatchNorm1d layers in order (ssl_jax's linear{k} / bn{k})."""
  out, k = {}, 0
  for name, sub in module.named_modules():
    prefix = f"{name}." if name else ""
    if isinstance(sub, nn.Linear):
      k += 1
      out[prefix + "weight"] = ("params", f"{part}/linear{k}/kernel")
      if sub.bias is not None:
        out[prefix + "bias"] = ("params", f"{part}/linear{k}/bias")
    elif isinstance(sub, nn.BatchNorm1d):
      for field, (collection, leaf) in _BN_FIELDS.items():
        if getattr(sub, field, None) is not None:
          out[prefix + field] = (collection, f"{part}/bn{k}/{leaf}")
  return out


def to_ours(name, value):
  """A torch tensor in ssl_jax's layout: conv OIHW -> HWIO, linear [O, I] -> [I, O]."""
  x = value.detach().cpu().numpy().astype(np.float32)
  if x.ndim == 4:
    return x.transpose(2, 3, 1, 0)
  if x.ndim == 2 and name.endswith("kernel") and "prototypes" not in name:
    return x.T
  return x


def from_ours(name, x):
  """Inverse of ``to_ours``."""
  x = np.asarray(x, np.float32)
  if x.ndim == 4:
    return torch.from_numpy(np.ascontiguousarray(x.transpose(3, 2, 0, 1)))
  if x.ndim == 2 and name.endswith("kernel") and "prototypes" not in name:
    return torch.from_numpy(np.ascontiguousarray(x.T))
  return torch.from_numpy(x.copy())


class Mapping:
  """Torch modules <-> flat ssl_jax variables {"collection/part/.../leaf": array}."""

  def __init__(self):
    self.entries = []  # (tensor getter, setter, our key)

  def add_module(self, module, part, prefix=""):
    """Registers a backbone (part "backbone") or an MLP head under ``prefix``
    (e.g. "ema_" for a teacher)."""
    state = dict(module.named_parameters())
    state.update(dict(module.named_buffers()))
    if part == "backbone":
      paths = {n: backbone_path(n) for n in state}
    else:
      paths = head_paths(module, part)
    for name, where in paths.items():
      if where is not None:
        self.add_tensor(state[name], prefix + where[0] + "/" + where[1])

  def add_tensor(self, tensor, key, to_ours_fn=None, from_ours_fn=None):
    self.entries.append((tensor, key, to_ours_fn, from_ours_fn))

  def export(self):
    out = {}
    for tensor, key, fwd, _ in self.entries:
      out[key] = fwd(tensor) if fwd else to_ours(key, tensor)
    return out

  @torch.no_grad()
  def load(self, values):
    for tensor, key, _, back in self.entries:
      new = back(values[key]) if back else from_ours(key, values[key])
      if tuple(new.shape) != tuple(tensor.shape):
        raise ValueError(f"{key}: {tuple(new.shape)} vs torch {tuple(tensor.shape)}")
      tensor.copy_(new)


def randomize(mapping, seed):
  """Initial values in our layout: the torch init, with BatchNorm affine
  parameters and running statistics drawn away from 1/0 so that every path
  carries a gradient (zero-initialised residual scales would not), and the
  teacher ("ema_...") a copy of the online network."""
  rng = np.random.default_rng(seed)
  values = mapping.export()
  for key, x in values.items():
    if key.endswith("/scale"):
      values[key] = rng.uniform(0.5, 1.5, x.shape).astype(np.float32)
    elif key.endswith("/bias") and "bn" in key.lower().replace("batchnorm", "bn"):
      values[key] = rng.normal(0.0, 0.1, x.shape).astype(np.float32)
    elif key.endswith("/mean"):
      values[key] = rng.normal(0.0, 0.1, x.shape).astype(np.float32)
    elif key.endswith("/var"):
      values[key] = rng.uniform(0.5, 1.5, x.shape).astype(np.float32)
  for key in values:  # a teacher starts as a copy of the online network
    if key.startswith("ema_"):
      values[key] = values[key[len("ema_"):]]
  return values
