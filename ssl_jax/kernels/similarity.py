"""Normalisation and cosine-similarity primitives shared by the losses.

All functions compute in ``kernels.dtypes.compute_dtype`` of their input
(float32 for bf16/f16/f32, float64 for float64): the losses that use them
sum many small terms.
"""
import jax.numpy as jnp
from jax import lax
from ssl_jax.kernels.dtypes import as_float


def l2_normalize(x, axis=-1, eps=1e-12):
  """Returns ``x / max(||x||, eps)`` along ``axis`` (``torch.nn.functional.normalize``).

  Written with ``rsqrt(max(sum x^2, eps^2))`` so the gradient stays finite at
  ``x = 0`` (``jnp.linalg.norm`` has an infinite derivative there).

  Args:
    x: [..., D] array.
  Returns:
    array of the same shape (compute dtype) with unit rows (zero rows stay zero).
  """
  x = as_float(x)
  sq = jnp.sum(x * x, axis=axis, keepdims=True)
  return x * lax.rsqrt(jnp.maximum(sq, eps * eps))


def pairwise_dot(a, b):
  """All dot products ``a bᵀ`` at full precision; [N, D], [M, D] -> [N, M]."""
  return jnp.matmul(a, jnp.swapaxes(b, -1, -2), precision=lax.Precision.HIGHEST)


def cosine_similarity(a, b, axis=-1):
  """Row-wise cosine similarity. a, b: [..., D] -> [...]."""
  return jnp.sum(l2_normalize(a, axis) * l2_normalize(b, axis), axis=axis)


def normalized_mse(a, b):
  """MSE of L2-normalised rows: ``2 - 2 * mean_i cos(a_i, b_i)``.

  This is ``norm_mse`` of the INTL pseudo-code (Appendix C) and BYOL's
  regression loss.  a, b: [N, D] -> scalar.
  """
  return 2.0 - 2.0 * jnp.mean(cosine_similarity(a, b))
