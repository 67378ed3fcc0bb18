"""The device mesh and how arrays are laid out on it.

One mesh axis, ``data``: parameters and optimizer state are replicated,
batches are split along their leading (example) axis.  Per-process host
batches become global arrays, so every reduction over the batch inside the
step (BatchNorm, whitening, contrastive negatives) is over the global batch.
"""
import collections
import itertools

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec as P

from ssl_jax.registry import ConfigError

DATA_AXIS = "data"


def make_mesh(devices=None) -> Mesh:
  devices = jax.devices() if devices is None else devices
  return Mesh(np.asarray(devices), (DATA_AXIS,))


def replicated(mesh: Mesh) -> NamedSharding:
  return NamedSharding(mesh, P())


def batch_sharded(mesh: Mesh) -> NamedSharding:
  return NamedSharding(mesh, P(DATA_AXIS))


def jit_train_step(step, mesh: Mesh, donate: bool = True):
  """``step(state, batch, rng) -> (state, metrics)`` jitted for the mesh.

  State, key and metrics are replicated; the batch is split.  With
  ``donate`` XLA writes the new state into the old one's buffers, so a step
  holds one copy of parameters, optimiser and method state, not two; the
  old state is unusable afterwards (``donate=False`` for callers that
  compare states across steps).
  """
  repl = replicated(mesh)
  return jax.jit(step, donate_argnums=0 if donate else (),
                 in_shardings=(repl, batch_sharded(mesh), repl), out_shardings=(repl, repl))


def check_global_batch(global_batch: int, mesh: Mesh, key="train.batch_size"):
  devices = mesh.devices.size
  if global_batch % devices:
    raise ConfigError(
        f"{key}={global_batch} is not divisible by the {devices} devices; "
        f"use a multiple of {devices}")
  processes = jax.process_count()
  if global_batch % processes:
    raise ConfigError(f"{key}={global_batch} is not divisible by the "
                      f"{processes} processes")


def round_up_batch(batch: int, mesh: Mesh) -> int:
  """Smallest multiple of the device count >= ``batch``.

  For evaluation batches, whose padding is masked: their size only sets
  throughput, so it adapts to the mesh instead of failing.
  """
  devices = mesh.devices.size
  return -(-batch // devices) * devices


def to_global(local_tree, mesh: Mesh):
  """Per-process batch (NumPy tree, leading axis B / processes) -> global arrays."""
  sharding = batch_sharded(mesh)
  return jax.tree.map(
      lambda x: jax.make_array_from_process_local_data(sharding, np.asarray(x)),
      local_tree)


def prefetch_to_device(host_batches, mesh: Mesh, size: int = 2):
  """Global arrays of ``host_batches``, copied ``size`` batches ahead.

  The copy of batch s+1 is issued before step s is dispatched, so the
  host-to-device transfer overlaps the device's compute.  Batches are only
  read ahead: a run stopped at step s resumes from the pipeline at s.
  """
  queue = collections.deque()

  def enqueue(count):
    for batch in itertools.islice(host_batches, count):
      queue.append(to_global(batch, mesh))

  enqueue(size)
  while queue:
    batch = queue.popleft()
    enqueue(1)
    yield batch


def sync_processes(name: str):
  """Barrier across processes (a no-op in a single-process run): file-system
  changes one process made are done before any process goes on."""
  if jax.process_count() > 1:
    from jax.experimental import multihost_utils  # pylint: disable=g-import-not-at-top
    multihost_utils.sync_global_devices(name)
