"""INTL loss: normalised MSE of IterNorm-whitened views plus the trace loss.

INTL Appendix C, Eqs. (11)-(13), following the official implementation
(winci-ai/INTL, ``methods/intl.py`` and ``methods/intl_m.py``):

    t_v   = IterNorm(z_v)
    L     = 1/(V-1) Σ_{i>=1} [ nmse(t_i, t_0) + β (TL(t_i) + TL(t_0)) ]      (no EMA)
    L_EMA = 1/V     Σ_i      [ nmse(t_i, IterNorm(sg(z_target))) + β TL(t_i) ]
    TL(t) = Σ_k (var_k(t) - 1)^2,        β = 0.01 (log2(bs) - 3)

where ``var_k`` is the unbiased variance of sample k over its features
(``axis="batch"``) or of feature k over the batch (``axis="feature"``), and
``bs`` is the global batch size (``axis="batch"``) or the embedding size
(``axis="feature"``).
"""
import math

import jax
import jax.numpy as jnp

from ssl_jax.kernels.iternorm import check_whiten_axis, iter_norm
from ssl_jax.kernels.similarity import normalized_mse
from ssl_jax.kernels.dtypes import as_float


def intl_trade_off(batch_size, dim, axis="batch"):
  """β = 0.01 (log2(m) - 3), m = batch size (batch axis) or dim (feature axis)."""
  check_whiten_axis(axis)
  m = batch_size if axis == "batch" else dim
  return 0.01 * (math.log2(m) - 3.0)


def trace_loss(t, axis="batch"):
  """INTL trace loss Σ_k (var_k - 1)^2 of whitened embeddings (Eq. 12).

  Args:
    t: [N, D] whitened embeddings.
    axis: ``"batch"``: var_k is the unbiased variance of sample k over its D
      features (N terms); ``"feature"``: of feature k over the batch (D terms).
  Returns:
    float32 scalar.
  """
  check_whiten_axis(axis)
  t = as_float(t)
  reduce_axis = 1 if axis == "batch" else 0
  tc = t - jnp.mean(t, axis=reduce_axis, keepdims=True)
  var = jnp.sum(tc * tc, axis=reduce_axis) / (t.shape[reduce_axis] - 1)
  return jnp.sum((var - 1.0) ** 2)


def intl_loss_terms(views, target=None, iters=4, axis="batch", trade_off=None,
                    eps=1e-8):
  """The two INTL terms and their weight: (mean nmse, mean trace term, β).

  The loss is ``mse + β * trace``; see ``intl_loss`` for the arguments.
  """
  views = as_float(views)
  num_views, n, d = views.shape
  beta = intl_trade_off(n, d, axis) if trade_off is None else trade_off
  t = jax.vmap(lambda z: iter_norm(z, iters, axis, eps))(views)
  tl = jax.vmap(lambda x: trace_loss(x, axis))
  mse = jax.vmap(normalized_mse, in_axes=(0, None))
  if target is None:
    if num_views < 2:
      raise ValueError(f"INTL without a target needs >= 2 views, got {num_views}")
    anchor, queries = t[0], t[1:]
    traces = tl(queries) + tl(anchor[None])
  else:
    anchor = iter_norm(jax.lax.stop_gradient(target), iters, axis, eps)
    queries = t
    traces = tl(queries)
  return jnp.mean(mse(queries, anchor)), jnp.mean(traces), beta


def intl_loss(views, target=None, iters=4, axis="batch", trade_off=None,
              eps=1e-8):
  """INTL loss over V views of one batch.

  Args:
    views: [V, N, D] online projections (V >= 2 without a target, >= 1 with).
    target: optional [N, D] projection of crop 0 by the EMA teacher
      (INTL with EMA, Figure I(b)); gradients never flow into it.
    iters: Newton–Schulz iterations T.
    axis: whitening form, ``"batch"`` (N×N Gram, default) or ``"feature"``.
    trade_off: β; ``None`` derives ``0.01 (log2(m) - 3)`` from the shapes.
    eps: degenerate-input guard of IterNorm.
  Returns:
    float32 scalar loss.
  """
  mse, trace, beta = intl_loss_terms(views, target, iters, axis, trade_off, eps)
  return mse + beta * trace
