"""Self-supervised methods by name."""
import inspect

from ssl_jax.methods import intl
from ssl_jax.methods.base import LossAux, Method
from ssl_jax.registry import ConfigError, Registry

METHODS = Registry("method", {
    "intl": intl.make,
})


def build_method(method_config, total_steps: int) -> Method:
  """The Method ``config.method.name`` names, built from the other keys.

  Factories that anneal something over training take ``total_steps``.
  Unknown or invalid hyper-parameters fail with the key and what is valid.
  """
  name = method_config.name
  factory = METHODS.lookup(name, "method.name")
  kwargs = {k: v for k, v in method_config.items() if k != "name"}
  kwargs = {k: (v.to_dict() if hasattr(v, "to_dict") else v) for k, v in kwargs.items()}
  params = inspect.signature(factory).parameters
  if "total_steps" in params:
    kwargs["total_steps"] = total_steps
  unknown = sorted(set(kwargs) - set(params))
  if unknown:
    raise ConfigError(f"method {name!r} does not take config.method.{unknown[0]}; "
                      f"it takes: {', '.join(p for p in params if p != 'total_steps')}")
  try:
    return factory(**kwargs)
  except (TypeError, ValueError) as e:
    raise ConfigError(f"config.method ({name}): {e}") from e


__all__ = ["LossAux", "METHODS", "Method", "build_method"]
