"""Cross-entropies between distributions given as logits or probabilities."""
import jax
import jax.numpy as jnp
from ssl_jax.kernels.dtypes import as_float


def soft_cross_entropy(targets, logits, axis=-1):
  """``-Σ_k t_k log softmax(logits)_k`` along ``axis``; [..., K] -> [...]."""
  logp = jax.nn.log_softmax(as_float(logits), axis=axis)
  return -jnp.sum(as_float(targets) * logp, axis=axis)


def hard_cross_entropy(logits, labels):
  """``-log softmax(logits)[label]``; logits [N, K], labels int [N] -> [N]."""
  logp = jax.nn.log_softmax(as_float(logits), axis=-1)
  return -jnp.take_along_axis(logp, labels[:, None], axis=-1)[:, 0]
