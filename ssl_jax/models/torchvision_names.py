"""Our ResNet variables in torchvision's names and layouts, and back.

torchvision's ``ResNet.state_dict()`` names the stem ``conv1``/``bn1`` and
block j of stage i ``layer{i}.{j-1}``, whose convolutions are ``conv1``..
``conv3`` with BatchNorms ``bn1``..``bn3`` and whose projection shortcut is
``downsample.0`` (conv) and ``downsample.1`` (BatchNorm).  Convolution
weights are [O, I, kh, kw] there and [kh, kw, I, O] here; a BatchNorm's
``weight``/``bias``/``running_mean``/``running_var`` are our
``scale``/``bias`` (params) and ``mean``/``var`` (batch_stats).  Our CIFAR
stem is torchvision's ResNet with ``conv1`` a 3x3 stride-1 padding-1
convolution and ``maxpool`` the identity (the INTL and solo-learn CIFAR
variant); the names are the same.
"""
import re
from typing import Dict, Tuple

import flax
import numpy as np

from ssl_jax.models.resnet import RESNETS

_BLOCK = re.compile(r"stage(\d+)_block(\d+)")
_TORCH_BLOCK = re.compile(r"layer(\d+)\.(\d+)\.(.+)")
# Convolutions on a block's main branch: 2 in a basic block, 3 in a bottleneck.
_MAIN_CONVS = {"basic": 2, "bottleneck": 3}
_BN = {"weight": ("params", "scale"), "bias": ("params", "bias"),
       "running_mean": ("batch_stats", "mean"), "running_var": ("batch_stats", "var")}


def block_kind(model_name: str) -> str:
  """"basic" or "bottleneck": the block of the backbone ``model_name``."""
  if model_name not in RESNETS:
    raise ValueError(f"{model_name} has no torchvision layout: only ResNets "
                     f"({', '.join(RESNETS)}) are written in it")
  return "bottleneck" if RESNETS[model_name].keywords["block"].expansion > 1 else "basic"


def _torch_layer(block_kind, layer):
  """'Conv_1' -> 'conv2', 'BatchNorm_3' (a bottleneck's shortcut) -> 'downsample.1'."""
  kind, index = layer.rsplit("_", 1)
  index = int(index)
  if index == _MAIN_CONVS[block_kind]:
    return "downsample.0" if kind == "Conv" else "downsample.1"
  return f"conv{index + 1}" if kind == "Conv" else f"bn{index + 1}"


def _our_layer(block_kind, name):
  if name.startswith("downsample."):
    return ("Conv_" if name.endswith("0") else "BatchNorm_") + str(_MAIN_CONVS[block_kind])
  kind, index = re.fullmatch(r"(conv|bn)(\d)", name).groups()
  return ("Conv_" if kind == "conv" else "BatchNorm_") + str(int(index) - 1)


def _torch_prefix(block_kind, path) -> str:
  """Our module path ('stage2_block1', 'Conv_2') -> torchvision's prefix."""
  if path[0] == "stem_conv":
    return "conv1"
  if path[0] == "stem_bn":
    return "bn1"
  stage, block = _BLOCK.fullmatch(path[0]).groups()
  return f"layer{stage}.{int(block) - 1}.{_torch_layer(block_kind, path[1])}"


def to_torchvision(variables, block_kind: str) -> Dict[str, np.ndarray]:
  """{"params", "batch_stats"} of a ResNet -> torchvision's state dict
  (float32 arrays, int64 ``num_batches_tracked`` = 0; no ``fc``)."""
  out = {}
  for collection in ("params", "batch_stats"):
    flat = flax.traverse_util.flatten_dict(flax.core.unfreeze(variables[collection]))
    for path, value in flat.items():
      prefix, leaf = _torch_prefix(block_kind, path[:-1]), path[-1]
      value = np.asarray(value, np.float32)
      if leaf == "kernel":
        out[f"{prefix}.weight"] = np.ascontiguousarray(value.transpose(3, 2, 0, 1))
      else:
        torch_leaf = {"scale": "weight", "bias": "bias", "mean": "running_mean",
                      "var": "running_var"}[leaf]
        out[f"{prefix}.{torch_leaf}"] = value
        if leaf == "mean":
          out[f"{prefix}.num_batches_tracked"] = np.zeros((), np.int64)
  return out


def architecture(state_dict) -> Tuple[str, float, str]:
  """(our model name, width, stem) of a torchvision ResNet state dict."""
  kind = "bottleneck" if "layer1.0.conv3.weight" in state_dict else "basic"
  blocks = tuple(1 + max([int(m.group(2)) for m in map(_TORCH_BLOCK.fullmatch, state_dict)
                          if m and m.group(1) == str(stage)], default=-1)
                 for stage in range(1, 5))
  names = {(tuple(RESNETS[n].keywords["stage_sizes"]), block_kind(n)): n for n in RESNETS}
  if (blocks, kind) not in names:
    raise ValueError(f"a ResNet with {blocks} {kind} blocks per stage is not one of "
                     f"ssl_jax's ({', '.join(RESNETS)})")
  stem_weight = np.shape(state_dict["conv1.weight"])
  stem = {7: "imagenet", 3: "cifar"}.get(stem_weight[-1])
  if stem is None:
    raise ValueError(f"conv1 is {stem_weight[-1]}x{stem_weight[-1]}: neither the ImageNet "
                     f"stem (7x7) nor the CIFAR stem (3x3)")
  return names[(blocks, kind)], stem_weight[0] / 64, stem


def from_torchvision(state_dict) -> Dict[str, Dict]:
  """torchvision's ResNet state dict (arrays; ``fc`` and
  ``num_batches_tracked`` ignored) -> our {"params", "batch_stats"}."""
  block_kind = "bottleneck" if "layer1.0.conv3.weight" in state_dict else "basic"
  flat = {}
  for name, value in state_dict.items():
    if name.startswith("fc.") or name.endswith("num_batches_tracked"):
      continue
    module, leaf = name.rsplit(".", 1)
    match = _TORCH_BLOCK.fullmatch(module)
    if match:
      stage, block, layer = match.groups()
      path = (f"stage{stage}_block{int(block) + 1}", _our_layer(block_kind, layer))
    elif module in ("conv1", "bn1"):
      path = ("stem_conv" if module == "conv1" else "stem_bn",)
    else:
      raise ValueError(f"{name} is not a parameter of a torchvision ResNet backbone")
    value = np.asarray(value, np.float32)
    if leaf == "weight" and value.ndim == 4:
      flat[("params", *path, "kernel")] = value.transpose(2, 3, 1, 0)
    else:
      collection, ours = _BN[leaf]
      flat[(collection, *path, ours)] = value
  return flax.traverse_util.unflatten_dict(flat)
