"""Orbax checkpoints of the TrainState, and stopping cleanly on a signal.

``Checkpointer`` restores the latest complete checkpoint into the abstract,
sharded state (or returns None for a fresh run) and saves asynchronously.
``StopSignal`` turns SIGTERM / SIGINT into a request the loop honours at the
next step boundary: save, then exit 0.  A second Ctrl-C aborts at once.
"""
import signal
import threading

from absl import logging
import jax
import orbax.checkpoint as ocp

from ssl_jax import storage
from ssl_jax.sharding import sync_processes


class CheckpointError(RuntimeError):
  """No checkpoint in a run's directory can be restored."""


def abstract_state(init_fn, *args, sharding):
  """ShapeDtypeStructs of ``init_fn(*args)`` carrying ``sharding``."""
  shapes = jax.eval_shape(init_fn, *args)
  return jax.tree.map(
      lambda s: jax.ShapeDtypeStruct(s.shape, s.dtype, sharding=sharding), shapes)


class Checkpointer:
  """Thin wrapper over ``ocp.CheckpointManager`` for one TrainState item."""

  def __init__(self, directory: str, max_to_keep: int = 3):
    self.directory = storage.path(directory)
    options = ocp.CheckpointManagerOptions(max_to_keep=max_to_keep, create=True,
                                           enable_async_checkpointing=True)
    self._manager = ocp.CheckpointManager(self.directory, options=options)

  def latest_step(self):
    return self._manager.latest_step()

  def restore(self, abstract):
    """The latest readable checkpoint restored into ``abstract``'s structure.

    None for a fresh run.  A checkpoint that fails to restore (a corrupt or
    truncated file) is moved to ``<directory>.corrupt/`` once an earlier one
    restores, and the log says so; if none restores, CheckpointError.
    (Partially written checkpoints never count: orbax finalises a step only
    when every file is written, by a rename on a local disk and by a
    ``commit_success`` marker on GCS.)
    """
    failed = []
    for step in sorted(self._manager.all_steps(), reverse=True):
      try:
        state = self._manager.restore(step, args=ocp.args.StandardRestore(abstract))
      except Exception as e:  # pylint: disable=broad-except
        failed.append((step, f"{type(e).__name__}: {str(e)[:300]}"))
        continue
      if failed:
        self._set_aside([s for s, _ in failed])
        logging.warning("checkpoint(s) %s in %s could not be restored (%s); resumed "
                        "from step %d instead and moved them to %s/",
                        [s for s, _ in failed], self.directory, failed[0][1], step,
                        self.corrupt_directory)
      return state
    if failed:
      raise CheckpointError(
          f"no checkpoint in {self.directory} could be restored:\n" +
          "\n".join(f"  step {s}: {err}" for s, err in failed) +
          "\nMove the folder away to start over, or restore it from a copy.")
    return None

  @property
  def corrupt_directory(self):
    return self.directory.parent / f"{self.directory.name}.corrupt"

  def _set_aside(self, steps):
    if jax.process_index() == 0:
      for step in steps:
        storage.move_tree(self.directory / str(step), self.corrupt_directory / str(step))
    sync_processes("checkpoint_set_aside")
    self._manager.reload()

  def save(self, step: int, state) -> bool:
    """Saves ``state`` at ``step`` (asynchronously) unless it is already saved.

    The state is replicated, so a host copy holds all of it; orbax writes
    host arrays ~20x faster than device arrays, which it slices per device.
    """
    if step in self._manager.all_steps():
      return False
    host_state = jax.device_get(state)
    return self._manager.save(step, args=ocp.args.StandardSave(host_state), force=True)

  def reached_preemption(self, step: int) -> bool:
    """True at the step all processes agreed to stop at after a preemption
    notice (Cloud TPU maintenance events, via JAX's coordination service)."""
    return jax.process_count() > 1 and self._manager.reached_preemption(step)

  def wait(self):
    self._manager.wait_until_finished()

  def close(self):
    self._manager.close()


class StopSignal:
  """Records SIGTERM/SIGINT so the loop can checkpoint and stop cleanly."""

  SIGNALS = (signal.SIGTERM, signal.SIGINT)

  def __init__(self):
    self._event = threading.Event()
    self._previous = {}
    self.received = None

  def _handle(self, signum, frame):
    if self._event.is_set() and signum == signal.SIGINT:
      raise KeyboardInterrupt  # second Ctrl-C: the user wants out now
    self.received = signal.Signals(signum).name
    self._event.set()

  def __enter__(self):
    if threading.current_thread() is threading.main_thread():
      for sig in self.SIGNALS:
        self._previous[sig] = signal.signal(sig, self._handle)
    return self

  def __exit__(self, *exc):
    for sig, handler in self._previous.items():
      signal.signal(sig, handler)
    return False

  def requested(self, sync: bool = True) -> bool:
    """True once a signal arrived.

    With several processes the answer must be the same everywhere (they save
    collectively), so it is agreed on by an all-gather, only when ``sync``:
    the loop asks every step but syncs only at logging steps.
    """
    local = self._event.is_set()
    if jax.process_count() == 1:
      return local
    if not sync:
      return False
    from jax.experimental import multihost_utils  # pylint: disable=g-import-not-at-top
    import numpy as np  # pylint: disable=g-import-not-at-top
    flags = multihost_utils.process_allgather(np.asarray(local))
    return bool(np.any(flags))
