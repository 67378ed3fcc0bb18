"""Features of a whole split, computed on device and kept there as global arrays."""
import dataclasses
from typing import Callable, Dict

import jax
import jax.numpy as jnp

from ssl_jax.data import pipeline
from ssl_jax.data.augment_device import normalize
from ssl_jax.sharding import batch_sharded, replicated, to_global

# {"features": [M, C], "embedding": [M, D] (if the model has one),
#  "label": [M] int32, "mask": [M] float32 (0 on padding)}.
Features = Dict[str, jax.Array]


@dataclasses.dataclass
class FeatureExtractor:
  """Runs ``apply_fn`` over every batch of a split (centre crops, no augmentation).

  ``apply_fn(variables, x)`` maps normalised float images [N, S, S, 3] to a
  dict with at least ``features`` [N, C]; ``batch_size`` is global.
  """
  apply_fn: Callable
  mesh: object
  mean: tuple
  std: tuple
  image_size: int
  batch_size: int
  crop_fraction: float = 1.0
  shard: pipeline.HostShard = pipeline.HostShard()

  def __post_init__(self):
    mean, std, apply_fn = self.mean, self.std, self.apply_fn
    self._jitted = jax.jit(lambda v, images: apply_fn(v, normalize(images, mean, std)),
                           in_shardings=(replicated(self.mesh), batch_sharded(self.mesh)),
                           out_shardings=batch_sharded(self.mesh))

  def __call__(self, variables, split) -> Features:
    parts = []
    for host_batch in pipeline.eval_batches(split, self.image_size, self.batch_size,
                                            self.crop_fraction, self.shard):
      batch = to_global(host_batch, self.mesh)
      out = self._jitted(variables, batch["image"])
      parts.append({**out, "label": batch["label"], "mask": batch["mask"]})
    return {k: jnp.concatenate([p[k] for p in parts]) for k in parts[0]}
