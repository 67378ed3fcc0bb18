"""Contrastive methods: SimCLR, MoCo v2, MoCo v3, MIO and NNCLR.

SimCLR (Chen et al. 2020): NT-Xent over every view of the batch.
MoCo v2 (Chen et al. 2020), symmetrised as in solo-learn (``symmetric``):
each global view's query against the other's momentum key and a queue that
receives the keys of every global crop; or one-directional as the official
code: view 0's query against view 1's key, the queue receiving view 1's
keys.  MoCo v3 (Chen et al. 2021): predictions against the
other view's momentum keys, in-batch negatives, both directions summed.
MIO (binary contrastive, ``mio_loss``) over the two views.  NNCLR
(Dwibedi et al. 2021, as solo-learn): each view's projection is replaced by
its nearest neighbour in a support queue, the positive of the other view's
prediction (``nnclr_loss``), both directions averaged; the queue receives
view 0's projections.

MIO's one and three steps equal miossl's ``Trainer.train_epoch`` with its
LARS (tests/test_official_steps.py), but for choices kept on purpose:
miossl changes the learning rate once per epoch (its warm-up starts at
1e-4), ours every step; its LARS scales the step before the momentum
buffer, ours after it (the same while the rate is constant, which in
miossl is all of an epoch); it exempts parameters from decay and trust
ratios by name ('bn', 'bias'), which misses torchvision's downsampling
BatchNorm ('downsample.1'), where ours exempts every BatchNorm; and its
32 px stem is a 3x3 convolution without padding, ours pads as INTL's and
solo-learn's do.
"""
import dataclasses
from typing import Optional

from ssl_jax import kernels
from ssl_jax.methods.base import (HeadSpec, LossAux, Method, mlp_spec, require_positive,
                                  view_pairs)
from ssl_jax.methods.queue import enqueue, init_queue


@dataclasses.dataclass(frozen=True)
class SimCLR(Method):
  collapse_hint = ("a temperature too high for the batch, or a per-image nuisance the views "
                   "keep (background, fixed clutter) that makes instances easy to tell apart "
                   "without the content")

  temperature: float = 0.1

  def __post_init__(self):
    super().__post_init__()
    require_positive(self, "temperature")

  def loss(self, online, target, state, step, rng):
    del target, step, rng
    return kernels.simclr_loss(online["projection"], self.temperature), LossAux(state, {})


@dataclasses.dataclass(frozen=True)
class MoCoV2(Method):
  collapse_hint = ("a temperature too high, a projector without BatchNorm on a small "
                   "network, or a per-image nuisance the views keep that makes instances "
                   "easy to tell apart")
  requires_teacher = True

  ema_momentum: Optional[float] = 0.99
  temperature: float = 0.2
  queue_size: int = 65536
  symmetric: bool = True

  def __post_init__(self):
    super().__post_init__()
    require_positive(self, "temperature", "queue_size")

  online_crops = "global"

  def online_views(self, num_views, num_global):
    return super().online_views(num_views, num_global) if self.symmetric else (0,)

  def target_views(self, num_global):
    return super().target_views(num_global) if self.symmetric else (1,)

  def init_state(self, rng, dim):
    return init_queue(rng, self.queue_size, dim)

  def loss(self, online, target, state, step, rng):
    del step, rng
    q, k = online["projection"], target["projection"]
    pairs = view_pairs(q.shape[0]) if self.symmetric else [(0, 0)]
    loss = sum(kernels.mocov2_loss(q[i], k[j], state["queue"], self.temperature)
               for i, j in pairs) / len(pairs)
    return loss, LossAux(enqueue(state, k.reshape(-1, k.shape[-1])), {})


