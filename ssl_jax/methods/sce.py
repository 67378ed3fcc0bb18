"""SCE: Similarity Contrastive Estimation (Denize et al. 2023; eztorch).

The online prediction q of one global view is trained toward a soft target
that mixes the one-hot positive (weight λ) with the momentum key's
similarity distribution over a queue (weight 1 - λ); see ``kernels.sce_loss``.
Symmetrised over the ordered pairs of global views; the queue receives the
keys of every global crop.  τ_m may be warmed up from ``temperature_m_start``
over the first ``temperature_m_warmup_steps`` steps (cosine, as eztorch).
"""
import dataclasses

import jax.numpy as jnp

from ssl_jax import kernels
from ssl_jax.methods.base import (HeadSpec, LossAux, Method, mlp_spec, require_positive,
                                  require_unit_interval, view_pairs)
from ssl_jax.methods.queue import enqueue, init_queue
from ssl_jax.schedules import cosine_anneal


@dataclasses.dataclass(frozen=True)
class SCE(Method):
  lam: float = 0.5
  temperature: float = 0.1
  temperature_m: float = 0.07
  temperature_m_start: float = 0.07
  temperature_m_warmup_steps: int = 0
  queue_size: int = 65536

  def __post_init__(self):
    super().__post_init__()
    require_positive(self, "temperature", "temperature_m", "temperature_m_start", "queue_size")
    require_unit_interval(self, "lam")

  def online_views(self, num_views, num_global):
    del num_views
    return tuple(range(num_global))

  def init_state(self, rng, dim):
    return init_queue(rng, self.queue_size, dim)

  def _temperature_m(self, step):
    if self.temperature_m_warmup_steps <= 0:
      return jnp.asarray(self.temperature_m, jnp.float32)
    warm = cosine_anneal(self.temperature_m_start, self.temperature_m,
                         self.temperature_m_warmup_steps)(step)
    return jnp.where(step < self.temperature_m_warmup_steps, warm, self.temperature_m)

  def loss(self, online, target, state, step, rng):
    del rng
    q = online["prediction"] if "prediction" in online else online["projection"]
    k = target["projection"]
    tau_m = self._temperature_m(step)
    pairs = view_pairs(q.shape[0])
    loss = sum(kernels.sce_loss(q[i], k[j], state["queue"], self.lam, self.temperature,
                                tau_m) for i, j in pairs) / len(pairs)
    return loss, LossAux(enqueue(state, k.reshape(-1, k.shape[-1])), {"sce_tau_m": tau_m})


def make(projector, predictor=None, lam=0.5, temperature=0.1, temperature_m=0.07,
         temperature_m_start=None, temperature_m_warmup_epochs=0.0, queue_size=65536,
         ema_momentum=0.99, steps_per_epoch=1):
  head = HeadSpec(projector=mlp_spec(projector), predictor=mlp_spec(predictor))
  return SCE(head=head, ema_momentum=ema_momentum, lam=lam, temperature=temperature,
             temperature_m=temperature_m,
             temperature_m_start=temperature_m if temperature_m_start is None
             else temperature_m_start,
             temperature_m_warmup_steps=int(round(temperature_m_warmup_epochs * steps_per_epoch)),
             queue_size=queue_size)
