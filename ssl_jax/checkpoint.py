"""Orbax checkpoints of the TrainState, and stopping cleanly on a signal.

``Checkpointer`` restores the latest complete checkpoint into the abstract,
sharded state (or returns None for a fresh run) and saves asynchronously.
Every step folder holds two items: the state (``default``) and the CRC-32
of each of its arrays (``checksums``), computed from the host copy orbax
writes and checked on restore, so flipped bytes make a checkpoint
unrestorable instead of a run that resumes from garbage.
``StopSignal`` turns SIGTERM / SIGINT into a request the loop honours at the
next step boundary: save, then exit 0.  A second Ctrl-C aborts at once.
"""
import errno
import logging as pylogging
import os
import re
import signal
import sys
import threading
import zlib

from absl import logging
import jax
import numpy as np
import orbax.checkpoint as ocp

from ssl_jax import storage
from ssl_jax.sharding import sync_processes


# Errors of a disk or bucket a failed save names (a full disk, a quota, ...).
_STORAGE_ERRNOS = (errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EIO)
STATE_ITEM = "default"
CHECKSUM_ITEM = "checksums"


class CheckpointError(RuntimeError):
  """No checkpoint in a run's directory can be restored."""


class ChecksumMismatch(ValueError):
  """A restored array differs from the one that was saved."""


def _leaf_name(path) -> str:
  """``params/backbone/conv/kernel``: the same for a TrainState and for the
  plain dicts orbax restores without a target."""
  return "/".join(str(getattr(k, "name", getattr(k, "key", getattr(k, "idx", k))))
                  for k in path)


def _host_array(leaf):
  if isinstance(leaf, jax.Array) and not leaf.is_fully_addressable:
    leaf = leaf.addressable_data(0)  # replicated: one shard holds all of it
  return np.ascontiguousarray(np.asarray(leaf))


def checksums(tree) -> dict:
  """{leaf name: "crc32 dtype shape"} of every array in ``tree``."""
  out = {}
  for path, leaf in jax.tree_util.tree_flatten_with_path(tree)[0]:
    a = _host_array(leaf)
    out[_leaf_name(path)] = f"{zlib.crc32(a.view(np.uint8).reshape(-1)):08x} {a.dtype} {a.shape}"
  return out


def verify(tree, expected: dict):
  """Raises ChecksumMismatch naming the first array whose checksum differs."""
  actual = checksums(tree)
  if set(actual) != set(expected):
    raise ChecksumMismatch(f"the arrays differ from those saved: "
                           f"{sorted(set(actual) ^ set(expected))[:3]}")
  for name, value in actual.items():
    if value != expected[name]:
      raise ChecksumMismatch(f"array {name} does not match the checksum saved with it "
                             f"({value.split()[0]} != {expected[name].split()[0]})")


def abstract_state(init_fn, *args, sharding):
  """ShapeDtypeStructs of ``init_fn(*args)`` carrying ``sharding``."""
  shapes = jax.eval_shape(init_fn, *args)
  return jax.tree.map(
      lambda s: jax.ShapeDtypeStruct(s.shape, s.dtype, sharding=sharding), shapes)


# The absl status codes tensorstore puts in front of its error messages.
_TENSORSTORE_ERROR = re.compile(
    r"(ABORTED|CANCELLED|DATA_LOSS|FAILED_PRECONDITION|INTERNAL|INVALID_ARGUMENT|NOT_FOUND|"
    r"OUT_OF_RANGE|PERMISSION_DENIED|RESOURCE_EXHAUSTED|UNAVAILABLE|UNKNOWN): ")


class _UnretrievedReadFilter(pylogging.Filter):
  """Drops asyncio's "Task exception was never retrieved" for a tensorstore
  read: once one read of a restore fails, nobody awaits the others."""

  def filter(self, record):
    exc = record.exc_info[1] if record.exc_info else None
    return not (record.getMessage().startswith("Task exception was never retrieved")
                and _TENSORSTORE_ERROR.match(str(exc)))


def _drop_late_restore_callbacks():
  """Silences the late errors of a failed restore.

  When one array of a checkpoint fails to read, orbax's event loop ends
  while tensorstore still reads the others; each read that finishes then
  either calls into the closed loop ("Event loop is closed", an unraisable
  error) or leaves a failed task nobody awaits (asyncio logs "Task
  exception was never retrieved" when it is collected), and Python prints a
  traceback (hundreds for a corrupt manifest) after the failure was already
  handled.  Only those are dropped; every other unraisable error reaches the
  previous hook and every other asyncio error is logged.
  """
  asyncio_log = pylogging.getLogger("asyncio")
  if not any(isinstance(f, _UnretrievedReadFilter) for f in asyncio_log.filters):
    asyncio_log.addFilter(_UnretrievedReadFilter())
  previous = sys.unraisablehook
  if getattr(previous, "drops_late_restore_callbacks", False):
    return

  def hook(unraisable):
    if not (isinstance(unraisable.exc_value, RuntimeError)
            and str(unraisable.exc_value) == "Event loop is closed"):
      previous(unraisable)

  hook.drops_late_restore_callbacks = True
  sys.unraisablehook = hook


