"""Redundancy-reduction losses: Barlow Twins, VICReg and VIbCReg."""
import jax
import jax.numpy as jnp
from jax import lax
from ssl_jax.kernels.dtypes import as_float

_HIGHEST = lax.Precision.HIGHEST


def _off_diagonal_sq_sum(m):
  return jnp.sum(jnp.square(m)) - jnp.sum(jnp.square(jnp.diagonal(m)))


def barlow_twins_loss(z1, z2, lambd=5e-3, scale=1.0, eps=1e-5):
  """Barlow Twins (Zbontar et al.).

  Each view is standardised over the batch (BatchNorm without affine:
  biased variance, ``eps``), c = ẑ1ᵀ ẑ2 / N, and

      L = scale · [ Σ_i (1 - c_ii)² + λ Σ_{i≠j} c_ij² ]

  (solo-learn multiplies by ``scale=0.025``; the paper uses 1).
  z1, z2: [N, D] -> scalar.
  """
  def standardise(z):
    z = as_float(z)
    mean = jnp.mean(z, axis=0)
    var = jnp.mean(jnp.square(z - mean), axis=0)
    return (z - mean) * lax.rsqrt(var + eps)

  a, b = standardise(z1), standardise(z2)
  c = jnp.matmul(a.T, b, precision=_HIGHEST) / a.shape[0]
  on = jnp.sum(jnp.square(1.0 - jnp.diagonal(c)))
  return scale * (on + lambd * _off_diagonal_sq_sum(c))


def vicreg_loss(z1, z2, sim_weight=25.0, var_weight=25.0, cov_weight=1.0,
                eps=1e-4):
  """VICReg (Bardes et al.), as in the official code and solo-learn.

      inv = mean over N·D of (z1 - z2)²
      var = Σ_views mean_d relu(1 - sqrt(var_unbiased_d + ε))
      cov = Σ_views Σ_{i≠j} C_ij² / D,   C = Z̃ᵀZ̃ / (N-1)
      L   = 25 inv + 25 var + 1 cov

  z1, z2: [N, D] -> scalar.
  """
  z1 = as_float(z1)
  z2 = as_float(z2)
  n, d = z1.shape
  inv = jnp.mean(jnp.square(z1 - z2))

  def var_cov(z):
    zc = z - jnp.mean(z, axis=0)
    var = jnp.sum(jnp.square(zc), axis=0) / (n - 1)
    std_term = jnp.mean(jax.nn.relu(1.0 - jnp.sqrt(var + eps)))
    cov = jnp.matmul(zc.T, zc, precision=_HIGHEST) / (n - 1)
    return std_term, _off_diagonal_sq_sum(cov) / d

  v1, c1 = var_cov(z1)
  v2, c2 = var_cov(z2)
  return sim_weight * inv + var_weight * (v1 + v2) + cov_weight * (c1 + c2)


def vibcreg_loss(z1, z2, sim_weight=25.0, var_weight=25.0, cov_weight=200.0, eps=1e-4):
  """VIbCReg (Lee & Aune 2021), as solo-learn's ``vibcreg_loss_func``:
  VICReg's invariance and variance terms with a scale-free covariance term,

      cov = Σ_views mean over D² of R_ij² (i ≠ j; the diagonal counts as 0),
      R = Ẑᵀ Ẑ,  Ẑ the centred Z with unit-norm columns.

  z1, z2: [N, D] -> scalar.
  """
  z1 = as_float(z1)
  z2 = as_float(z2)
  n = z1.shape[0]
  inv = jnp.mean(jnp.square(z1 - z2))

  def var_corr(z):
    zc = z - jnp.mean(z, axis=0)
    var = jnp.sum(jnp.square(zc), axis=0) / (n - 1)
    std_term = jnp.mean(jax.nn.relu(1.0 - jnp.sqrt(var + eps)))
    # F.normalize(dim=0): columns divided by max(||·||, 1e-12); the norm is
    # never differentiated at 0 (a constant column), where it has no gradient.
    sq = jnp.sum(jnp.square(zc), axis=0)
    big = sq > 1e-24
    zn = zc * jnp.where(big, lax.rsqrt(jnp.where(big, sq, 1.0)), 1e12)
    corr = jnp.matmul(zn.T, zn, precision=_HIGHEST)
    return std_term, _off_diagonal_sq_sum(corr) / corr.size

  v1, c1 = var_corr(z1)
  v2, c2 = var_corr(z2)
  return sim_weight * inv + var_weight * (v1 + v2) + cov_weight * (c1 + c2)
