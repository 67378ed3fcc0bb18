"""One run per workdir: a lease that a second launch is refused by.

``held(workdir)`` takes ``workdir/lease.json`` for the duration of a job,
on process 0 only, and every process learns whether it was granted.  The
lease names its holder (host, pid, start time), so a refusal says which run
is live:

- local disk: an ``flock`` on the file.  The kernel drops it when the
  holder exits, however it exits, so a killed run never blocks a relaunch.
- ``gs://``: an object written with generation preconditions (create only
  if absent; replace or delete only the generation we wrote), renewed every
  ``RENEW_SECONDS``.  A lease is stale once its holder stopped renewing it
  for ``STALE_SECONDS`` or, on the same host, once its pid is gone; a stale
  lease is taken over by a generation-matched replace, so of two relaunches
  one wins.  A holder that finds its lease taken (it stalled past
  ``STALE_SECONDS``) refuses to write checkpoints from then on.
"""
import contextlib
import json
import os
import socket
import threading
import time

import jax
import numpy as np
from absl import logging

from ssl_jax import storage
from ssl_jax.registry import ConfigError

LEASE_FILE = "lease.json"
RENEW_SECONDS = 30.0
STALE_SECONDS = 120.0


class WorkdirBusy(RuntimeError):
  """Another live run holds the workdir, or took it over from this one."""


def _holder() -> dict:
  now = time.time()
  return {"host": socket.gethostname(), "pid": os.getpid(),
          "started": time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(now)),
          "renewed": now}


def _describe(workdir, info) -> str:
  if not info:
    return f"{workdir} is in use by another run"
  return (f"{workdir} is in use by the run started {info.get('started', '?')} on host "
          f"{info.get('host', '?')}, pid {info.get('pid', '?')}: wait for it to end or "
          f"stop it (a killed run's lease lapses by itself)")


