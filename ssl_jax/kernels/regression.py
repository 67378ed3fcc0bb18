"""Predictor-regression losses: BYOL and SimSiam (one direction each;
the methods symmetrise)."""
import jax.numpy as jnp
from jax import lax

from ssl_jax.kernels.similarity import cosine_similarity, l2_normalize


def byol_loss(p, z):
  """BYOL: ``mean_i ||p̂_i - sg(ẑ_i)||²`` (= 2 - 2 cos(p_i, z_i) for nonzero
  rows), as DeepMind's ``regression_loss`` computes it: the difference of
  the unit vectors does not cancel when p and z nearly agree, where
  ``2 - 2 cos`` loses every digit.  p, z: [N, D] -> scalar."""
  diff = l2_normalize(p) - l2_normalize(lax.stop_gradient(z))
  return jnp.mean(jnp.sum(diff * diff, axis=-1))


def simsiam_loss(p, z):
  """SimSiam: ``-mean_i cos(p_i, sg(z_i))``; p, z: [N, D] -> scalar."""
  return -jnp.mean(cosine_similarity(p, lax.stop_gradient(z)))
