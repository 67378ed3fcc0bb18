"""Backbones and heads."""
import jax.numpy as jnp

from ssl_jax.models.encoder import SSLModel
from ssl_jax.models.heads import MLP, HeadSpec, MLPSpec, PrototypeSpec, Prototypes
from ssl_jax.models.resnet import STEMS, ResNet, ResNet10, ResNet18, ResNet50
from ssl_jax.registry import Registry

BACKBONES = Registry("model", {"resnet10": ResNet10, "resnet18": ResNet18, "resnet50": ResNet50})


def build_model(model_config, head: HeadSpec, dtype=jnp.float32) -> SSLModel:
  """SSLModel from ``config.model`` (name, width, stem, zero_init_residual)
  and a method's heads."""
  backbone = BACKBONES.lookup(model_config.name, "model.name")(
      width=model_config.width, stem=model_config.stem, dtype=dtype,
      zero_init_residual=model_config.zero_init_residual)
  return SSLModel(backbone=backbone, head=head, dtype=dtype)


__all__ = ["BACKBONES", "HeadSpec", "MLP", "MLPSpec", "PrototypeSpec", "Prototypes", "ResNet", "ResNet10", "ResNet18",
           "ResNet50", "SSLModel", "STEMS", "build_model"]
