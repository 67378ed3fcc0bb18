"""IterNorm and the INTL loss against NumPy references written from the paper."""
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.test_util import check_grads

from ssl_jax import kernels


def _f_t(x, iters):
  f = np.ones_like(x)
  for _ in range(iters):
    f = 1.5 * f - 0.5 * x * f ** 3
  return f


def _iter_norm_np(z, iters, axis):
  """Newton–Schulz exactly as INTL Algorithm 1, in float64."""
  z = np.asarray(z, np.float64)
  n, d = z.shape
  if axis == "batch":
    zc = z - z.mean(1, keepdims=True)
    sigma = zc @ zc.T / (d - 1)
  else:
    zc = z - z.mean(0, keepdims=True)
    sigma = zc.T @ zc / (n - 1)
  tr = np.trace(sigma)
  p = np.eye(sigma.shape[0])
  for _ in range(iters):
    p = 0.5 * (3 * p - np.linalg.matrix_power(p, 3) @ (sigma / tr))
  w = p / np.sqrt(tr)
  return (w @ zc) if axis == "batch" else (zc @ w)


def _trace_loss_np(t, axis):
  t = np.asarray(t, np.float64)
  if axis == "batch":
    t = t.T
  tc = t - t.mean(0)
  d = (tc ** 2).sum(0) / (t.shape[0] - 1)
  return ((d - 1) ** 2).sum()


def _nmse_np(a, b):
  a = a / np.linalg.norm(a, axis=1, keepdims=True)
  b = b / np.linalg.norm(b, axis=1, keepdims=True)
  return 2 - 2 * (a * b).sum(1).mean()


def _intl_np(views, target, iters, axis):
  v, n, d = views.shape
  beta = 0.01 * (math.log2(n if axis == "batch" else d) - 3)
  t = [_iter_norm_np(z, iters, axis) for z in views]
  if target is None:
    terms = [_nmse_np(t[i], t[0]) + beta * (_trace_loss_np(t[i], axis) +
                                            _trace_loss_np(t[0], axis))
             for i in range(1, v)]
  else:
    tk = _iter_norm_np(target, iters, axis)
    terms = [_nmse_np(ti, tk) + beta * _trace_loss_np(ti, axis) for ti in t]
  return np.mean(terms)


def _inputs(kind, n=32, d=24, seed=0):
  rng = np.random.default_rng(seed)
  if kind == "random":
    return rng.normal(size=(n, d))
  if kind == "ill_conditioned":
    scales = np.logspace(0, -4, d)
    return rng.normal(size=(n, d)) * scales
  if kind == "nearly_collapsed":
    base = rng.normal(size=(1, d))
    return base + 1e-3 * rng.normal(size=(n, d))
  raise ValueError(kind)


@pytest.mark.parametrize("axis", ["batch", "feature"])
@pytest.mark.parametrize("kind", ["random", "ill_conditioned", "nearly_collapsed"])
def test_iter_norm_matches_newton_schulz_reference(axis, kind):
  z = _inputs(kind)
  got = jax.jit(kernels.iter_norm, static_argnames=("iters", "axis"))(
      jnp.asarray(z, jnp.float32), iters=4, axis=axis)
  want = _iter_norm_np(z, 4, axis)
  scale = np.abs(want).max()
  np.testing.assert_allclose(np.asarray(got), want, atol=2e-4 * scale, rtol=2e-3)


def test_iteration_count_must_be_static():
  with pytest.raises(TypeError, match="static under jit"):
    jax.jit(kernels.iter_norm)(jnp.ones((4, 3)), 4)


@pytest.mark.parametrize("axis", ["batch", "feature"])
@pytest.mark.parametrize("iters", [0, 1, 2, 4, 7])
def test_iter_norm_spectral_map_theorem_1(axis, iters):
  """Eigenvalue λ of Σ maps to (λ/trΣ) f_T(λ/trΣ)^2 in the output covariance."""
  z = _inputs("random", n=20, d=48, seed=1)
  zc = z - (z.mean(1, keepdims=True) if axis == "batch" else z.mean(0, keepdims=True))
  denom = (z.shape[1] if axis == "batch" else z.shape[0]) - 1
  sigma = (zc @ zc.T if axis == "batch" else zc.T @ zc) / denom
  lam, u = np.linalg.eigh(sigma)
  x = np.clip(lam / lam.sum(), 0, None)
  # Eigendecomposition form of the whitening matrix: U diag(f_T(x)/sqrt(trΣ)) Uᵀ.
  w_eig = u @ np.diag(_f_t(x, iters) / np.sqrt(lam.sum())) @ u.T
  want = w_eig @ zc if axis == "batch" else zc @ w_eig
  got = np.asarray(kernels.iter_norm(jnp.asarray(z, jnp.float32), iters, axis),
                   np.float64)
  np.testing.assert_allclose(got, want, atol=1e-4 * np.abs(want).max())
  out_cov = (got @ got.T if axis == "batch" else got.T @ got) / denom
  got_eigs = np.sort(np.linalg.eigvalsh(out_cov))
  want_eigs = np.sort(x * _f_t(x, iters) ** 2)
  np.testing.assert_allclose(got_eigs, want_eigs, atol=1e-4)
  np.testing.assert_allclose(
      np.asarray(kernels.iter_norm_spectral_map(x, iters)), _f_t(x, iters),
      rtol=1e-5)


