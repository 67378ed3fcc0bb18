"""Backbones and heads."""
from typing import Any, Mapping

import jax.numpy as jnp

from ssl_jax.models.encoder import SSLModel
from ssl_jax.models.heads import MLP, HeadSpec, MLPSpec, PrototypeSpec, Prototypes
from ssl_jax.models.resnet import RESNETS, STEMS, ResNet, ResNet10, ResNet18, ResNet50
from ssl_jax.models.vit import VisionTransformer, vit
from ssl_jax.registry import ConfigError, Registry

# The keys of config.model each family reads, with the values that mean
# "not used" for the other family (a saved model dict may lack newer keys).
_RESNET_KEYS = {"width": 1.0, "stem": "imagenet", "zero_init_residual": False}
_VIT_KEYS = {"drop_path_rate": 0.0, "layerscale": None, "registers": 0, "num_heads": None,
             "pos_embed": "learned", "pool": "cls", "patch_stem": "linear"}


def _settings(model: Mapping[str, Any], own, other):
  """``own`` keys from ``model`` (defaults where absent); a key of the other
  family set away from its default is refused."""
  for key, unused in other.items():
    if model.get(key, unused) != unused:
      raise ConfigError(f"model.{key}={model[key]!r} does not apply to {model['name']}")
  return {key: model.get(key, default) for key, default in own.items()}


def _resnet(cls):
  def build(model, dtype):
    return cls(dtype=dtype, **_settings(model, _RESNET_KEYS, _VIT_KEYS))
  return build


def _vit(size, patch):
  def build(model, dtype):
    settings = _settings(model, _VIT_KEYS, _RESNET_KEYS)
    heads = settings.pop("num_heads")
    return vit(size, patch)(dtype=dtype, **settings, **({"heads": heads} if heads else {}))
  return build


# Our name -> (size, patch).  ViT-Tiny/4 is for 24-32 px images (the CPU
# quickstart: 36 patches at 24 px); the others are timm's.
VITS = {"vit_tiny4": ("tiny", 4), "vit_tiny16": ("tiny", 16), "vit_small16": ("small", 16),
        "vit_small8": ("small", 8), "vit_base16": ("base", 16), "vit_base8": ("base", 8),
        "vit_large16": ("large", 16)}
BACKBONES = Registry("model", {
    **{name: _resnet(cls) for name, cls in RESNETS.items()},
    **{name: _vit(*size_patch) for name, size_patch in VITS.items()},
})


def build_backbone(model: Mapping[str, Any], dtype=jnp.float32):
  """The backbone module ``model`` (config.model, or a saved model dict) names."""
  return BACKBONES.lookup(model["name"], "model.name")(model, dtype)


def build_model(model_config, head: HeadSpec, dtype=jnp.float32) -> SSLModel:
  """SSLModel from ``config.model`` and a method's heads."""
  return SSLModel(backbone=build_backbone(model_config, dtype), head=head, dtype=dtype)


__all__ = ["BACKBONES", "VITS", "HeadSpec", "MLP", "MLPSpec", "PrototypeSpec", "Prototypes", "ResNet",
           "ResNet10", "ResNet18", "ResNet50", "SSLModel", "STEMS", "VisionTransformer",
           "build_backbone", "build_model"]
