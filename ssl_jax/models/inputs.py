"""What a model reads: uint8 images mapped to normalised floats."""
import jax.numpy as jnp


def normalize(images, mean, std, dtype=jnp.float32):
  """uint8 [..., 3] -> normalised float (evaluation views)."""
  x = images.astype(jnp.float32) / 255.0
  return ((x - jnp.asarray(mean, jnp.float32)) / jnp.asarray(std, jnp.float32)).astype(dtype)
