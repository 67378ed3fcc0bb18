"""Redundancy-reduction and whitening methods: Barlow Twins, VICReg, VIbCReg, W-MSE."""
import dataclasses
from typing import Callable, ClassVar, Optional

from ssl_jax import kernels
from ssl_jax.methods.base import HeadSpec, LossAux, Method, mlp_spec, require_positive


@dataclasses.dataclass(frozen=True)
class BarlowTwins(Method):
  collapse_hint = ("an off-diagonal weight lambda too small, or an embedding much wider than the "
                   "batch (the cross-correlation cannot reach the identity)")

  lambd: float = 5e-3
  scale: float = 1.0

  online_crops = "global"

  def __post_init__(self):
    super().__post_init__()
    require_positive(self, "lambd", "scale")

  def loss(self, online, target, state, step, rng):
    del target, step, rng
    z = online["projection"]
    return kernels.barlow_twins_loss(z[0], z[1], self.lambd, self.scale), LossAux(state, {})


@dataclasses.dataclass(frozen=True)
class VICReg(Method):
  collapse_hint = ("a variance weight too small against the invariance weight, or a learning "
                   "rate too high for SGD (LARS keeps it stable)")
  kernel: ClassVar[Callable] = staticmethod(kernels.vicreg_loss)

  sim_weight: float = 25.0
  var_weight: float = 25.0
  cov_weight: float = 1.0

  online_crops = "global"

  def loss(self, online, target, state, step, rng):
    del target, step, rng
    z = online["projection"]
    loss = self.kernel(z[0], z[1], self.sim_weight, self.var_weight, self.cov_weight)
    return loss, LossAux(state, {})


@dataclasses.dataclass(frozen=True)
class VIbCReg(VICReg):
  """VIbCReg (Lee & Aune 2021, as solo-learn): VICReg's terms with a
  normalised covariance term (``kernels.vibcreg_loss``) on a projector
  that ends in IterNorm (``MLPSpec.last_iternorm_groups``)."""
  kernel: ClassVar[Callable] = staticmethod(kernels.vibcreg_loss)

  cov_weight: float = 200.0


@dataclasses.dataclass(frozen=True)
class WMSE(Method):
  """W-MSE (Ermolov et al.): whitening in random sub-batches of
  ``whiten_size`` (``None``: the whole batch), ``whiten_iters`` splits;
  ``detach_second``: solo-learn's simplified loss (no gradient into the
  second view of each pair) instead of the authors' (both views).

  One step equals the authors' train.py (htdt/self-supervised; Adam with
  L2, backbone statistics per view, head statistics over both views,
  ``tests/test_official_steps.py``) but for one parametrisation: their
  head's Linear before BatchNorm has a bias, which gets no gradient in
  training mode and only shifts the running mean; ours has none."""
  collapse_hint = ("whitening splits too small for the embedding (at least twice its width), a "
                   "shrinkage eps that undoes the whitening, or SGD where the paper uses Adam: the "
                   "backbone can put its information in directions of tiny variance")

  whiten_size: Optional[int] = None
  whiten_iters: int = 1
  eps: float = 0.0
  detach_second: bool = False

  online_crops = "global"
  # The reference runs its head on torch.cat of the views' features.
  bn_pooling = "heads"

  def __post_init__(self):
    super().__post_init__()
    require_positive(self, "whiten_iters")
    if self.whiten_size is not None and self.whiten_size < 2:
      raise ValueError(f"whiten_size must be >= 2, got {self.whiten_size}")
    if not 0.0 <= self.eps < 1.0:
      raise ValueError(f"eps must be in [0, 1), got {self.eps}")

  def loss(self, online, target, state, step, rng):
    del target, step
    loss = kernels.wmse_loss(online["projection"], rng, self.whiten_size,
                             self.whiten_iters, self.eps, self.detach_second)
    return loss, LossAux(state, {})


def make_barlow_twins(projector, lambd=5e-3, scale=1.0):
  return BarlowTwins(head=HeadSpec(projector=mlp_spec(projector)), lambd=lambd, scale=scale)


def make_vicreg(projector, sim_weight=25.0, var_weight=25.0, cov_weight=1.0):
  return VICReg(head=HeadSpec(projector=mlp_spec(projector)), sim_weight=sim_weight,
                var_weight=var_weight, cov_weight=cov_weight)


def make_wmse(projector, whiten_size=None, whiten_iters=1, eps=0.0, detach_second=False):
  return WMSE(head=HeadSpec(projector=mlp_spec(projector)), whiten_size=whiten_size,
              whiten_iters=whiten_iters, eps=eps, detach_second=detach_second)


def make_vibcreg(projector, sim_weight=25.0, var_weight=25.0, cov_weight=200.0):
  return VIbCReg(head=HeadSpec(projector=mlp_spec(projector)), sim_weight=sim_weight,
                 var_weight=var_weight, cov_weight=cov_weight)
