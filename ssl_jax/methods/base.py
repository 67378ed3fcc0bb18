"""The Method interface: heads a method needs and the loss it computes.

A method sees embeddings, never a model: the step runs the forward passes
and hands the method stacked per-view outputs.  Adding a method is one file
with a ``Method`` subclass and a ``make(**config.method)`` factory, one line
in ``methods/__init__.py`` and one config.
"""
import dataclasses
from typing import Any, ClassVar, Dict, NamedTuple, Optional, Sequence, Tuple

import jax
import jax.numpy as jnp

from ssl_jax import kernels
from ssl_jax.kernels import schedules
from ssl_jax.models.heads import HeadSpec, MLPSpec, PrototypeSpec

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
    ema_anneal: False keeps the momentum at ``ema_momentum`` throughout
      (MoCo v2's official 0.999).
    koleo_weight: weight of the KoLeo uniformity term (``kernels.koleo_loss``,
      DINOv2's) on each online view's embedding (the projector's output; the
      backbone features without a projector), added to the method's loss by
      ``objective``; 0 (every paper's setting) leaves the loss as the paper
      defines it.

  Class attributes a subclass may override:
    collapse_hint: what usually makes this method collapse (completes "For
      <method> this usually means ..." in the collapse report).
    requires_teacher: the loss reads the EMA teacher's outputs, so
      ``ema_momentum`` must be set (MoCo, BYOL, SCE); those methods default
      it to their recipe's.
    required_heads: the parts of ``head`` the loss reads besides the
      projector ("predictor", "prototypes", "decoder", "patch_masks").
    online_crops: which views the online network encodes: "all" (local
      crops too, for methods with a multi-crop form) or "global" (the global
      crops only; local crops in the view set are left unused).
    bn_pooling: which layers pool their BatchNorm statistics over the
      views of one size (``models.encoder.BN_POOLINGS``): "per_view" (as
      separate forward passes), "heads" (W-MSE's reference runs the
      backbone per view and its head on the views concatenated) or "all"
      (DINO and SwAV batch the views).
    teacher_parts: parameter groups the teacher keeps as an EMA.
    copied_teacher_parts: groups the teacher copies from the online model
      every step instead (MIRA shares its prototypes).
    uses_example_index: the loss reads ``index``, each example's index in
      the training split (DeepCluster v2's memory bank), so the batches
      must come from an indexed split.
  """
  head: HeadSpec
  ema_momentum: Optional[float] = None
  ema_anneal: bool = True
  koleo_weight: float = 0.0

  collapse_hint: ClassVar[str] = ("a learning rate too high for the batch, or heads and "
                                   "temperatures far from the method's recipe")
  requires_teacher: ClassVar[bool] = False
  required_heads: ClassVar[Tuple[str, ...]] = ()
  online_crops: ClassVar[str] = "all"
  bn_pooling: ClassVar[str] = "per_view"
  teacher_parts: ClassVar[Tuple[str, ...]] = ("backbone", "projector")
  copied_teacher_parts: ClassVar[Tuple[str, ...]] = ()
  uses_example_index: ClassVar[bool] = False

  def __post_init__(self):
    if self.requires_teacher and self.ema_momentum is None:
      raise ValueError(f"{self.name} needs an EMA teacher: set ema_momentum")
    for part in self.required_heads:
      if getattr(self.head, part) is None:
        raise ValueError(f"{self.name} needs a {part} head")
    if self.ema_momentum is not None and not 0.0 <= self.ema_momentum < 1.0:
      raise ValueError(f"ema_momentum must be in [0, 1), got {self.ema_momentum}")
    if self.koleo_weight < 0:
      raise ValueError(f"koleo_weight must be >= 0, got {self.koleo_weight}")

  @property
  def uses_target(self) -> bool:
    return self.ema_momentum is not None

  def ema_schedule(self, total_steps: int):
    """Step -> the teacher's EMA momentum (None without a teacher)."""
    if not self.uses_target:
      return None
    if not self.ema_anneal:
      return lambda step: jnp.asarray(self.ema_momentum, jnp.float32)
    return schedules.ema_momentum(self.ema_momentum, total_steps)

  @property
  def idle_steps(self) -> int:
    """Steps at the start of a run that train nothing (every parameter group
    frozen: DeepCluster v2 fills its memory bank); the learning-rate
    schedule starts after them."""
    return 0

  @property
  def name(self) -> str:
    return type(self).__name__

  def online_views(self, num_views: int, num_global: int) -> Tuple[int, ...]:
    """Indices of the views the online network encodes (``online_crops``)."""
    return tuple(range(num_views if self.online_crops == "all" else num_global))

  def target_views(self, num_global: int) -> Tuple[int, ...]:
    """Indices of the views the EMA teacher encodes (default: global crops)."""
    return tuple(range(num_global))

  def masked_views(self, num_global: int) -> Tuple[int, ...]:
    """Indices of the online views whose patches the model masks (iBOT's
    global crops, with ``head.patch_masks``; default: none)."""
    del num_global
    return ()

  def prepare_params(self, params):
    """Online params as the step should use them (SwAV renormalises its
    prototypes here); the result is also what the step stores."""
    return params

  def frozen_parts(self, step) -> Dict[str, Array]:
    """{parameter group: bool array} of the groups the optimiser leaves
    untouched at ``step``: no update, no weight decay and its state kept,
    as the references do by setting their gradients to None."""
    del step
    return {}

  def init_state(self, rng, dim: int) -> Any:
    """Method state kept in ``TrainState.method_state`` (default: none)."""
    del rng, dim
    return {}

  def loss(self, online: Outputs, target: Optional[Outputs], state: Any,
           step: Array, rng: Array) -> Tuple[Array, LossAux]:
    """(scalar loss, LossAux) from the stacked outputs of the requested views."""
    raise NotImplementedError

  def objective(self, online: Outputs, target: Optional[Outputs], state: Any,
                step: Array, rng: Array, index: Optional[Array] = None
                ) -> Tuple[Array, LossAux]:
    """What the step minimises: ``loss`` plus ``koleo_weight`` times the
    KoLeo term of each online view's embedding (mean over views).  On the
    embedding, not the backbone's non-negative pooled features: on those, at
    weight 0.1, MIRA's quickstart on ``digits`` still ended with backbone
    features of effective rank 2.0; on the embedding, 13.0."""
    by_index = {"index": index} if self.uses_example_index else {}
    loss, aux = self.loss(online, target, state, step, rng, **by_index)
    if not self.koleo_weight:
      return loss, aux
    z = online.get("projection", online["features"])
    koleo = jnp.mean(jax.vmap(kernels.koleo_loss)(z))
    return loss + self.koleo_weight * koleo, aux._replace(metrics={**aux.metrics,
                                                                    "koleo": koleo})


def mlp_spec(spec: Optional[Dict[str, Any]]) -> Optional[MLPSpec]:
  """MLPSpec from a config dict (``hidden_dim``, ``out_dim``, ...) or None."""
  return None if spec is None else MLPSpec(**dict(spec))


def frozen_until(part: str, step, num_steps: int) -> Dict[str, Array]:
  """``frozen_parts`` for one group frozen while step < num_steps."""
  return {part: step < num_steps} if num_steps > 0 else {}


def require_positive(method, *names):
  """ValueError naming the first hyper-parameter that is not > 0."""
  for name in names:
    value = getattr(method, name)
    if not value > 0:
      raise ValueError(f"{name} must be > 0, got {value}")


def require_unit_interval(method, *names):
  """ValueError naming the first hyper-parameter outside [0, 1]."""
  for name in names:
    value = getattr(method, name)
    if not 0.0 <= value <= 1.0:
      raise ValueError(f"{name} must be in [0, 1], got {value}")


def view_pairs(num_views: int):
  """Ordered pairs (i, j), i != j, of view indices."""
  return [(i, j) for i in range(num_views) for j in range(num_views) if i != j]


__all__ = ["HeadSpec", "LossAux", "MLPSpec", "Method", "Outputs", "PrototypeSpec",
           "Sequence", "frozen_until", "mlp_spec", "require_positive",
           "require_unit_interval", "view_pairs"]
