"""SCE: Similarity Contrastive Estimation (Denize et al. 2023; eztorch).

The online prediction q of one view is trained toward a soft target that
mixes the one-hot positive (weight λ) with the momentum key's similarity
distribution over a queue (weight 1 - λ); see ``kernels.sce_loss``.  As
eztorch's symmetric loss (``symmetric=True``, its ImageNet recipe): every
crop (local crops too) against the teacher key of every other global crop,
averaged; the queue receives the keys of every global crop.  One-directional
(``symmetric=False``, the supplement's pseudo-code and its small/medium
dataset recipe; eztorch's ``sym=False``): the teacher encodes view 0 only
(the strong view of the ``sce_*`` presets), every other view is a query
against its key, and the queue receives view 0's keys.  τ_m may be warmed
up from ``temperature_m_start`` over the first ``temperature_m_warmup_steps``
steps (cosine, as eztorch).

One and three steps equal eztorch's ``SCEModel`` under a Lightning
``Trainer`` (multi-crop, τ_m warm-up, a queue that wraps, LARS;
tests/test_official_steps.py).  Kept different: eztorch's learning rate
starts its warm-up at 0 and reaches the peak at step W - 1 (ours: peak
(s + 1) / W), and its EMA momentum after step s is the cosine at s over
T - 1 steps (ours: at s + 1 over T, ``schedules.ema_momentum``); neither
changes a value by more than one step's increment.
"""
import dataclasses
from typing import Optional

import jax.numpy as jnp

from ssl_jax import kernels
from ssl_jax.methods.base import (HeadSpec, LossAux, Method, mlp_spec, require_positive,
                                  require_unit_interval)
from ssl_jax.methods.queue import enqueue, init_queue
from ssl_jax.kernels.schedules import cosine_anneal


@dataclasses.dataclass(frozen=True)
class SCE(Method):
  collapse_hint = ("a target temperature tau_m much sharper than tau, a queue of stale keys "
                   "(momentum too low), or a per-image nuisance the views keep")
  requires_teacher = True

  ema_momentum: Optional[float] = 0.99
  lam: float = 0.5
  temperature: float = 0.1
  temperature_m: float = 0.07
  temperature_m_start: float = 0.07
  temperature_m_warmup_steps: int = 0
  queue_size: int = 65536
  symmetric: bool = True

  def __post_init__(self):
    super().__post_init__()
    require_positive(self, "temperature", "temperature_m", "temperature_m_start", "queue_size")
    require_unit_interval(self, "lam")

  def online_views(self, num_views, num_global):
    del num_global
    return tuple(range(0 if self.symmetric else 1, num_views))

  def target_views(self, num_global):
    return tuple(range(num_global if self.symmetric else 1))

  def init_state(self, rng, dim):
    return init_queue(rng, self.queue_size, dim)

  def _temperature_m(self, step):
    if self.temperature_m_warmup_steps <= 0:
      return jnp.asarray(self.temperature_m, jnp.float32)
    # eztorch's cosine reaches τ_m at the warm-up's last step (W - 1).
    warm = cosine_anneal(self.temperature_m_start, self.temperature_m,
                         max(self.temperature_m_warmup_steps - 1, 1))(step)
    return jnp.where(step < self.temperature_m_warmup_steps, warm, self.temperature_m)

  def loss(self, online, target, state, step, rng):
    del rng
    q = online["prediction"] if "prediction" in online else online["projection"]
    k = target["projection"]
    tau_m = self._temperature_m(step)
    if self.symmetric:
      # Every crop (local ones too) against every other crop's teacher key.
      pairs = [(j, i) for i in range(k.shape[0]) for j in range(q.shape[0]) if j != i]
    else:
      pairs = [(j, 0) for j in range(q.shape[0])]
    loss = sum(kernels.sce_loss(q[j], k[i], state["queue"], self.lam, self.temperature,
                                tau_m) for j, i in pairs) / len(pairs)
    return loss, LossAux(enqueue(state, k.reshape(-1, k.shape[-1])), {"sce_tau_m": tau_m})


def make(projector, predictor=None, lam=0.5, temperature=0.1, temperature_m=0.07,
         temperature_m_start=None, temperature_m_warmup_epochs=0.0, queue_size=65536,
         ema_momentum=SCE.ema_momentum, symmetric=True, steps_per_epoch=1):
  head = HeadSpec(projector=mlp_spec(projector), predictor=mlp_spec(predictor))
  return SCE(head=head, ema_momentum=ema_momentum, lam=lam, temperature=temperature,
             temperature_m=temperature_m,
             temperature_m_start=temperature_m if temperature_m_start is None
             else temperature_m_start,
             temperature_m_warmup_steps=int(round(temperature_m_warmup_epochs * steps_per_epoch)),
             queue_size=queue_size, symmetric=symmetric)
