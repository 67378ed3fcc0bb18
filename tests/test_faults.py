"""Fault injection: stray step folders, flipped bytes, non-finite updates, torn records."""
import asyncio
import gc
import json
import os
import signal
import subprocess
import sys

import jax
import numpy as np
import pytest

from ssl_jax import storage
from ssl_jax import workdir as workdir_record
from ssl_jax.checkpoint import Checkpointer
from ssl_jax.jobs import pretrain
from ssl_jax.metrics import read_metrics
from tests.end_to_end import ROOT
from tests.test_resilience import tiny_config, _checkpoints


def _flip_bytes(step_dir, count=64):
  """XORs ``count`` bytes in the middle of the largest array file under ``step_dir``."""
  files = [os.path.join(folder, name) for folder, _, names in os.walk(step_dir)
           for name in names]
  largest = max(files, key=os.path.getsize)
  with open(largest, "r+b") as f:
    data = bytearray(f.read())
    middle = len(data) // 2
    for i in range(middle, min(middle + count, len(data))):
      data[i] ^= 0xFF
    f.seek(0)
    f.write(data)


def _host(tree):
  return [np.asarray(x) for x in jax.tree.leaves(tree)]


def test_a_stray_step_folder_and_flipped_bytes_fall_back_to_the_last_good_checkpoint(
    tmp_path, caplog):
  workdir = str(tmp_path)
  reference = _host(pretrain.train_and_evaluate(tiny_config(total_steps=4), workdir))
  assert _checkpoints(workdir) == [2, 4]
  os.makedirs(os.path.join(workdir, "checkpoints", "6"))   # a folder of nothing
  _flip_bytes(os.path.join(workdir, "checkpoints", "4", "default"))
  state = pretrain.train_and_evaluate(tiny_config(total_steps=4), workdir)
  # Step 2 restored, 3 and 4 trained again: the same state as before.
  for a, b in zip(reference, _host(state)):
    np.testing.assert_array_equal(a, b)
  assert "does not match the checksum saved with it" in caplog.text
  assert "resumed from step 2 instead" in caplog.text
  assert sorted(os.listdir(os.path.join(workdir, "checkpoints.corrupt"))) == ["4", "6"]
  assert _checkpoints(workdir) == [2, 4]
  # A reader of the run (export, evaluation) falls back too but moves
  # nothing; a garbage manifest fails quietly (no tracebacks of tensorstore
  # reads that finish after the failure).
  with open(os.path.join(workdir, "checkpoints", "4", "default", "manifest.ocdbt"), "wb") as f:
    f.write(b"garbage")
  reader = subprocess.run(
      [sys.executable, "-c", _RESTORE, os.path.join(workdir, "checkpoints")], cwd=ROOT,
      capture_output=True, text=True, timeout=120, check=True)
  assert reader.stdout.split() == ["2", "True"]
  assert "Traceback" not in reader.stderr and "Event loop" not in reader.stderr
  assert _checkpoints(workdir) == [2, 4]


# Restores a run's checkpoints read-only in a process of its own (whose
# stderr pytest does not intercept), then waits for reads still in flight.
_RESTORE = """import sys, time
from ssl_jax.checkpoint import Checkpointer
step, tree = Checkpointer(sys.argv[1], read_only=True).restore()
print(step, "params" in tree, flush=True)
time.sleep(1)
"""


def _leave_unretrieved(coroutine):
  """Runs ``coroutine`` as a task nobody awaits, as orbax leaves the reads
  still in flight when a restore fails, and lets it be collected."""
  loop = asyncio.new_event_loop()
  task = loop.create_task(coroutine)
  try:
    loop.run_until_complete(asyncio.wait([task]))
  finally:
    loop.close()
  del task
  gc.collect()


def test_reads_left_unawaited_by_a_failed_restore_log_nothing_and_other_task_errors_do(
    tmp_path, caplog):
  """The reader above prints no traceback only if the tensorstore reads a
  failed restore leaves behind are dropped when collected; an asyncio task
  failing for any other reason is still logged."""
  import tensorstore as ts  # pylint: disable=g-import-not-at-top
  Checkpointer(str(tmp_path / "checkpoints")).close()  # installs the filter

  async def read_missing_array():
    spec = {"driver": "zarr", "kvstore": {"driver": "file", "path": str(tmp_path / "none")}}
    return await ts.open(spec, open=True)

  async def fail():
    raise ValueError("not a checkpoint read")

  _leave_unretrieved(read_missing_array())
  assert "never retrieved" not in caplog.text
  _leave_unretrieved(fail())
  assert "Task exception was never retrieved" in caplog.text
  assert "not a checkpoint read" in caplog.text


