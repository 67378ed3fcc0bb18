"""Predictor-regression methods: BYOL and SimSiam.

BYOL (Grill et al. 2020): the online prediction of each view regresses the
EMA teacher's projection of every other global view; the pair terms are
summed (both directions for two views).  SimSiam (Chen & He 2021): the
same without a teacher, against the stop-gradient online projection,
averaged over the two directions.
"""
import dataclasses
from typing import Optional

from ssl_jax import kernels
from ssl_jax.methods.base import HeadSpec, LossAux, Method, mlp_spec


def _pairs_with_global(num_views, num_global):
  return [(i, j) for i in range(num_views) for j in range(num_global) if i != j]


@dataclasses.dataclass(frozen=True)
class BYOL(Method):
  collapse_hint = ("an EMA momentum too low or a learning rate too high for the predictor to "
                   "keep up, or weight decay missing")
  requires_teacher = True
  required_heads = ("predictor",)

  ema_momentum: Optional[float] = 0.996


  def loss(self, online, target, state, step, rng):
    del step, rng
    p, z = online["prediction"], target["projection"]
    loss = sum(kernels.byol_loss(p[i], z[j])
               for i, j in _pairs_with_global(p.shape[0], z.shape[0]))
    return loss, LossAux(state, {})


@dataclasses.dataclass(frozen=True)
class SimSiam(Method):
  collapse_hint = ("a projector without its last BatchNorm, a predictor learning rate too "
                   "high, or weight decay missing")
  required_heads = ("predictor",)
  online_crops = "global"

  def loss(self, online, target, state, step, rng):
    del target, step, rng
    p, z = online["prediction"], online["projection"]
    pairs = _pairs_with_global(p.shape[0], z.shape[0])
    loss = sum(kernels.simsiam_loss(p[i], z[j]) for i, j in pairs) / len(pairs)
    return loss, LossAux(state, {})


def make_byol(projector, predictor, ema_momentum=BYOL.ema_momentum):
  return BYOL(head=HeadSpec(projector=mlp_spec(projector), predictor=mlp_spec(predictor)),
              ema_momentum=ema_momentum)


def make_simsiam(projector, predictor):
  return SimSiam(head=HeadSpec(projector=mlp_spec(projector), predictor=mlp_spec(predictor)))
