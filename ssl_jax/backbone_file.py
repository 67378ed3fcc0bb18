"""The files a backbone travels in: safetensors in torchvision's or timm's layout.

``write`` puts a ResNet's weights and BatchNorm statistics under
torchvision's names and layouts (``models.torchvision_names``), a ViT's
under timm's (``models.timm_names``, which DINO's ViT shares), in a
safetensors file whose metadata holds what ssl_jax needs besides
(architecture, input normalisation, resolution, step, source), so
``torchvision.models.resnet50().load_state_dict(..., strict=False)`` (only
``fc`` missing), timm's ``VisionTransformer`` of the same size and
``ssl_jax.backbone.load_backbone`` read the same file.  ``read`` also takes
weights in those layouts from elsewhere: a plain safetensors file, or a
PyTorch checkpoint (``.pth``/``.pt``/``.tar``/``.ckpt``, read with torch
when it is installed) whose backbone sits under a prefix such as
``module.backbone.``; name the prefix as ``FILE#PREFIX`` when a checkpoint
holds several.  Files written by ssl_jax's first export format (msgpack)
are read too.
"""
import io
import json
from typing import Any, Dict

import jax
import jax.numpy as jnp
from flax import serialization

from ssl_jax import storage
from ssl_jax.data.normalization import IMAGENET_MEAN, IMAGENET_STD
from ssl_jax.models import VITS, build_backbone, timm_names, torchvision_names

FORMAT = "ssl_jax.backbone/2"
_MSGPACK_FORMAT = "ssl_jax.backbone/1"
_TORCH_SUFFIXES = (".pth", ".pt", ".tar", ".ckpt")
# (a parameter deep in the network, the first one) of each layout.
_PROBES = {"torchvision": ("layer1.0.conv1.weight", "conv1.weight"),
           "timm": ("blocks.0.attn.qkv.weight", "patch_embed.proj.weight")}


class UnreadableBackbone(ValueError):
  """The file holds no backbone ssl_jax can read (the message says why)."""


def write(fields: Dict[str, Any], path: str):
  """``fields``: a Backbone's fields (model, variables, mean, std, image_size,
  step, source) -> a safetensors file at ``path`` (a local path or URL)."""
  from safetensors.numpy import save  # pylint: disable=g-import-not-at-top
  name = fields["model"]["name"]
  if name in VITS:
    tensors = timm_names.to_timm(fields["variables"]["params"],
                                 _fixed_positions(fields["model"], fields["image_size"]))
  else:
    tensors = torchvision_names.to_torchvision(fields["variables"],
                                               torchvision_names.block_kind(name))
  metadata = {"format": FORMAT, "model": json.dumps(fields["model"]),
              "mean": json.dumps(list(fields["mean"])), "std": json.dumps(list(fields["std"])),
              "image_size": str(fields["image_size"]), "step": str(fields["step"]),
              "source": fields["source"], "data": json.dumps(fields.get("data", {}))}
  storage.write_bytes(path, save(tensors, metadata=metadata))


