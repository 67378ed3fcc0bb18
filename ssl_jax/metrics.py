"""Where numbers go: metrics.jsonl, TensorBoard, and the progress line.

Only process 0 writes.  ``metrics.jsonl`` holds one JSON object per logged
step; on resume the lines after the restored step are dropped, so the file
always describes the run that the checkpoints continue.
"""
import json
import logging
import math
import os
import time

import jax
from absl import logging as absl_logging


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
    self.path = os.path.join(workdir, "metrics.jsonl")
    self._tb = None
    if self.enabled:
      import tensorflow as tf  # pylint: disable=g-import-not-at-top
      os.makedirs(workdir, exist_ok=True)
      self._tb = tf.summary.create_file_writer(os.path.join(workdir, "tensorboard"))

  def rewind(self, step: int):
    """Drops records logged after ``step`` (work lost since the checkpoint)."""
    if not self.enabled or not os.path.exists(self.path):
      return
    with open(self.path) as f:
      kept = [line for line in f if line.strip() and json.loads(line)["step"] <= step]
    with open(self.path, "w") as f:
      f.writelines(kept)

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


def read_metrics(workdir: str):
  """All records of ``workdir/metrics.jsonl`` as a list of dicts."""
  with open(os.path.join(workdir, "metrics.jsonl")) as f:
    return [json.loads(line) for line in f if line.strip()]


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

  def line(self, step: int, metrics: dict, sec_per_step: float) -> str:
    eta = int(sec_per_step * (self.total - step))
    parts = [f"step {step}/{self.total}"]
    parts += [f"{k} {float(v):.4g}" for k, v in metrics.items()]
    parts.append(f"eta {eta // 3600}h{eta % 3600 // 60:02d}m{eta % 60:02d}s")
    return " | ".join(parts)
