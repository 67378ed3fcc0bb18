"""Uniformity regularisers on a batch of embeddings."""
import jax.numpy as jnp
from jax import lax

from ssl_jax.kernels.similarity import l2_normalize
from ssl_jax.kernels.dtypes import as_float


def koleo_loss(x, eps=1e-8):
  """KoLeo: the Kozachenko-Leonenko entropy estimate of the batch, negated.

      L = -(1/N) Σ_i log min_{j≠i} ||x̂_i - x̂_j||,   x̂ = x / ||x||

  (Sablayrolles et al. 2019; the regulariser DINOv2 adds to self-distillation
  so that the batch spreads over the sphere instead of settling on a few
  directions).  The nearest neighbour is chosen without gradient, as
  DINOv2 does; the distance to it carries the gradient.  Computed in
  float32; the batch is the global batch.

  Args:
    x: [N, D] embeddings (any scale).
  Returns:
    float32 scalar.
  """
  x = l2_normalize(as_float(x))
  sims = lax.stop_gradient(x @ x.T) - 3.0 * jnp.eye(x.shape[0], dtype=x.dtype)
  nearest = x[jnp.argmax(sims, axis=1)]
  distance = jnp.sqrt(jnp.sum(jnp.square(x - nearest), axis=1) + eps * eps)
  return -jnp.mean(jnp.log(distance + eps))
