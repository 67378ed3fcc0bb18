"""ReSSL: Relational Self-Supervised Learning (Zheng et al. 2021; solo-learn).

The EMA teacher encodes a weakly augmented view (view 1 of the ``ressl_*``
presets: crop and flip only) into a key k; the student's projection q of
every other view is trained to reproduce k's similarity distribution over a
queue of past keys, sharper on the teacher's side (τ_m 0.04 against τ 0.1,
``kernels.ressl_loss``).  The queue then receives k.  The projector is
Linear -> ReLU -> Linear without BatchNorm (solo-learn's ReSSL head).
"""
import dataclasses
from typing import Optional

from ssl_jax import kernels
from ssl_jax.methods.base import HeadSpec, LossAux, Method, mlp_spec, require_positive
from ssl_jax.methods.queue import enqueue, init_queue

_TEACHER_VIEW = 1


@dataclasses.dataclass(frozen=True)
class ReSSL(Method):
  collapse_hint = ("a teacher temperature too sharp for the queue, or a queue of stale keys "
                   "(EMA momentum too high for a short run)")
  requires_teacher = True

  ema_momentum: Optional[float] = 0.99
  temperature: float = 0.1
  temperature_m: float = 0.04
  queue_size: int = 65536

  def __post_init__(self):
    super().__post_init__()
    require_positive(self, "temperature", "temperature_m", "queue_size")

  def online_views(self, num_views, num_global):
    if num_global < 2:
      raise ValueError("ReSSL needs two global crops (a strong one and the teacher's weak one)")
    return tuple(i for i in range(num_views) if i != _TEACHER_VIEW)

  def target_views(self, num_global):
    return (_TEACHER_VIEW,)

  def init_state(self, rng, dim):
    return init_queue(rng, self.queue_size, dim)

  def loss(self, online, target, state, step, rng):
    del step, rng
    q, k = online["projection"], target["projection"][0]
    loss = sum(kernels.ressl_loss(q[j], k, state["queue"], self.temperature,
                                  self.temperature_m) for j in range(q.shape[0])) / q.shape[0]
    return loss, LossAux(enqueue(state, k), {})


def make(projector, temperature=0.1, temperature_m=0.04, queue_size=65536,
         ema_momentum=ReSSL.ema_momentum):
  return ReSSL(head=HeadSpec(projector=mlp_spec(projector)), ema_momentum=ema_momentum,
               temperature=temperature, temperature_m=temperature_m, queue_size=queue_size)
