"""A FIFO memory queue of past keys (MoCo, SCE, ReSSL) as method state.

A ring buffer: {"queue": [K, D] L2-normalised keys, "ptr": int32}.  Each
step writes the new keys (all global crops of the global batch) at ``ptr``.
"""
import jax
import jax.numpy as jnp
from jax import lax

from ssl_jax.kernels.similarity import l2_normalize


def init_queue(rng, size: int, dim: int):
  """Random unit vectors, as MoCo initialises its queue."""
  if size < 1:
    raise ValueError(f"queue size must be >= 1, got {size}")
  return {"queue": l2_normalize(jax.random.normal(rng, (size, dim), jnp.float32)),
          "ptr": jnp.zeros((), jnp.int32)}


def enqueue(state, keys):
  """Writes keys [M, D] (normalised, no gradient) after the newest entries.

  K must be a multiple of M so that writes never wrap mid-batch, as MoCo
  asserts.
  """
  size = state["queue"].shape[0]
  m = keys.shape[0]
  if size % m:
    raise ValueError(f"queue size {size} must be a multiple of the {m} keys "
                     "enqueued per step (global batch x global crops)")
  keys = lax.stop_gradient(l2_normalize(keys))
  queue = lax.dynamic_update_slice(state["queue"], keys, (state["ptr"], 0))
  return {"queue": queue, "ptr": (state["ptr"] + m) % size}
