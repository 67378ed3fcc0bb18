"""Batch normalisation with one set of statistics per view group.

Models take inputs shaped [G, N, ..., C]: G groups (views) of N samples.
Statistics are computed over every axis but the group axis and the feature
axis, so G views batched into one forward pass are normalised exactly as G
separate forward passes would be (the PyTorch references call the network
once per crop).  Statistics shared across views (DINO, SwAV) are a
[1, G*N, ...] input (``SSLModel``'s ``bn_pooling``).  Under a batch-sharded mesh the reductions
over N are global: this is synchronised BatchNorm with no axis name.

A train-mode call with the ``MOMENTS`` collection mutable also records the
batch mean and unbiased variance each layer folds into its running
statistics (``train_mode_moments``), so an evaluation can estimate the
running statistics of a whole split (``evals.features.RunningStatsEstimator``).
"""
from typing import Any

import flax.linen as nn
import jax.numpy as jnp

MOMENTS = "batch_moments"


def _latest(_, value):
  return value


def train_mode_moments(model, variables, *args, method=None):
  """{path: {"mean", "var"}}: what each BatchNorm of ``model`` saw in one
  train-mode call ``model.apply(variables, *args, train=True, method=method)``,
  laid out as the ``batch_stats`` collection (layers not called are absent)."""
  _, updated = model.apply(variables, *args, train=True, method=method,
                           mutable=["batch_stats", MOMENTS])
  return updated[MOMENTS]


class BatchNorm(nn.Module):
  """BatchNorm over every axis of a [G, N, ..., C] input but the group axis
  and the features.

  Matches ``torch.nn.BatchNorm*d``: normalises with the biased batch
  variance, tracks running statistics with ``momentum`` (PyTorch's 0.1 is
  our 0.9) and the unbiased variance, folding the G groups in one after
  the other as G calls would.  ``group_axis=1`` takes [N, G, ..., C]
  (the ResNet's example-major layout, ``batch_axes``).
  """
  momentum: float = 0.9
  epsilon: float = 1e-5
  dtype: Any = jnp.float32
  use_scale: bool = True
  use_bias: bool = True
  scale_init: Any = nn.initializers.ones
  group_axis: int = 0

  @nn.compact
  def __call__(self, x, train: bool):
    features = x.shape[-1]
    ra_mean = self.variable("batch_stats", "mean", jnp.zeros, (features,), jnp.float32)
    ra_var = self.variable("batch_stats", "var", jnp.ones, (features,), jnp.float32)
    x32 = x.astype(jnp.float32)
    if train:
      axes = tuple(a for a in range(x.ndim - 1) if a != self.group_axis)
      mean = jnp.mean(x32, axis=axes, keepdims=True)
      var = jnp.mean(jnp.square(x32 - mean), axis=axes, keepdims=True)
      if not self.is_initializing():
        count = x.size // (x.shape[self.group_axis] * features)
        unbiased = var * (count / max(count - 1, 1))
        means = mean.reshape(-1, features)
        variances = unbiased.reshape(-1, features)
        # One update per group, in order, as separate forward passes would.
        for g in range(means.shape[0]):
          ra_mean.value = self.momentum * ra_mean.value + (1 - self.momentum) * means[g]
          ra_var.value = self.momentum * ra_var.value + (1 - self.momentum) * variances[g]
        group_mean = jnp.mean(means, axis=0)
        group_var = jnp.mean(variances, axis=0)
        # A no-op unless MOMENTS is mutable (train_mode_moments).
        self.sow(MOMENTS, "mean", group_mean, reduce_fn=_latest, init_fn=lambda: None)
        self.sow(MOMENTS, "var", group_var, reduce_fn=_latest, init_fn=lambda: None)
    else:
      mean, var = ra_mean.value, ra_var.value
    y = (x32 - mean) * (1.0 / jnp.sqrt(var + self.epsilon))
    if self.use_scale:
      y = y * self.param("scale", self.scale_init, (features,), jnp.float32)
    if self.use_bias:
      y = y + self.param("bias", nn.initializers.zeros, (features,), jnp.float32)
    return y.astype(self.dtype)