def test_an_update_that_overflows_is_skipped_and_never_checkpointed(tmp_path):
  # lr 1e41 * 16/256 overflows float32: loss and gradients are finite, the
  # new parameters are not.
  config = tiny_config(total_steps=6, **{"optim.base_lr": 1e41, "optim.warmup_epochs": 0.0,
                                         "checkpoint.every_steps": 1,
                                         "train.max_consecutive_skips": 3,
                                         "train.log_every": 1})
  with pytest.raises(pretrain.TrainingDiverged,
                     match=r"steps 1\.\.3 .*No checkpoint was written before that.*"
                           r"--config.train.resume_changes=optim"):
    pretrain.train_and_evaluate(config, str(tmp_path))
  assert not os.path.exists(os.path.join(str(tmp_path), "checkpoints")) or \
      _checkpoints(str(tmp_path)) == []


def test_resume_changes_lets_the_named_keys_change_and_records_them(tmp_path):
  workdir = str(tmp_path)
  pretrain.train_and_evaluate(tiny_config(total_steps=2), workdir)
  lower = tiny_config(total_steps=2, **{"optim.base_lr": 0.01})
  with pytest.raises(workdir_record.ConfigError, match="optim.base_lr"):
    pretrain.train_and_evaluate(lower, workdir)
  with lower.unlocked():
    lower.train.resume_changes = "optim"
  assert int(pretrain.train_and_evaluate(lower, workdir).step) == 2
  with open(os.path.join(workdir, workdir_record.CHANGES_FILE)) as f:
    (change,) = [json.loads(line) for line in f]
  assert change["changes"] == {"optim.base_lr": [0.5, 0.01]}
  assert workdir_record.read_config(workdir)["optim"]["base_lr"] == 0.01
  # Only what was named may change.
  seeded = tiny_config(total_steps=2, **{"optim.base_lr": 0.01, "train.seed": 3,
                                         "train.resume_changes": "optim"})
  with pytest.raises(workdir_record.ConfigError, match="train.seed: 0 in the workdir, 3"):
    pretrain.train_and_evaluate(seeded, workdir)


def test_a_torn_last_record_is_dropped_and_a_damaged_one_named(tmp_path, caplog):
  path = tmp_path / "metrics.jsonl"
  path.write_text('{"step": 1, "loss": 2.0}\n{"step": 2, "loss": 1.5}\n{"step": 3, "lo')
  assert [r["step"] for r in read_metrics(str(tmp_path))] == [1, 2]
  assert "dropped the torn last line" in caplog.text
  path.write_text('{"step": 1, "loss": 2.0}\ngarbage\n{"step": 3, "loss": 1.0}\n')
  with pytest.raises(storage.DamagedFile, match=r"metrics.jsonl line 2 is damaged"):
    read_metrics(str(tmp_path))
  (tmp_path / "config.json").write_text("{not json")
  with pytest.raises(storage.DamagedFile, match="config.json is damaged"):
    workdir_record.read_config(str(tmp_path))


def _sigterm_after(function, calls=1):
  """``function`` that sends this process a real SIGTERM after its ``calls``-th call."""
  count = [0]

  def wrapped(*args, **kwargs):
    count[0] += 1
    out = function(*args, **kwargs)
    if count[0] == calls:
      os.kill(os.getpid(), signal.SIGTERM)
    return out
  return wrapped


def test_sigterm_while_loading_exits_cleanly_with_nothing_to_save(tmp_path, monkeypatch):
  monkeypatch.setattr(pretrain, "build_run", _sigterm_after(pretrain.build_run))
  state = pretrain.train_and_evaluate(tiny_config(total_steps=4), str(tmp_path))
  assert int(state.step) == 0 and _checkpoints(str(tmp_path)) == []


def test_sigterm_during_an_evaluation_saves_the_step_and_the_resume_evaluates_it(
    tmp_path, monkeypatch, caplog):
  from ssl_jax.evals import features  # pylint: disable=g-import-not-at-top
  caplog.set_level("INFO")
  workdir = str(tmp_path)
  config = tiny_config(total_steps=4, **{"eval.every_steps": 2, "checkpoint.every_steps": 4})
  batches, sent = features.pipeline.eval_batches, []

  def stopped_at_second_batch(*args, **kwargs):  # of the first evaluation (step 2)
    for i, item in enumerate(batches(*args, **kwargs)):
      if i == 1 and not sent:
        sent.append(True)
        os.kill(os.getpid(), signal.SIGTERM)
      yield item

  monkeypatch.setattr(features.pipeline, "eval_batches", stopped_at_second_batch)
  state = pretrain.train_and_evaluate(config, workdir)
  assert int(state.step) == 2 and _checkpoints(workdir) == [2]
  assert "SIGTERM received during an evaluation: saved step 2" in caplog.text
  assert not [r for r in read_metrics(workdir) if "knn_top1" in r]
  monkeypatch.undo()
  state = pretrain.train_and_evaluate(config, workdir)
  assert int(state.step) == 4
  assert [r["step"] for r in read_metrics(workdir) if "knn_top1" in r] == [2, 4]

