"""The Method interface: heads a method needs and the loss it computes.

A method sees embeddings, never a model: the step runs the forward passes
and hands the method stacked per-view outputs.  Adding a method is one file
with a ``Method`` subclass and a ``make(**config.method)`` factory, one line
in ``methods/__init__.py`` and one config.
"""
import dataclasses
from typing import Any, Dict, NamedTuple, Optional, Sequence, Tuple

import jax

from ssl_jax.models.heads import HeadSpec, MLPSpec

Array = jax.Array
# {"features": [V, N, C], "projection": [V, N, D], "prediction": [V, N, D]}:
# the model outputs of the views a method asked for, stacked in that order.
Outputs = Dict[str, Array]


class LossAux(NamedTuple):
  """What a loss returns besides its value."""
  state: Any                # the new method state (queues, centres, ...)
  metrics: Dict[str, Array]  # scalars to log


@dataclasses.dataclass(frozen=True)
class Method:
  """Base class.  Subclasses are frozen dataclasses holding hyper-parameters.

  Attributes:
    head: the heads the model must have.
    ema_momentum: base momentum of the EMA teacher, annealed to 1 by a cosine
      over training (BYOL); ``None`` means the method uses no teacher.
  """
  head: HeadSpec
  ema_momentum: Optional[float] = None

  def __post_init__(self):
    if self.ema_momentum is not None and not 0.0 <= self.ema_momentum < 1.0:
      raise ValueError(f"ema_momentum must be in [0, 1), got {self.ema_momentum}")

  @property
  def uses_target(self) -> bool:
    return self.ema_momentum is not None

  @property
  def name(self) -> str:
    return type(self).__name__

  def online_views(self, num_views: int) -> Tuple[int, ...]:
    """Indices of the views the online network encodes (default: all)."""
    return tuple(range(num_views))

  def target_views(self, num_global: int) -> Tuple[int, ...]:
    """Indices of the views the EMA teacher encodes (default: global crops)."""
    return tuple(range(num_global))

  def init_state(self, rng, dim: int) -> Any:
    """Method state kept in ``TrainState.method_state`` (default: none)."""
    del rng, dim
    return {}

  def loss(self, online: Outputs, target: Optional[Outputs], state: Any,
           step: Array, rng: Array) -> Tuple[Array, LossAux]:
    """(scalar loss, LossAux) from the stacked outputs of the requested views."""
    raise NotImplementedError


def mlp_spec(spec: Optional[Dict[str, Any]]) -> Optional[MLPSpec]:
  """MLPSpec from a config dict (``hidden_dim``, ``out_dim``, ...) or None."""
  return None if spec is None else MLPSpec(**dict(spec))


__all__ = ["HeadSpec", "LossAux", "MLPSpec", "Method", "Outputs", "Sequence", "mlp_spec"]