class _FileLease:
  """flock on a local file; released by the kernel with the process."""

  def __init__(self, path):
    self._path = os.fspath(path)
    self._fd = None

  def acquire(self, workdir):
    import fcntl  # pylint: disable=g-import-not-at-top
    try:
      os.makedirs(os.path.dirname(self._path), exist_ok=True)
      fd = os.open(self._path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as e:  # the first write of a run: say so before any work
      raise ConfigError(f"cannot write to the workdir {workdir}: {e.strerror} "
                        f"({e.filename})") from None
    try:
      fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
      text = os.read(fd, 4096).decode(errors="replace")
      os.close(fd)
      raise WorkdirBusy(_describe(workdir, _parse(text))) from None
    os.ftruncate(fd, 0)
    os.pwrite(fd, json.dumps(_holder()).encode(), 0)
    self._fd = fd

  def check(self):
    pass  # a lock the kernel holds cannot be lost

  def release(self):
    if self._fd is not None:
      os.close(self._fd)  # drops the flock
      self._fd = None


class _Unheld:
  """What processes other than 0 hold: nothing (process 0 holds the lease)."""

  def check(self):
    pass

  def release(self):
    pass


def _parse(text):
  try:
    info = json.loads(text)
  except ValueError:
    return None
  return info if isinstance(info, dict) else None


class _ObjectLease:
  """A GCS object guarded by generation preconditions, renewed by a thread."""

  def __init__(self, url):
    import fsspec  # pylint: disable=g-import-not-at-top
    self._fs = fsspec.filesystem("gs")
    self._bucket, self._key, _ = self._fs.split_path(url)
    self._generation = None
    self._lost = None
    self._stop = threading.Event()
    self._thread = None

  def _write(self, info, if_generation):
    """Uploads ``info`` if the object's generation is ``if_generation`` (0:
    absent); returns the new generation, None if the precondition failed."""
    # A multipart upload (metadata part, then the object): the form whose
    # preconditions GCS and its emulators all honour.
    body = b"".join([
        b"--==0==\nContent-Type: application/json; charset=UTF-8\n\n",
        json.dumps({"name": self._key}).encode(),
        b"\n--==0==\nContent-Type: application/json\n\n", json.dumps(info).encode(),
        b"\n--==0==--"])
    try:
      out = self._fs.call(
          "POST", f"{self._fs._location}/upload/storage/v1/b/{self._bucket}/o",  # pylint: disable=protected-access
          uploadType="multipart", ifGenerationMatch=str(if_generation), data=body,
          headers={"Content-Type": 'multipart/related; boundary="==0=="'}, json_out=True)
    except FileExistsError:  # HTTP 412: someone else's generation is there
      return None
    return out["generation"]

  def _read(self):
    """(info, generation) of the lease now, (None, 0) if there is none."""
    try:
      meta = self._fs.call("GET", "b/{}/o/{}", self._bucket, self._key, json_out=True)
      _, data = self._fs.call("GET", "b/{}/o/{}", self._bucket, self._key, alt="media",
                              generation=meta["generation"])
    except FileNotFoundError:
      return None, 0
    return _parse(data.decode(errors="replace")), meta["generation"]

  def acquire(self, workdir):
    mine = _holder()
    for _ in range(3):  # the lease may change between a read and a write
      generation = self._write(mine, 0)
      if generation is None:
        info, current = self._read()
        if current and not _stale(info):
          raise WorkdirBusy(_describe(workdir, info))
        if current:
          logging.warning("taking over the lapsed lease of %s (host %s, pid %s)", workdir,
                          (info or {}).get("host"), (info or {}).get("pid"))
        generation = self._write(mine, current)
      if generation is not None:
        self._generation, self._info = generation, mine
        self._thread = threading.Thread(target=self._renew, daemon=True)
        self._thread.start()
        return
    raise WorkdirBusy(_describe(workdir, self._read()[0]))

  def _renew(self):
    while not self._stop.wait(RENEW_SECONDS):
      generation = self._write({**self._info, "renewed": time.time()}, self._generation)
      if generation is None:
        self._lost = self._read()[0]
        logging.error("the lease of this run was taken over: %s", self._lost)
        return
      self._generation = generation

  def check(self):
    if self._lost is not None:
      raise WorkdirBusy(f"this run's lease was taken over by host "
                        f"{self._lost.get('host')}, pid {self._lost.get('pid')} after it "
                        f"stalled for over {STALE_SECONDS:.0f} s; not writing anything more")

  def release(self):
    self._stop.set()
    if self._thread is not None:
      self._thread.join()
    if self._generation is not None and self._lost is None:
      try:
        self._fs.call("DELETE", "b/{}/o/{}", self._bucket, self._key,
                      ifGenerationMatch=str(self._generation))
      except (FileExistsError, FileNotFoundError):
        pass
      self._generation = None


def _stale(info) -> bool:
  if not info:
    return True
  if info.get("host") == socket.gethostname() and not _alive(info.get("pid")):
    return True
  return time.time() - float(info.get("renewed", 0)) > STALE_SECONDS


def _alive(pid) -> bool:
  try:
    os.kill(int(pid), 0)
  except (ProcessLookupError, TypeError, ValueError):
    return False
  except PermissionError:
    return True
  return True


def _agree(granted_error):
  """Every process learns process 0's verdict (it alone takes the lease)."""
  if jax.process_count() == 1:
    if granted_error:
      raise granted_error
    return
  from jax.experimental import multihost_utils  # pylint: disable=g-import-not-at-top
  refused = multihost_utils.broadcast_one_to_all(np.int32(granted_error is not None))
  if granted_error is not None:
    raise granted_error
  if int(refused):
    raise WorkdirBusy("the workdir is in use by another run (see process 0's message)")


@contextlib.contextmanager
def held(workdir: str):
  """Holds ``workdir``'s lease for the body; yields it (``check()`` raises
  WorkdirBusy if it was lost).  Raises WorkdirBusy if another run holds it."""
  path = storage.path(workdir) / LEASE_FILE
  lease = _ObjectLease(os.fspath(path)) if storage.is_url(path) else _FileLease(path)
  error = None
  if jax.process_index() == 0:
    try:
      lease.acquire(workdir)
    except WorkdirBusy as e:
      error = e
  else:
    lease = _Unheld()
  _agree(error)
  try:
    yield lease
  finally:
    lease.release()
