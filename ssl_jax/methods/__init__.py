"""Self-supervised methods by name."""
import dataclasses
import inspect

from ssl_jax.methods import (clustering, contrastive, deepcluster, distillation, intl, masked,
                             redundancy, regression, ressl, sce)
from ssl_jax.methods.base import LossAux, Method
from ssl_jax.registry import ConfigError, Registry

METHODS = Registry("method", {
    "barlow_twins": redundancy.make_barlow_twins,
    "byol": regression.make_byol,
    "deepclusterv2": deepcluster.make,
    "dino": distillation.make,
    "ibot": distillation.make_ibot,
    "intl": intl.make,
    "mae": masked.make,
    "mio": contrastive.make_mio,
    "mira": clustering.make_mira,
    "mocov2": contrastive.make_mocov2,
    "mocov3": contrastive.make_mocov3,
    "nnclr": contrastive.make_nnclr,
    "ressl": ressl.make,
    "sce": sce.make,
    "simclr": contrastive.make_simclr,
    "simsiam": regression.make_simsiam,
    "swav": clustering.make_swav,
    "vibcreg": redundancy.make_vibcreg,
    "vicreg": redundancy.make_vicreg,
    "wmse": redundancy.make_wmse,
})

# Quantities of the run (not hyper-parameters) a factory may ask for by name.
RUN_ARGS = ("total_steps", "steps_per_epoch", "num_examples")
# Options every method takes (Method's fields), set on what the factory built.
COMMON_ARGS = ("koleo_weight",)


def build_method(method_config, total_steps: int, steps_per_epoch: int = 1,
                 num_examples: int = 0) -> Method:
  """The Method ``config.method.name`` names, built from the other keys.

  Factories that schedule something over training also receive
  ``total_steps`` / ``steps_per_epoch``; those that keep something per
  example, the training split's ``num_examples``.  Unknown or invalid
  hyper-parameters fail with the key and what is valid.
  """
  name = method_config.name
  factory = METHODS.lookup(name, "method.name")
  kwargs = {k: v for k, v in method_config.items() if k != "name"}
  kwargs = {k: (v.to_dict() if hasattr(v, "to_dict") else v) for k, v in kwargs.items()}
  common = {k: kwargs.pop(k) for k in COMMON_ARGS if k in kwargs}
  params = inspect.signature(factory).parameters
  unknown = sorted(set(kwargs) - (set(params) - set(RUN_ARGS)))
  if unknown:
    takes = [p for p in params if p not in RUN_ARGS] + list(COMMON_ARGS)
    raise ConfigError(f"method {name!r} does not take config.method.{unknown[0]}; "
                      f"it takes: {', '.join(takes)}")
  run = {"total_steps": total_steps, "steps_per_epoch": steps_per_epoch,
         "num_examples": num_examples}
  kwargs.update({k: v for k, v in run.items() if k in params})
  try:
    return dataclasses.replace(factory(**kwargs), **common)
  except (TypeError, ValueError) as e:
    raise ConfigError(f"config.method ({name}): {e}") from e


__all__ = ["LossAux", "METHODS", "Method", "build_method"]
