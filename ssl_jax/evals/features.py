"""What a model computes over a whole split, on device: its features (kept
there as global arrays) and its BatchNorm statistics."""
import dataclasses
from typing import Callable, Dict, Optional

import flax
import jax
import jax.numpy as jnp

from ssl_jax.data import pipeline
from ssl_jax.evals.base import EvaluationInterrupted
from ssl_jax.sharding import batch_sharded, replicated, to_global

# {"features": [M, C], "embedding": [M, D] (if the model has one),
#  "label": [M] int32, "mask": [M] float32 (0 on padding)}.
Features = Dict[str, jax.Array]


@dataclasses.dataclass
class SplitPass:
  """Runs ``fn`` over every batch of a split: centre crops, no augmentation,
  global batches of ``batch_size`` sharded over ``mesh``.  ``interrupted``
  (asked before every batch; the same answer on every process) stops the
  pass with EvaluationInterrupted, so a preemption need not wait for an
  evaluation of a whole split."""
  fn: Callable
  mesh: object
  image_size: int
  batch_size: int
  crop_fraction: float = 1.0
  shard: pipeline.HostShard = pipeline.HostShard()
  interrupted: Optional[Callable[[], bool]] = None

  def _batches(self, split):
    for host_batch in pipeline.eval_batches(split, self.image_size, self.batch_size,
                                            self.crop_fraction, self.shard):
      if self.interrupted is not None and self.interrupted():
        raise EvaluationInterrupted()
      yield to_global(host_batch, self.mesh)


@dataclasses.dataclass
class FeatureExtractor(SplitPass):
  """Features of a whole split, kept on device as global arrays.

  ``fn(variables, images)`` maps uint8 images [N, S, S, 3] (normalising
  them as its model expects) to a dict with at least ``features`` [N, C].
  """

  def __post_init__(self):
    self._jitted = jax.jit(self.fn,
                           in_shardings=(replicated(self.mesh), batch_sharded(self.mesh)),
                           out_shardings=batch_sharded(self.mesh))

  def __call__(self, variables, split) -> Features:
    parts = []
    for batch in self._batches(split):
      out = self._jitted(variables, batch["image"])
      parts.append({**out, "label": batch["label"], "mask": batch["mask"]})
    return {k: jnp.concatenate([p[k] for p in parts]) for k in parts[0]}


@dataclasses.dataclass
class RunningStatsEstimator(SplitPass):
  """Sets BatchNorm running statistics to those of a whole split.

  ``fn(variables, images)`` maps uint8 images [N, S, S, 3] to the batch
  mean and unbiased variance of each BatchNorm layer in a train-mode pass
  (``models.batchnorm.train_mode_moments``).  The estimate of each is the
  mean over the split's batches weighted by their real (unpadded) examples
  (the padding of the last batch still enters that batch's moments, with
  the weight of its real examples only); layers the pass does not reach
  keep their statistics.  Parameters are untouched.
  """

  def __post_init__(self):
    moments_fn = self.fn

    def weighted(variables, images, mask):
      weight = jnp.sum(mask)
      moments = moments_fn(variables, images)
      return jax.tree.map(lambda m: weight * m, moments), weight

    rep, sharded = replicated(self.mesh), batch_sharded(self.mesh)
    self._weighted = jax.jit(weighted, in_shardings=(rep, sharded, sharded),
                             out_shardings=rep)
    self._add = jax.jit(lambda a, b: jax.tree.map(jnp.add, a, b), out_shardings=rep)
    self._finish = jax.jit(_averaged_into, out_shardings=rep)

  def __call__(self, variables, split):
    """``variables`` with ``batch_stats`` estimated on ``split`` (unchanged
    for a model without BatchNorm: a ViT without BN in its heads)."""
    if not jax.tree.leaves(variables.get("batch_stats", {})):
      return variables
    total = None
    for batch in self._batches(split):
      part = self._weighted(variables, batch["image"], batch["mask"])
      total = part if total is None else self._add(total, part)
    if total is None:
      raise ValueError("cannot estimate BatchNorm statistics on an empty split")
    return {**variables, "batch_stats": self._finish(variables["batch_stats"], total)}


def _averaged_into(batch_stats, total):
  sums, count = total
  flat = flax.traverse_util.flatten_dict(flax.core.unfreeze(batch_stats))
  for path, value in flax.traverse_util.flatten_dict(flax.core.unfreeze(sums)).items():
    flat[path] = value / count
  return flax.traverse_util.unflatten_dict(flat)
