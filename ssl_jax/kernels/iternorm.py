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
from ssl_jax.kernels.dtypes import as_float

_HIGHEST = lax.Precision.HIGHEST
WHITEN_AXES = ("batch", "feature")


def check_whiten_axis(axis):
  if axis not in WHITEN_AXES:
    raise ValueError(f"whitening axis must be one of {WHITEN_AXES}, got {axis!r}")


def newton_schulz_whitening_matrix(sigma, iters=4, eps=1e-8):
  """Whitening matrix ``W = P_T / sqrt(tr Σ)`` of a covariance matrix.

  Algorithm 1's ``P_{k+1} = 1.5 P_k - 0.5 P_k^3 Σ_N`` costs three [M, M]
  products per iteration.  Every P_k is a polynomial in Σ_N, so P_k and Σ_N
  commute and, with ``M_k = P_k^2 Σ_N`` and ``T_k = 1.5 I - 0.5 M_k``,

      P_{k+1} = P_k T_k,    M_{k+1} = M_k T_k^2,

  the same sequence (the coupled Newton–Schulz form).  ``P_1 = T_0`` needs no
  product and the last step no ``M``: 3T - 3 products instead of 3T (9, not
  12, at INTL's T = 4).

  Args:
    sigma: [M, M] symmetric positive semi-definite matrix.
    iters: number of Newton–Schulz iterations T (INTL uses 4); a Python
      int (static under jit).
    eps: floor on ``tr Σ``.  It only acts on degenerate (all-constant)
      input, where ``tr Σ = 0`` would divide by zero; on any input with
      ``tr Σ > eps`` the result is exactly the reference's.
  Returns:
    [M, M] float32 matrix W.
  """
  if not isinstance(iters, int) or iters < 0:
    raise TypeError(f"iters must be a non-negative Python int (static under jit), "
                    f"got {iters!r}")
  sigma = as_float(sigma)
  trace = jnp.maximum(jnp.trace(sigma), eps)
  sigma_n = sigma / trace
  eye = jnp.eye(sigma.shape[0], dtype=sigma.dtype)
  if iters == 0:
    return eye * lax.rsqrt(trace)
  matmul = lambda a, b: jnp.matmul(a, b, precision=_HIGHEST)
  factor = lambda m: 1.5 * eye - 0.5 * m     # T_k from M_k
  p = factor(sigma_n)                        # P_1 = T_0, since P_0 = I and M_0 = Σ_N
  if iters > 1:
    m = matmul(matmul(sigma_n, p), p)        # M_1 = Σ_N T_0^2

    def body(_, carry):
      p, m = carry
      t = factor(m)
      return matmul(p, t), matmul(matmul(m, t), t)

    p, m = lax.fori_loop(1, iters - 1, body, (p, m))
    p = matmul(p, factor(m))
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
  z = as_float(z)
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
  x = as_float(x)
  return lax.fori_loop(0, iters, lambda _, f: 1.5 * f - 0.5 * x * f ** 3,
                       jnp.ones_like(x))


__all__ = ["WHITEN_AXES", "centered_covariance", "check_whiten_axis", "iter_norm",
           "iter_norm_spectral_map", "newton_schulz_whitening_matrix"]