@dataclasses.dataclass(frozen=True)
class MoCoV3(Method):
  collapse_hint = ("a learning rate too high for the predictor, a momentum too low, or a "
                   "per-image nuisance the views keep")
  requires_teacher = True
  required_heads = ("predictor",)

  ema_momentum: Optional[float] = 0.99
  temperature: float = 1.0

  def __post_init__(self):
    super().__post_init__()
    require_positive(self, "temperature")

  online_crops = "global"

  def loss(self, online, target, state, step, rng):
    del step, rng
    q, k = online["prediction"], target["projection"]
    loss = sum(kernels.mocov3_loss(q[i], k[j], self.temperature)
               for i, j in view_pairs(q.shape[0]))
    return loss, LossAux(state, {})


@dataclasses.dataclass(frozen=True)
class MIO(Method):
  collapse_hint = ("temperatures too high for the batch, or a per-image nuisance the views "
                   "keep")

  temperature_pos: float = 0.5
  temperature_neg: float = 0.5
  lam: float = 1.0
  regularizer: str = "mean"

  def __post_init__(self):
    super().__post_init__()
    require_positive(self, "temperature_pos", "temperature_neg")
    if self.lam < 0:
      raise ValueError(f"lam must be >= 0, got {self.lam}")
    if self.regularizer not in ("mean", "sum"):
      raise ValueError(f"regularizer must be 'mean' or 'sum', got {self.regularizer!r}")

  online_crops = "global"

  def loss(self, online, target, state, step, rng):
    del target, step, rng
    z = online["projection"]
    loss = kernels.mio_loss(z[0], z[1], self.temperature_pos, self.temperature_neg,
                            self.lam, self.regularizer)
    return loss, LossAux(state, {})


@dataclasses.dataclass(frozen=True)
class NNCLR(Method):
  collapse_hint = ("a support set too small or too stale for the batch (neighbours that are "
                   "the same few keys), or a temperature too high for the batch")
  required_heads = ("predictor",)
  online_crops = "global"

  temperature: float = 0.1
  queue_size: int = 98304

  def __post_init__(self):
    super().__post_init__()
    require_positive(self, "temperature", "queue_size")

  def init_state(self, rng, dim):
    return init_queue(rng, self.queue_size, dim)

  def loss(self, online, target, state, step, rng):
    del target, step, rng
    z, p = online["projection"], online["prediction"]
    if z.shape[0] != 2:
      raise ValueError(f"NNCLR takes two views, got {z.shape[0]}")
    support = state["queue"]
    loss = 0.5 * (kernels.nnclr_loss(z[0], p[1], support, self.temperature)
                  + kernels.nnclr_loss(z[1], p[0], support, self.temperature))
    return loss, LossAux(enqueue(state, z[0]), {})


def make_simclr(projector, temperature=0.1):
  return SimCLR(head=HeadSpec(projector=mlp_spec(projector)), temperature=temperature)


def make_mocov2(projector, temperature=0.2, queue_size=65536,
                ema_momentum=MoCoV2.ema_momentum, symmetric=True, ema_anneal=True):
  return MoCoV2(head=HeadSpec(projector=mlp_spec(projector)), temperature=temperature,
                queue_size=queue_size, ema_momentum=ema_momentum, symmetric=symmetric,
                ema_anneal=ema_anneal)


def make_mocov3(projector, predictor, temperature=1.0, ema_momentum=MoCoV3.ema_momentum):
  return MoCoV3(head=HeadSpec(projector=mlp_spec(projector), predictor=mlp_spec(predictor)),
                temperature=temperature, ema_momentum=ema_momentum)


def make_mio(projector, temperature_pos=0.5, temperature_neg=0.5, lam=1.0,
             regularizer="mean"):
  return MIO(head=HeadSpec(projector=mlp_spec(projector)), temperature_pos=temperature_pos,
             temperature_neg=temperature_neg, lam=lam, regularizer=regularizer)



def make_nnclr(projector, predictor, temperature=0.1, queue_size=98304):
  return NNCLR(head=HeadSpec(projector=mlp_spec(projector), predictor=mlp_spec(predictor)),
               temperature=temperature, queue_size=queue_size)