@pytest.mark.parametrize("axis", ["batch", "feature"])
def test_iter_norm_converges_to_identity_covariance(axis):
  rng = np.random.default_rng(2)
  n, d = (16, 64) if axis == "batch" else (256, 16)
  # Well conditioned: covariance eigenvalues within a factor 3 of each other.
  q, _ = np.linalg.qr(rng.normal(size=(d, d)))
  z = rng.normal(size=(n, d)) @ np.diag(np.linspace(1, np.sqrt(3), d)) @ q
  errors = []
  # Beyond convergence the uncoupled Newton–Schulz iteration amplifies float32
  # round-off (a known property; INTL stops at T = 4), so stop at T = 8.
  for iters in (1, 2, 4, 6, 8):
    t = np.asarray(kernels.iter_norm(jnp.asarray(z, jnp.float32), iters, axis),
                   np.float64)
    m = t.shape[1] if axis == "batch" else t.shape[0]
    cov = (t @ t.T if axis == "batch" else t.T @ t) / (m - 1)
    eye = np.eye(cov.shape[0])
    errors.append(np.linalg.norm(cov - eye) / np.linalg.norm(eye))
  assert all(b < a for a, b in zip(errors, errors[1:])), errors
  assert errors[-1] < 1e-3, errors


@pytest.mark.parametrize("axis", ["batch", "feature"])
def test_trace_loss_matches_reference(axis):
  t = _inputs("random", seed=3)
  np.testing.assert_allclose(
      float(kernels.trace_loss(jnp.asarray(t, jnp.float32), axis)),
      _trace_loss_np(t, axis), rtol=1e-5)


def test_intl_trade_off_formula():
  assert kernels.intl_trade_off(256, 8192) == pytest.approx(0.05)
  assert kernels.intl_trade_off(4096, 8192) == pytest.approx(0.09)
  assert kernels.intl_trade_off(256, 2048, axis="feature") == pytest.approx(0.08)


@pytest.mark.parametrize("axis", ["batch", "feature"])
@pytest.mark.parametrize("num_views,with_target", [(2, False), (4, False), (3, True)])
def test_intl_loss_matches_reference(axis, num_views, with_target):
  rng = np.random.default_rng(4)
  views = rng.normal(size=(num_views, 32, 24))
  target = rng.normal(size=(32, 24)) if with_target else None
  got = jax.jit(kernels.intl_loss, static_argnames="axis")(
      jnp.asarray(views, jnp.float32),
                          None if target is None else jnp.asarray(target, jnp.float32),
                          axis=axis)
  want = _intl_np(views, target, 4, axis)
  np.testing.assert_allclose(float(got), want, rtol=1e-4)


@pytest.mark.parametrize("axis", ["batch", "feature"])
def test_intl_loss_gradients(axis):
  rng = np.random.default_rng(5)
  views = jnp.asarray(rng.normal(size=(2, 12, 10)), jnp.float32)
  f = jax.jit(lambda v: kernels.intl_loss(v, axis=axis))
  check_grads(f, (views,), order=1, modes=("rev",), atol=5e-2, rtol=5e-2, eps=1e-3)


def test_intl_target_gets_no_gradient():
  rng = np.random.default_rng(6)
  views = jnp.asarray(rng.normal(size=(2, 16, 8)), jnp.float32)
  target = jnp.asarray(rng.normal(size=(16, 8)), jnp.float32)
  g = jax.jit(jax.grad(lambda t: kernels.intl_loss(views, t)))(target)
  assert np.all(np.asarray(g) == 0)


@pytest.mark.parametrize("kind", ["constant", "duplicated", "rank_deficient", "bf16"])
def test_intl_finite_on_degenerate_input(kind):
  rng = np.random.default_rng(7)
  if kind == "constant":
    views = np.ones((2, 16, 8))
  elif kind == "duplicated":
    views = np.repeat(rng.normal(size=(2, 1, 8)), 16, axis=1)
  elif kind == "rank_deficient":  # D > N: feature covariance is singular
    views = rng.normal(size=(2, 8, 64))
  else:
    views = rng.normal(size=(2, 16, 8))
  dtype = jnp.bfloat16 if kind == "bf16" else jnp.float32
  views = jnp.asarray(views, dtype)
  for axis in ("batch", "feature"):
    loss, grad = jax.jit(jax.value_and_grad(
        lambda v: kernels.intl_loss(v, axis=axis)))(views)
    assert np.isfinite(float(loss)), (kind, axis)
    assert np.all(np.isfinite(np.asarray(grad, np.float32))), (kind, axis)


def test_iter_norm_guard_does_not_change_normal_input():
  z = jnp.asarray(_inputs("random", seed=8), jnp.float32)
  a = kernels.iter_norm(z, eps=1e-8)
  b = kernels.iter_norm(z, eps=0.0)
  np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


def test_intl_jits_once_and_vmaps():
  rng = np.random.default_rng(9)
  batch = jnp.asarray(rng.normal(size=(3, 2, 16, 8)), jnp.float32)
  traces = []

  @jax.jit
  def f(v):
    traces.append(1)
    return kernels.intl_loss(v)

  for _ in range(3):
    f(batch[0])
  assert len(traces) == 1
  vm = jax.vmap(kernels.intl_loss)(batch)
  loop = np.array([float(f(b)) for b in batch])
  np.testing.assert_allclose(np.asarray(vm), loop, rtol=1e-5)
