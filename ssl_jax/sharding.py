"""The device mesh and how arrays are laid out on it.

One mesh axis, ``data``: batches are split along their leading (example)
axis.  Per-process host batches become global arrays, so every reduction
over the batch inside the step (BatchNorm, whitening, contrastive
negatives) is over the global batch.  The training state is replicated, or
(``fsdp_shardings``) split over the same axis (FSDP, ZeRO-3): each large
array of parameters, optimiser and teacher state
lives in slices across the devices, and XLA gathers a layer's weights where
the step uses them and scatters its gradients back.  The step itself does
not change.  The pretraining job keeps the state replicated.
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


# Arrays with fewer elements stay replicated under FSDP: slicing them saves
# little memory and costs a gather each.
MIN_SHARDED_SIZE = 2 ** 14


def array_sharding(shape, mesh: Mesh, min_size: int = MIN_SHARDED_SIZE) -> NamedSharding:
  """FSDP layout of one array: split over the data axis along its largest
  dimension the device count divides; replicated if small or indivisible."""
  devices = mesh.shape[DATA_AXIS]
  if int(np.prod(shape)) < min_size:
    return replicated(mesh)
  for dim in sorted(range(len(shape)), key=lambda d: -shape[d]):
    if shape[dim] % devices == 0:
      return NamedSharding(mesh, P(*(DATA_AXIS if d == dim else None for d in range(len(shape)))))
  return replicated(mesh)


def fsdp_shardings(abstract_state, mesh: Mesh, min_size: int = MIN_SHARDED_SIZE):
  """``array_sharding`` of every leaf of a state (arrays or ShapeDtypeStructs)."""
  return jax.tree.map(lambda a: array_sharding(a.shape, mesh, min_size), abstract_state)


def jit_train_step(step, mesh: Mesh, donate: bool = True, state_sharding=None):
  """``step(state, batch, rng) -> (state, metrics)`` jitted for the mesh.

  The state keeps ``state_sharding`` (None: replicated); key and metrics
  are replicated, the batch is split.  With ``donate`` XLA writes the new
  state into the old one's buffers, so a step holds one copy of parameters,
  optimiser and method state, not two; the old state is unusable afterwards
  (``donate=False`` for callers that compare states across steps).
  """
  repl = replicated(mesh)
  state = repl if state_sharding is None else state_sharding
  return jax.jit(step, donate_argnums=0 if donate else (),
                 in_shardings=(state, batch_sharded(mesh), repl), out_shardings=(state, repl))


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
