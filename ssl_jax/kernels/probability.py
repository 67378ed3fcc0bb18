"""Cross-entropies between distributions given as logits or probabilities."""
import jax
import jax.numpy as jnp


def soft_cross_entropy(targets, logits, axis=-1):
  """``-Σ_k t_k log softmax(logits)_k`` along ``axis``; [..., K] -> [...]."""
  logp = jax.nn.log_softmax(jnp.asarray(logits, jnp.float32), axis=axis)
  return -jnp.sum(jnp.asarray(targets, jnp.float32) * logp, axis=axis)


def hard_cross_entropy(logits, labels):
  """``-log softmax(logits)[label]``; logits [N, K], labels int [N] -> [N]."""
  logp = jax.nn.log_softmax(jnp.asarray(logits, jnp.float32), axis=-1)
  return -jnp.take_along_axis(logp, labels[:, None], axis=-1)[:, 0]