class Checkpointer:
  """Thin wrapper over ``ocp.CheckpointManager`` for one TrainState item."""

  def __init__(self, directory: str, max_to_keep: int = 3, read_only: bool = False,
               lease=None):
    """``read_only``: for jobs that read another run's checkpoints (export,
    evaluation): nothing is created, saved or set aside.  ``lease``: the
    run's ``ssl_jax.lease`` (checked before every save)."""
    self.directory = storage.path(directory)
    self.read_only = read_only
    self._lease = lease
    _drop_late_restore_callbacks()
    # cleanup_tmp_directories: a save that failed (a full disk) or was killed
    # leaves a temporary folder; the next run removes it.
    options = ocp.CheckpointManagerOptions(max_to_keep=max_to_keep, create=not read_only,
                                           read_only=read_only,
                                           cleanup_tmp_directories=not read_only,
                                           enable_async_checkpointing=True)
    # Named handlers: without them orbax infers the layout from the first
    # step folder it reads, and one stray folder makes every step unreadable.
    handlers = {STATE_ITEM: ocp.StandardCheckpointHandler(),
                CHECKSUM_ITEM: ocp.JsonCheckpointHandler()}
    self._manager = ocp.CheckpointManager(self.directory, options=options,
                                          item_handlers=handlers)

  def latest_step(self):
    return self._manager.latest_step()

  def restore(self, abstract=None):
    """The latest readable checkpoint restored into ``abstract``'s structure
    (None: as saved, host arrays in dicts).

    None for a fresh run.  A checkpoint that fails to restore or to match
    its checksums (a corrupt, truncated or stray step folder) is moved to
    ``<directory>.corrupt/`` once an earlier one restores (only noted if
    ``read_only``), and the log says so; if none restores, CheckpointError.
    (Partially written checkpoints never count: orbax finalises a step only
    when every file is written, by a rename on a local disk and by a
    ``commit_success`` marker on GCS.)
    """
    failed = []
    for step in sorted(self._manager.all_steps(), reverse=True):
      try:
        state = self._restore_verified(step, abstract)
      except Exception as e:  # pylint: disable=broad-except
        failed.append((step, f"{type(e).__name__}: {str(e)[:300]}"))
        continue
      if failed:
        steps = [s for s, _ in failed]
        if not self.read_only:
          self._set_aside(steps)
        logging.warning("checkpoint(s) %s in %s could not be restored (%s); resumed "
                        "from step %d instead%s", steps, self.directory,
                        "; ".join(f"step {s}: {err}" for s, err in failed), step, "" if self.read_only else
                        f" and moved them to {self.corrupt_directory}/")
      return step, state
    if failed:
      raise CheckpointError(
          f"no checkpoint in {self.directory} could be restored: " +
          "; ".join(f"step {s}: {' '.join(err.split())}" for s, err in failed) +
          ". Move the folder away to start over, or restore it from a copy.")
    return None, None

  def _restore_verified(self, step, abstract):
    has_sums = (self.directory / str(step) / CHECKSUM_ITEM).exists()
    args = {STATE_ITEM: ocp.args.StandardRestore(abstract)}
    if has_sums:
      args[CHECKSUM_ITEM] = ocp.args.JsonRestore()
    restored = self._manager.restore(step, args=ocp.args.Composite(**args))
    if has_sums:
      verify(restored[STATE_ITEM], restored[CHECKSUM_ITEM])
    else:
      logging.warning("checkpoint %d in %s has no checksums (saved by an older "
                      "version): restored unverified", step, self.directory)
    return restored[STATE_ITEM]

  @property
  def corrupt_directory(self):
    return self.directory.parent / f"{self.directory.name}.corrupt"

  def _set_aside(self, steps):
    if jax.process_index() == 0:
      for step in steps:
        target, n = self.corrupt_directory / str(step), 1
        while target.exists():  # set aside before: keep both
          target, n = self.corrupt_directory / f"{step}.{n}", n + 1
        storage.move_tree(self.directory / str(step), target)
    sync_processes("checkpoint_set_aside")
    self._manager.reload()

  def save(self, step: int, state) -> bool:
    """Saves ``state`` at ``step`` (asynchronously) unless it is already saved.

    The state is replicated, so a host copy holds all of it; orbax writes
    host arrays ~20x faster than device arrays, which it slices per device.
    """
    if step in self._manager.all_steps():
      return False
    if self._lease is not None:
      self._lease.check()
    host_state = jax.device_get(state)
    items = {STATE_ITEM: ocp.args.StandardSave(host_state),
             CHECKSUM_ITEM: ocp.args.JsonSave(checksums(host_state))}
    try:
      return self._manager.save(step, args=ocp.args.Composite(**items), force=True)
    except Exception as e:  # pylint: disable=broad-except
      raise self._save_failed(e) from e

  def raise_failed_save(self):
    """Raises CheckpointError if an asynchronous save has failed (a full
    disk, a lost bucket): the run stops there rather than training on with
    nothing saved.  Cheap: it only looks at finished saves."""
    try:
      self._manager.check_for_errors()
    except Exception as e:  # pylint: disable=broad-except
      raise self._save_failed(e) from e

  def _save_failed(self, error):
    try:  # let orbax's other threads end first, so their logs come before ours
      self._manager.wait_until_finished()
    except Exception:  # pylint: disable=broad-except
      pass
    text = " ".join(f"{type(error).__name__}: {error}".split())
    # tensorstore buries the OS error in a long spec: name it if it is there.
    cause = next((os.strerror(code) for code in _STORAGE_ERRNOS
                  if os.strerror(code) in text), text[:300])
    return CheckpointError(
        f"saving a checkpoint to {self.directory} failed ({cause}); stopped. The "
        f"checkpoints written before are kept: fix the cause (e.g. free space) and "
        f"re-run the same command to resume.")

  def wait(self):
    try:
      self._manager.wait_until_finished()
    except Exception as e:  # pylint: disable=broad-except
      raise self._save_failed(e) from e

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
    flags = multihost_utils.process_allgather(np.asarray(local))
    return bool(np.any(flags))
