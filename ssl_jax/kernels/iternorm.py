"""IterNorm: approximate whitening by Newton–Schulz iterations.

INTL (Weng et al., "Modulate your spectrum in self-supervised learning"),
Appendix C, Algorithm 1, and Theorem 1: with ``Σ_N = Σ / tr Σ`` and

    P_0 = I,    P_{k+1} = 1.5 P_k - 0.5 P_k^3 Σ_N,    W = P_T / sqrt(tr Σ),

each eigenvalue λ of Σ is mapped to ``(λ / tr Σ) f_T(λ / tr Σ)^2`` in the
covariance of the output, where ``f_0 = 1`` and
``f_{k+1}(x) = 1.5 f_k(x) - 0.5 x f_k(x)^3``.
"""
import jax.numpy as jnp
from jax import lax

_HIGHEST = lax.Precision.HIGHEST
WHITEN_AXES = ("batch", "feature")


def check_whiten_axis(axis):
  if axis not in WHITEN_AXES:
    raise ValueError(f"whitening axis must be one of {WHITEN_AXES}, got {axis!r}")


def newton_schulz_whitening_matrix(sigma, iters=4, eps=1e-8):
  """Whitening matrix ``W = P_T / sqrt(tr Σ)`` of a covariance matrix.

  Args:
    sigma: [M, M] symmetric positive semi-definite matrix.
    iters: number of Newton–Schulz iterations T (INTL uses 4).
    eps: floor on ``tr Σ``.  It only acts on degenerate (all-constant)
      input, where ``tr Σ = 0`` would divide by zero; on any input with
      ``tr Σ > eps`` the result is exactly the reference's.
  Returns:
    [M, M] float32 matrix W.
  """
  sigma = jnp.asarray(sigma, jnp.float32)
  trace = jnp.maximum(jnp.trace(sigma), eps)
  sigma_n = sigma / trace
  eye = jnp.eye(sigma.shape[0], dtype=jnp.float32)

  def body(_, p):
    p2 = jnp.matmul(p, p, precision=_HIGHEST)
    p3 = jnp.matmul(p2, p, precision=_HIGHEST)
    return 1.5 * p - 0.5 * jnp.matmul(p3, sigma_n, precision=_HIGHEST)

  p = lax.fori_loop(0, iters, body, eye)
  return p * lax.rsqrt(trace)


def centered_covariance(z, axis="batch"):
  """Centred input and covariance in the form IterNorm whitens.

  Args:
    z: [N, D] embeddings, rows are samples.
    axis: ``"batch"`` centres each sample over its D features and returns
      the [N, N] Gram ``Z̃ Z̃ᵀ / (D - 1)`` (the INTL reference's default,
      ``axis=0``); ``"feature"`` centres each feature over the batch and
      returns the [D, D] covariance ``Z̃ᵀ Z̃ / (N - 1)``.
  Returns:
    (z_centred [N, D], sigma) in float32.
  """
  check_whiten_axis(axis)
  z = jnp.asarray(z, jnp.float32)
  n, d = z.shape
  if axis == "batch":
    zc = z - jnp.mean(z, axis=1, keepdims=True)
    sigma = jnp.matmul(zc, zc.T, precision=_HIGHEST) / (d - 1)
  else:
    zc = z - jnp.mean(z, axis=0, keepdims=True)
    sigma = jnp.matmul(zc.T, zc, precision=_HIGHEST) / (n - 1)
  return zc, sigma


def iter_norm(z, iters=4, axis="batch", eps=1e-8):
  """IterNorm-whitened embeddings (INTL Algorithm 1, ``IterNorm``).

  Args:
    z: [N, D] embeddings; any float dtype (computed in float32).
    iters: Newton–Schulz iterations T.
    axis: ``"batch"`` (default): whiten the [N, N] batch Gram and return
      ``W Z̃``; ``"feature"``: whiten the [D, D] covariance and return ``Z̃ W``.
    eps: degenerate-input guard on ``tr Σ`` (see
      ``newton_schulz_whitening_matrix``).
  Returns:
    [N, D] float32 whitened embeddings.
  """
  zc, sigma = centered_covariance(z, axis)
  w = newton_schulz_whitening_matrix(sigma, iters, eps)
  if axis == "batch":
    return jnp.matmul(w, zc, precision=_HIGHEST)
  return jnp.matmul(zc, w, precision=_HIGHEST)


def iter_norm_spectral_map(x, iters=4):
  """f_T(x) of INTL Theorem 1, elementwise; x = λ / tr Σ in [0, 1].

  IterNorm maps eigenvalue λ of Σ to ``x f_T(x)^2`` with x = λ / tr Σ.
  """
  x = jnp.asarray(x, jnp.float32)
  return lax.fori_loop(0, iters, lambda _, f: 1.5 * f - 0.5 * x * f ** 3,
                       jnp.ones_like(x))


__all__ = ["WHITEN_AXES", "centered_covariance", "check_whiten_axis", "iter_norm",
           "iter_norm_spectral_map", "newton_schulz_whitening_matrix"]
