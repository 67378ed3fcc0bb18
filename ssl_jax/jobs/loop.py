"""The loop every training job runs, and what it owns: cadence, progress,
stop signals, skip-aware saving and closing.

A job (pretraining, linear evaluation, fine-tuning) builds its state, step
and batches, then hands them to ``run`` with ``Hooks`` for what it adds:
its evaluation, a check after each logged step, and whether a state may be
saved.  A stop signal (SIGTERM, Ctrl-C) at any step or during an evaluation
saves the step reached and ends the run cleanly; re-running the same
command resumes it.  With several processes the stop is agreed on at the
next logging step (``StopSignal.requested``), so every process saves the
same step.
"""
import dataclasses
import time
from typing import Any, Callable, Dict, Iterator, Tuple

import jax
from absl import logging

from ssl_jax.checkpoint import Checkpointer, StopSignal
from ssl_jax.evals.base import EvaluationInterrupted
from ssl_jax.metrics import MetricsWriter, Progress, is_due

Record = Dict[str, float]


@dataclasses.dataclass(frozen=True)
class Cadence:
  """How often a run logs, evaluates and saves (every N steps, and at the
  last step; 0 or less: only at the last step)."""
  total_steps: int
  log_every: int
  eval_every: int
  checkpoint_every: int

  def log(self, step: int) -> bool:
    return is_due(step, self.log_every, self.total_steps)

  def evaluate(self, step: int) -> bool:
    return is_due(step, self.eval_every, self.total_steps)

  def save(self, step: int) -> bool:
    return is_due(step, self.checkpoint_every, self.total_steps)


def _nothing(step, record):
  del step, record


def _always(state, step):
  del state, step
  return True


@dataclasses.dataclass(frozen=True)
class Hooks:
  """What a job adds to the loop.

  ``evaluate(state, step, record)`` adds its scalars to ``record`` and may
  raise EvaluationInterrupted on a stop signal (the resumed run evaluates
  that step again) or end the run with any other exception (the record is
  written first).  ``after_log(step, record)`` runs after each logged step
  (e.g. to stop a diverged run); ``can_save(state, step)`` says whether a
  due checkpoint may hold ``state`` (a stop always saves).
  """
  evaluate: Callable[[Any, int, Record], None]
  log_keys: Tuple[str, ...] = ("loss", "lr")
  after_log: Callable[[int, Record], None] = _nothing
  can_save: Callable[[Any, int], bool] = _always


@dataclasses.dataclass(frozen=True)
class Outputs:
  """Where a run's state and records go."""
  checkpointer: Checkpointer
  writer: MetricsWriter
  stop: StopSignal


def run(state, step_fn, batches: Iterator, cadence: Cadence, batch_size: int,
        outputs: Outputs, hooks: Hooks, evaluate_first: bool = False):
  """Steps ``state`` from ``state.step`` to ``cadence.total_steps``.

  ``step_fn(state, batch) -> (state, metrics)``; ``batches`` yields device
  batches from the first step to run.  ``evaluate_first``: evaluate the
  starting state before the first step (step 0, or an evaluation a stop
  signal interrupted).  Waits for the last checkpoint and closes the
  writer and checkpointer, also when the run ends with an exception (the
  records so far reach the workdir).  Returns (final state, the last
  step's record).
  """
  start, record = int(state.step), {}
  try:
    if evaluate_first:
      _evaluate_start(state, start, outputs, hooks)
    if outputs.stop.requested():  # while loading, restoring or evaluating: nothing new
      logging.info("%s received before the first step: stopped at step %d; re-run the "
                   "same command to resume.", outputs.stop.received, start)
    else:
      state, record = _steps(state, step_fn, batches, cadence, batch_size, outputs, hooks)
    outputs.checkpointer.wait()
  except BaseException:
    outputs.writer.close(raise_errors=False)
    raise
  outputs.writer.close()
  outputs.checkpointer.close()
  return state, record


def _evaluate_start(state, start, outputs, hooks):
  record = {}
  try:
    hooks.evaluate(state, start, record)
  except EvaluationInterrupted:
    pass  # the stop that follows: the state is the one already saved
  finally:
    outputs.writer.write(start, record)


def _steps(state, step_fn, batches, cadence, batch_size, outputs, hooks):
  start = int(state.step)
  progress = Progress(cadence.total_steps, start, batch_size)
  checkpointer, writer, stop = outputs.checkpointer, outputs.writer, outputs.stop
  record = {}
  for step in range(start + 1, cadence.total_steps + 1):
    checkpointer.raise_failed_save()
    batch = next(batches)
    if step == start + 1:
      logging.info("Compiling the step (the first step waits for it) ...")
      began = time.perf_counter()
    with jax.transfer_guard("disallow"):  # nothing but the prefetched batch moves
      state, metrics = step_fn(state, batch)
    if step == start + 1:
      jax.block_until_ready(metrics)
      logging.info("The first step took %.1f s with compiling.", time.perf_counter() - began)
      if not cadence.log(step):
        progress.update(step)  # rates and the ETA from the compiled steps only
    record = {}
    if cadence.log(step):
      record = progress.record(step, metrics, hooks.log_keys)
      hooks.after_log(step, record)
    interrupted = False
    try:
      if cadence.evaluate(step):
        hooks.evaluate(state, step, record)
    except EvaluationInterrupted:
      interrupted = True  # the resumed run evaluates this step first
    finally:
      writer.write(step, record)
    stopping = interrupted or stop.requested(sync=cadence.log(step))
    if stopping or (cadence.save(step) and hooks.can_save(state, step)):
      checkpointer.save(step, state)
      writer.flush()
    if stopping:
      logging.info("%s received%s: saved step %d to %s; re-run the same command to "
                   "resume.", stop.received or "A stop signal on another process",
                   " during an evaluation" if interrupted else "", step,
                   checkpointer.directory)
      break
  return state, record