def _fixed_positions(model, image_size):
  """(kind, grid side) of a ViT whose position embeddings are a fixed table,
  else None."""
  kind = model.get("pos_embed", "learned")
  return None if kind == "learned" else (kind, image_size // VITS[model["name"]][1])


def _safetensors_metadata(data: bytes):
  """The ``__metadata__`` of a safetensors file, or None if it is not one."""
  if len(data) < 8:
    return None
  size = int.from_bytes(data[:8], "little")
  try:
    header = json.loads(data[8:8 + size])
  except (ValueError, UnicodeDecodeError):
    return None
  return header.get("__metadata__", {}) if isinstance(header, dict) else None


def _under_prefix(tensors, path, prefix):
  """The backbone among ``tensors``: keys under ``prefix`` (found when there
  is one candidate), the prefix removed."""
  if prefix is None:
    found = sorted(k[:-len(deep)] for deep, first in _PROBES.values() for k in tensors
                   if k.endswith(deep) and f"{k[:-len(deep)]}{first}" in tensors)
    if not found:
      raise UnreadableBackbone(
          f"{path} holds no torchvision-layout ResNet or timm-layout ViT (none of "
          + ", ".join(f"'{first}' with '{deep}'" for deep, first in _PROBES.values())
          + " under any prefix)")
    if len(found) > 1:
      raise UnreadableBackbone(f"{path} holds {len(found)} backbones (prefixes "
                               f"{', '.join(repr(p) for p in found)}): name one as "
                               f"{path}#PREFIX")
    prefix = found[0]
  out = {k[len(prefix):]: v for k, v in tensors.items() if k.startswith(prefix)}
  if not any(first in out for _, first in _PROBES.values()):
    raise UnreadableBackbone(f"{path} has no backbone under '{prefix}'")
  return out


def _variables(model, tensors, image_size):
  """Our {"params", "batch_stats"} of ``tensors`` in the layout of ``model``'s family."""
  if model["name"] not in VITS:
    return torchvision_names.from_torchvision(tensors)
  shapes = jax.eval_shape(lambda: build_backbone(model).init(
      jax.random.key(0), jnp.zeros((1, 1, image_size, image_size, 3)), train=False))
  if _fixed_positions(model, image_size):  # the table written for timm is not a parameter here
    tensors = {k: v for k, v in tensors.items() if k != "pos_embed"}
  return {"params": timm_names.from_timm(tensors, shapes["params"]), "batch_stats": {}}


def _foreign(tensors, path):
  """Fields of a backbone from torchvision- or timm-layout weights alone:
  ImageNet's normalisation and resolution (32 px for the CIFAR stem)."""
  if _PROBES["timm"][1] in tensors:
    model, size = timm_names.architecture(tensors, VITS), 224
  else:
    name, width, stem = torchvision_names.architecture(tensors)
    model, size = {"name": name, "width": width, "stem": stem}, 224 if stem == "imagenet" else 32
  return {"model": model, "variables": _variables(model, tensors, size),
          "mean": IMAGENET_MEAN, "std": IMAGENET_STD,
          "image_size": size, "step": 0, "source": path}


def _torch_tensors(data, path):
  try:
    import torch  # pylint: disable=g-import-not-at-top
  except ImportError:
    raise UnreadableBackbone(f"{path} is a PyTorch checkpoint: reading it needs torch "
                             f"(pip install torch)") from None
  tree = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
  for key in ("state_dict", "model", "backbone"):  # Lightning, DeiT-style, ...
    if isinstance(tree, dict) and isinstance(tree.get(key), dict):
      tree = tree[key]
  if not isinstance(tree, dict):
    raise UnreadableBackbone(f"{path} holds a {type(tree).__name__}, not a state dict")
  return {k: (v.detach().float() if v.is_floating_point() else v).numpy()
          for k, v in tree.items() if isinstance(v, torch.Tensor)}


def read(path: str) -> Dict[str, Any]:
  """A Backbone's fields from ``path`` (``FILE`` or ``FILE#PREFIX``)."""
  from safetensors.numpy import load  # pylint: disable=g-import-not-at-top
  path, _, prefix = path.partition("#")
  data = storage.path(path).read_bytes()
  metadata = _safetensors_metadata(data)
  if metadata is not None and metadata.get("format") == FORMAT:
    tensors = _tensors(load, data, path)
    model = json.loads(metadata["model"])
    size = int(metadata["image_size"])
    return {"model": model, "variables": _variables(model, tensors, size),
            "mean": tuple(json.loads(metadata["mean"])),
            "std": tuple(json.loads(metadata["std"])),
            "image_size": int(metadata["image_size"]), "step": int(metadata["step"]),
            "source": metadata["source"], "data": json.loads(metadata.get("data", "{}"))}
  if metadata is not None:
    return _foreign(_under_prefix(_tensors(load, data, path), path, prefix or None), path)
  if path.endswith(_TORCH_SUFFIXES):
    return _foreign(_under_prefix(_torch_tensors(data, path), path, prefix or None), path)
  return _read_msgpack(data, path)


def _tensors(load, data, path):
  try:
    return load(data)
  except Exception as e:  # pylint: disable=broad-except
    raise UnreadableBackbone(
        f"{path} cannot be read as an exported backbone ({type(e).__name__}: "
        f"{' '.join(str(e).split())[:200]}): truncated or damaged; export it again") from None


def _read_msgpack(data, path):
  try:
    record = serialization.msgpack_restore(data)
  except Exception as e:  # pylint: disable=broad-except
    raise UnreadableBackbone(
        f"{path} cannot be read as an exported backbone ({type(e).__name__}: "
        f"{' '.join(str(e).split())[:200]}): truncated or not an export; export it "
        f"again") from None
  if not isinstance(record, dict) or record.get("format") != _MSGPACK_FORMAT:
    raise UnreadableBackbone(f"{path} is not an exported ssl_jax backbone")
  return {"model": record["model"], "variables": record["variables"],
          "mean": tuple(record["mean"]), "std": tuple(record["std"]),
          "image_size": int(record["image_size"]), "step": int(record["step"]),
          "source": record["source"]}
