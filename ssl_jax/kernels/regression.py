"""Predictor-regression losses: BYOL and SimSiam (one direction each;
the methods symmetrise)."""
import jax.numpy as jnp
from jax import lax

from ssl_jax.kernels.similarity import cosine_similarity, normalized_mse


def byol_loss(p, z):
  """BYOL: ``2 - 2 mean_i cos(p_i, sg(z_i))``; p, z: [N, D] -> scalar."""
  return normalized_mse(p, lax.stop_gradient(z))


def simsiam_loss(p, z):
  """SimSiam: ``-mean_i cos(p_i, sg(z_i))``; p, z: [N, D] -> scalar."""
  return -jnp.mean(cosine_similarity(p, lax.stop_gradient(z)))
