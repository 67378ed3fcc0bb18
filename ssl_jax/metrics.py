"""Where numbers go: metrics.jsonl, spectrum.jsonl, TensorBoard, the progress line.

Only process 0 writes.  ``metrics.jsonl`` holds one JSON object per logged
step (scalars), ``spectrum.jsonl`` one per evaluation (the embedding
spectrum and other vectors); on resume the lines after the restored step
are dropped, so the files always describe the run the checkpoints continue.
Every file is written whole (``ssl_jax.storage``), so a workdir may be a
``gs://`` URL.
"""
import json
import logging
import math
import time
from concurrent import futures

import jax
from absl import logging as absl_logging

from ssl_jax import storage
from ssl_jax.events import EventChunks

METRICS_FILE = "metrics.jsonl"
DETAILS_FILE = "spectrum.jsonl"


class _QuietLibraries(logging.Filter):
  """Drops INFO lines from orbax (dozens per checkpoint), from fsspec and
  gcsfs (one per file opened on a bucket) and JAX's backend probing (which
  accelerators it did not find); warnings and errors pass as one
  line each, without the traceback orbax (or asyncio, for orbax's tasks)
  attaches to a failed background save (the run's own error says what
  failed and what is kept)."""
  NOISY = ("/orbax/", "/fsspec/", "/gcsfs/", "/asyncio/",
           "/jax/_src/xla_bridge.py")  # "Unable to initialize backend 'tpu'" off TPUs

  def filter(self, record):
    if not any(part in record.pathname for part in self.NOISY):
      return True
    if record.exc_info:
      error = record.exc_info[1]
      record.msg = f"{record.getMessage()} ({type(error).__name__}: {error})"
      record.args, record.exc_info, record.exc_text = None, None, None
    return record.levelno >= logging.WARNING


def quiet_library_logs():
  absl_logging.get_absl_handler().addFilter(_QuietLibraries())


def _scalar(v):
  v = float(v)
  return v if math.isfinite(v) else str(v)


def _read_records(path):
  """The JSON records of a .jsonl file.  A torn last line (a crash or a full
  disk mid-write) is dropped with a warning; a damaged line before it is
  DamagedFile."""
  lines = [line for line in (storage.read_text(path) or "").splitlines() if line.strip()]
  records = []
  for number, line in enumerate(lines, 1):
    try:
      record = json.loads(line)
      if not isinstance(record, dict) or not isinstance(record.get("step"), int):
        raise ValueError("not a record with a step")
    except ValueError as e:
      if number < len(lines):
        raise storage.DamagedFile(f"{path} line {number} is damaged ({e}): repair or "
                                  f"delete that line to resume") from None
      absl_logging.warning("dropped the torn last line of %s: %r", path, line[:80])
      continue
    records.append(record)
  return records


def tensorboard_tag(key: str) -> str:
  """The TensorBoard tag of a metric, grouped: ``train/`` (loss, rates, the
  probe's batch accuracy), ``eval/`` (held-out accuracies) and
  ``diagnostics/`` (ranks, spreads, collapse)."""
  if "train" in key:
    return f"train/{key}"
  if key.endswith(("_top1", "_top5")):
    return f"eval/{key}"
  if key.endswith(("rank", "_std")) or key == "collapse":
    return f"diagnostics/{key}"
  return f"train/{key}"


def _hparam(value):
  return value if isinstance(value, (bool, int, float, str)) else str(value)


