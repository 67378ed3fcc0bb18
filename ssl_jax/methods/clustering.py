"""Online clustering methods: SwAV and MIRA.

SwAV (Caron et al. 2020): Sinkhorn codes of each global crop supervise the
prototype scores of every other crop.  Prototypes are renormalised to unit
length before every step and frozen for the first epoch; as SwAV's model
batches them, the crops of one resolution share the backbone's BatchNorm
statistics and all crops share the projection head's.

MIRA (Lee et al. 2023, official code): the logits of the two global crops
go through the MIRA fixed point; its targets supervise every other crop of
the online network.  With ``ema_momentum`` they are the EMA teacher's
logits (the teacher shares the online prototypes: copied, not averaged);
with ``ema_momentum=None`` the online network's own, under stop-gradient,
as in the appendix's Algorithm 1.  The prototypes are weight-normalised and
frozen for the first epoch (the optimiser skips them: no decay, no
momentum), and β is cosine-annealed from 0.75 to 2/3.

One and three steps equal the official train.py's (LARS, a frozen then
released head, multi-crop; tests/test_official_steps.py).  Kept different:
the official scheduler warms the learning rate up from 0.3 (unscaled)
over W + 1 steps, ``schedules.warmup_cosine`` from 0 over W steps; at the
paper's peak of 4.8 the two differ by at most 0.3 in the first epochs.
"""
import dataclasses

from ssl_jax import kernels
from ssl_jax.kernels.similarity import l2_normalize
from ssl_jax.methods.base import (HeadSpec, LossAux, Method, PrototypeSpec, frozen_until,
                                  mlp_spec, require_positive)
from ssl_jax.kernels.schedules import cosine_anneal


@dataclasses.dataclass(frozen=True)
class SwAV(Method):
  collapse_hint = ("too few prototypes for the batch, a Sinkhorn epsilon so large that the "
                   "codes are uniform, or prototypes trained too early")
  required_heads = ("prototypes",)

  temperature: float = 0.1
  epsilon: float = 0.05
  sinkhorn_iters: int = 3
  freeze_prototypes_steps: int = 0

  bn_pooling = "all"

  def __post_init__(self):
    super().__post_init__()
    require_positive(self, "temperature", "epsilon", "sinkhorn_iters")

  def prepare_params(self, params):
    protos = params["prototypes"]
    return {**params, "prototypes": {**protos, "kernel": l2_normalize(protos["kernel"])}}

  def frozen_parts(self, step):
    return frozen_until("prototypes", step, self.freeze_prototypes_steps)

  def loss(self, online, target, state, step, rng):
    del target, step, rng
    loss = kernels.swav_loss(online["logits"], (0, 1), self.temperature, self.epsilon,
                             self.sinkhorn_iters)
    return loss, LossAux(state, {})


@dataclasses.dataclass(frozen=True)
class MIRA(Method):
  collapse_hint = ("targets too flat for the number of prototypes (tau_t too high for a "
                   "small network), a batch too small for the marginal the fixed point "
                   "balances, or a teacher that lags (EMA momentum too high for a short run)")
  required_heads = ("prototypes",)

  tau_s: float = 0.1
  tau_t: float = 0.225
  beta_start: float = 0.75
  beta_end: float = 2.0 / 3.0
  iters: int = 30
  total_steps: int = 1
  freeze_prototypes_steps: int = 0

  copied_teacher_parts = ("prototypes",)

  def __post_init__(self):
    super().__post_init__()
    require_positive(self, "tau_s", "tau_t", "iters")
    for name in ("beta_start", "beta_end"):
      if not 0.0 <= getattr(self, name) < 1.0:
        raise ValueError(f"{name} must be in [0, 1), got {getattr(self, name)}")

  def target_views(self, num_global):
    if num_global < 2:
      raise ValueError("MIRA needs two global crops")
    return (0, 1)

  def frozen_parts(self, step):
    return frozen_until("prototypes", step, self.freeze_prototypes_steps)

  def loss(self, online, target, state, step, rng):
    del rng
    beta = cosine_anneal(self.beta_start, self.beta_end, self.total_steps)(step)
    # mira_targets stops the gradient, so the online logits can be the teacher's.
    teacher = target["logits"] if target is not None else online["logits"][:2]
    loss = kernels.mira_loss(online["logits"], teacher, self.tau_s, self.tau_t, beta,
                             self.iters)
    return loss, LossAux(state, {"mira_beta": beta})


def make_swav(projector, num_prototypes=3000, temperature=0.1, epsilon=0.05,
              sinkhorn_iters=3, freeze_prototypes_epochs=1.0, steps_per_epoch=1):
  head = HeadSpec(projector=mlp_spec(projector),
                  prototypes=PrototypeSpec(num_prototypes, normalize_weights=False))
  return SwAV(head=head, temperature=temperature, epsilon=epsilon,
              sinkhorn_iters=sinkhorn_iters,
              freeze_prototypes_steps=int(round(freeze_prototypes_epochs * steps_per_epoch)))


def make_mira(projector, num_prototypes=3000, tau_s=0.1, tau_t=0.225, beta_start=0.75,
              beta_end=2.0 / 3.0, iters=30, ema_momentum=0.99, freeze_prototypes_epochs=1.0,
              total_steps=1, steps_per_epoch=1):
  head = HeadSpec(projector=mlp_spec(projector),
                  prototypes=PrototypeSpec(num_prototypes, normalize_weights=True))
  return MIRA(head=head, ema_momentum=ema_momentum, tau_s=tau_s, tau_t=tau_t,
              beta_start=beta_start, beta_end=beta_end, iters=iters, total_steps=total_steps,
              freeze_prototypes_steps=int(round(freeze_prototypes_epochs * steps_per_epoch)))
