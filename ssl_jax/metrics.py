"""Where numbers go: metrics.jsonl, spectrum.jsonl, TensorBoard, the progress line.

Only process 0 writes.  ``metrics.jsonl`` holds one JSON object per logged
step (scalars), ``spectrum.jsonl`` one per evaluation (the embedding
spectrum and other vectors); on resume the lines after the restored step
are dropped, so the files always describe the run the checkpoints continue.
"""
import json
import logging
import math
import os
import time

import jax
from absl import logging as absl_logging

METRICS_FILE = "metrics.jsonl"
DETAILS_FILE = "spectrum.jsonl"


class _QuietLibraries(logging.Filter):
  """Drops INFO lines from orbax (dozens per checkpoint); warnings pass."""

  def filter(self, record):
    return record.levelno >= logging.WARNING or "/orbax/" not in record.pathname


def quiet_library_logs():
  absl_logging.get_absl_handler().addFilter(_QuietLibraries())


def _scalar(v):
  v = float(v)
  return v if math.isfinite(v) else str(v)


class MetricsWriter:
  """Appends metrics to ``workdir/metrics.jsonl`` and TensorBoard events."""

  def __init__(self, workdir: str, enabled: bool = None):
    self.enabled = jax.process_index() == 0 if enabled is None else enabled
    self.path = os.path.join(workdir, METRICS_FILE)
    self.details_path = os.path.join(workdir, DETAILS_FILE)
    self._tb = None
    if self.enabled:
      import tensorflow as tf  # pylint: disable=g-import-not-at-top
      os.makedirs(workdir, exist_ok=True)
      self._tb = tf.summary.create_file_writer(os.path.join(workdir, "tensorboard"))

  def rewind(self, step: int):
    """Drops records logged after ``step`` (work lost since the checkpoint)."""
    if not self.enabled:
      return
    for path in (self.path, self.details_path):
      if os.path.exists(path):
        with open(path) as f:
          kept = [line for line in f if line.strip() and json.loads(line)["step"] <= step]
        with open(path, "w") as f:
          f.writelines(kept)

  def write_details(self, step: int, details: dict):
    """Appends lists (spectra, histograms) to ``spectrum.jsonl``."""
    if self.enabled and details:
      with open(self.details_path, "a") as f:
        f.write(json.dumps({"step": int(step), **details}) + "\n")

  def write(self, step: int, metrics: dict):
    if not self.enabled or not metrics:
      return
    record = {"step": int(step), **{k: _scalar(v) for k, v in metrics.items()}}
    with open(self.path, "a") as f:
      f.write(json.dumps(record) + "\n")
    import tensorflow as tf  # pylint: disable=g-import-not-at-top
    with self._tb.as_default(step=int(step)):
      for k, v in record.items():
        if k != "step" and isinstance(v, float):
          tf.summary.scalar(k, v)
    self._tb.flush()

  def close(self):
    if self._tb is not None:
      self._tb.close()


def read_metrics(workdir: str, name: str = None):
  """All records of ``workdir/metrics.jsonl`` (or file ``name``) as dicts."""
  path = os.path.join(workdir, name or METRICS_FILE)
  if not os.path.exists(path):
    return []
  with open(path) as f:
    return [json.loads(line) for line in f if line.strip()]


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
