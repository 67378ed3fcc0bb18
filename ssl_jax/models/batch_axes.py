"""Merging a model input's leading axes into one batch axis, example-major.

Models take [G, N, ...]: G views (or 1) of N examples, and a data-parallel
mesh splits the example axis N over the devices.  A layer that needs a
single batch axis (a convolution, a pooling, a ViT's token sequence) must
merge (G, N).  Merged G-major, as ``x.reshape(-1, ...)`` does, each
device's examples would be scattered through the merged axis in G pieces,
a split XLA cannot express: it gathers the whole batch onto every device
and runs the rest of the step replicated, every device computing every
example.  Merged example-major, each device's examples stay one contiguous
block, so the merged axis keeps the split and the layer runs on the
device's own examples only.
"""
import jax.numpy as jnp


def examples_first(x, lead_ndim):
  """[*lead, *rest] -> [N, *lead[:-1], *rest]: the example axis, the last of
  the ``lead_ndim`` leading axes, moved to the front."""
  if lead_ndim == 0:
    return x
  return jnp.moveaxis(x, lead_ndim - 1, 0)


def examples_back(x, lead_ndim):
  """The inverse of ``examples_first``."""
  if lead_ndim == 0:
    return x
  return jnp.moveaxis(x, 0, lead_ndim - 1)


def merge(x, lead_ndim):
  """[*lead, *rest] -> [prod(lead), *rest], example-major."""
  x = examples_first(x, lead_ndim)
  return x.reshape((-1,) + x.shape[lead_ndim:])


def split(x, lead):
  """[prod(lead), *rest] -> [*lead, *rest]: the inverse of ``merge``."""
  if not lead:
    return x.reshape(x.shape[1:])
  x = x.reshape((lead[-1],) + tuple(lead[:-1]) + x.shape[1:])
  return examples_back(x, len(lead))