class MetricsWriter:
  """metrics.jsonl, spectrum.jsonl and TensorBoard events of ``workdir``.

  Object stores have no append, so the writer holds every line of its files
  and rewrites them whole at each flush: every FLUSH_SECONDS, at every
  checkpoint (the loop calls ``flush``) and at ``close``.  Writes run on
  one background thread, in order, so a slow bucket never stalls a step;
  a failed write is raised at the next flush.  A crash loses only records
  after the last checkpoint, which a resume would drop anyway.
  """
  FLUSH_SECONDS = 5.0

  def __init__(self, workdir: str, enabled: bool = None, start_step: int = None,
               trackers=()):
    """``start_step``: the step a run resumes from; records after it are
    dropped (the work lost since that checkpoint).  None keeps them all.
    ``trackers`` (``ssl_jax.tracking``) receive every record too."""
    self._trackers = list(trackers)
    self.enabled = jax.process_index() == 0 if enabled is None else enabled
    self._workdir = storage.path(workdir)
    self._lines = {METRICS_FILE: [], DETAILS_FILE: []}  # every line of each file
    self._events = None
    self._writer = futures.ThreadPoolExecutor(max_workers=1)
    self._inflight = None
    if self.enabled:
      for name, lines in self._lines.items():
        lines.extend(json.dumps(r) + "\n" for r in _read_records(self._workdir / name)
                     if start_step is None or r["step"] <= start_step)
      self._events = EventChunks(self._workdir / "tensorboard", start_step or 0)
      self.flush()
    self._last_flush = time.monotonic()

  def write_hparams(self, flat_config: dict):
    """The run's config (``{"optim.base_lr": 0.5, ...}``) as TensorBoard hparams."""
    if self.enabled:
      self._events.hparams({k: _hparam(v) for k, v in flat_config.items() if v is not None})

  def write_details(self, step: int, details: dict):
    """Adds lists (spectra, histograms) to ``spectrum.jsonl``."""
    if self.enabled and details:
      self._lines[DETAILS_FILE].append(json.dumps({"step": int(step), **details}) + "\n")

  def write(self, step: int, metrics: dict):
    if not self.enabled or not metrics:
      return
    record = {"step": int(step), **{k: _scalar(v) for k, v in metrics.items()}}
    self._lines[METRICS_FILE].append(json.dumps(record) + "\n")
    self._events.scalars(step, {tensorboard_tag(k): v for k, v in record.items()
                                if k != "step" and isinstance(v, float)})
    for tracker in self._trackers:
      tracker.log(step, record)
    if time.monotonic() - self._last_flush >= self.FLUSH_SECONDS:
      self.flush()

  def flush(self):
    """Hands the files as they stand to the background writer."""
    if not self.enabled:
      return
    writes = [(self._workdir / name, "".join(lines).encode())
              for name, lines in self._lines.items()
              if lines or (self._workdir / name).exists()]
    chunk = self._events.seal()
    if chunk:
      writes.append(chunk)
    self._wait()
    self._inflight = self._writer.submit(
        lambda: [storage.write_bytes(path, data) for path, data in writes])
    self._last_flush = time.monotonic()

  def _wait(self):
    if self._inflight is not None:
      inflight, self._inflight = self._inflight, None
      try:
        inflight.result()  # raises a failed write here, in the loop's thread
      except OSError as e:
        raise storage.WriteFailed(f"writing the metrics of {self._workdir} failed "
                                  f"({type(e).__name__}: {e}); stopped") from e

  def close(self, raise_errors: bool = True):
    """Writes what is left.  ``raise_errors=False`` (closing on an error that
    is already being raised) logs a failed write instead of replacing it."""
    try:
      self.flush()
      self._wait()
    except storage.WriteFailed as e:
      if raise_errors:
        raise
      absl_logging.error("%s", e)
    finally:
      self._writer.shutdown()
      for tracker in self._trackers:
        tracker.close()


def read_metrics(workdir: str, name: str = None):
  """All records of ``workdir/metrics.jsonl`` (or file ``name``) as dicts."""
  return _read_records(storage.path(workdir) / (name or METRICS_FILE))


def is_due(step: int, every: int, total: int) -> bool:
  """True at every ``every``-th step (never if ``every`` is 0) and at the last."""
  return step == total or (every > 0 and step % every == 0)


class Progress:
  """Formats ``step 120/500 | loss 1.234 | 850 img/s | eta 3m12s`` lines."""

  def __init__(self, total_steps: int, start_step: int, batch_size: int):
    self.total = total_steps
    self.batch_size = batch_size
    self._last_step = start_step
    self._last_time = time.perf_counter()

  def update(self, step: int):
    """Throughput since the previous update: (images/s, s/step)."""
    now = time.perf_counter()
    steps = max(step - self._last_step, 1)
    sec_per_step = (now - self._last_time) / steps
    self._last_step, self._last_time = step, now
    return self.batch_size / max(sec_per_step, 1e-9), sec_per_step

  def record(self, step: int, metrics, shown) -> dict:
    """Fetches the step's metrics (the host sync of a logging step), adds
    ``images_per_sec`` and logs the progress line with the ``shown`` keys."""
    record = {k: float(v) for k, v in jax.device_get(metrics).items()}
    record["images_per_sec"], sec_per_step = self.update(step)
    absl_logging.info(self.line(step, {k: record[k] for k in shown}, sec_per_step))
    return record

  def line(self, step: int, metrics: dict, sec_per_step: float) -> str:
    eta = int(sec_per_step * (self.total - step))
    parts = [f"step {step}/{self.total}"]
    parts += [f"{k} {float(v):.4g}" for k, v in metrics.items()]
    parts.append(f"eta {eta // 3600}h{eta % 3600 // 60:02d}m{eta % 60:02d}s")
    return " | ".join(parts)
