"""What a model reads: uint8 images mapped to normalised floats."""
import dataclasses
from typing import Tuple

import jax.numpy as jnp


@dataclasses.dataclass(frozen=True)
class Normalization:
  """The per-channel input normalisation a model is trained and evaluated
  with: ``x = (u / 255 - mean) / std`` for uint8 pixels ``u``.  Built once
  by a job (from the dataset, or from an exported backbone) and handed to
  what maps images into the model."""
  mean: Tuple[float, float, float]
  std: Tuple[float, float, float]

  def standardize(self, x, dtype=jnp.float32):
    """Float images in [0, 1] [..., 3] -> ``(x - mean) / std`` of ``dtype``."""
    mean = jnp.asarray(self.mean, jnp.float32)
    std = jnp.asarray(self.std, jnp.float32)
    return ((x - mean) / std).astype(dtype)

  def __call__(self, images, dtype=jnp.float32):
    """uint8 (or 0-255 float) images [..., 3] -> normalised ``dtype``."""
    return self.standardize(images.astype(jnp.float32) / 255.0, dtype)
