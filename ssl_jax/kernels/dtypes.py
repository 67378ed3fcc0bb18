"""The dtype a kernel computes in: its input's, promoted to at least float32.

bf16 and f16 inputs are upcast to float32 (losses sum many small terms);
float32 stays; float64 (under ``jax_enable_x64``) stays float64, so a loss
can be checked against a float64 reference to 1e-10.
"""
import jax.numpy as jnp


def compute_dtype(*arrays):
  """promote_types(the arrays' result type, float32)."""
  return jnp.promote_types(jnp.result_type(*arrays), jnp.float32)


def as_float(x, dtype=None):
  """``x`` as an array of ``dtype`` (default: ``compute_dtype(x)``)."""
  x = jnp.asarray(x)
  return x.astype(compute_dtype(x) if dtype is None else dtype)
