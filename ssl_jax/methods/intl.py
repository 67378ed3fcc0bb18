"""INTL: Invariance guided by Iterative Normalisation with Trace Loss.

Weng et al., "Modulate your spectrum in self-supervised learning" (INTL
appendix: Algorithm 1 / Figure I).  Without EMA every view is encoded by the
online network and compared to crop 0; with EMA (INTL_M) crop 0 is encoded
by the teacher only and the online network encodes the other crops.

One and three steps of both equal the official main.py's ``train`` with its
learning-rate and momentum schedules (tests/test_official_steps.py).
"""
import dataclasses
from typing import Optional

from ssl_jax import kernels
from ssl_jax.methods.base import HeadSpec, LossAux, Method, mlp_spec, require_positive


@dataclasses.dataclass(frozen=True)
class INTL(Method):
  """Attributes: iters (T), axis ("batch" | "feature"), trade_off (β; None
  derives 0.01 (log2(bs) - 3) from the global batch), ema_momentum."""
  collapse_hint = ("a trade-off beta too small for the batch (the trace loss keeps the "
                   "spectrum full) or a learning rate too high")
  iters: int = 4
  axis: str = "batch"
  trade_off: Optional[float] = None

  def __post_init__(self):
    super().__post_init__()
    require_positive(self, "iters")
    if self.trade_off is not None and self.trade_off < 0:
      raise ValueError(f"trade_off must be >= 0, got {self.trade_off}")
    kernels.iternorm.check_whiten_axis(self.axis)

  def online_views(self, num_views, num_global):
    del num_global
    first = 1 if self.uses_target else 0
    return tuple(range(first, num_views))

  def target_views(self, num_global):
    del num_global
    return (0,)

  def loss(self, online, target, state, step, rng):
    del step, rng
    z = online["projection"]
    anchor = None if target is None else target["projection"][0]
    mse, trace, beta = kernels.intl_loss_terms(z, anchor, self.iters, self.axis,
                                               self.trade_off)
    metrics = {"intl_mse": mse, "intl_trace": trace}
    return mse + beta * trace, LossAux(state, metrics)


def make(projector, iters=4, axis="batch", trade_off=None, ema_momentum=None):
  """INTL from ``config.method``; ``projector`` holds hidden_dim, out_dim, num_layers."""
  return INTL(head=HeadSpec(projector=mlp_spec(projector)), iters=iters,
              axis=axis, trade_off=trade_off, ema_momentum=ema_momentum)
