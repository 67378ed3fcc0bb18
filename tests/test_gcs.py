"""Runs whose every file lives in a bucket, against a real GCS-protocol server.

The server (tests/gcs_server.py) runs on localhost; the runs find it through
``STORAGE_EMULATOR_HOST`` alone, as a user's command would.  The bucket is
read back with gcsfs, not with ssl_jax's own storage layer.
"""
import json
import os
import signal
import subprocess
import sys
import time

import jax
import numpy as np
import pytest

from tests.end_to_end import ROOT, STEPS, cmd, params, run
from tests.gcs_server import BUCKET

# Shares the reference run with test_main (conftest.py).
pytestmark = pytest.mark.xdist_group("end_to_end_reference")


def _bucket_records(fs, path):
  if not fs.exists(path):
    return []
  return [json.loads(line) for line in fs.cat(path).decode().splitlines() if line.strip()]


@pytest.fixture(scope="module")
def gs_run(gcs, tmp_path_factory):
  """A tiny run in gs://bucket/run, stopped by SIGTERM after step 2 and resumed;
  both processes run in an empty local folder."""
  workdir = f"gs://{BUCKET}/run"
  cwd = tmp_path_factory.mktemp("cwd")
  args = (f"--config.train.total_steps={STEPS}", "--config.eval.at_start=false")
  log = tmp_path_factory.mktemp("log") / "stopped.log"
  with open(log, "w") as stderr:  # a file: nobody reads a pipe while we poll
    proc = subprocess.Popen(cmd(workdir, *args), cwd=cwd, stdout=subprocess.DEVNULL,
                            stderr=stderr)
    deadline = time.time() + 240
    while time.time() < deadline and not any(
        r["step"] >= 2 for r in _bucket_records(gcs, f"{BUCKET}/run/metrics.jsonl")):
      assert proc.poll() is None, log.read_text()[-3000:]
      time.sleep(0.2)
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=120)
  stopped_err = log.read_text()
  assert proc.returncode == 0, stopped_err[-3000:]
  resumed = run(workdir, *args, cwd=cwd)
  assert resumed.returncode == 0, resumed.stderr[-3000:]
  return workdir, cwd, stopped_err, resumed.stderr


def test_a_run_on_gs_keeps_every_file_in_the_bucket_and_resumes_bit_exact(
    gcs, gs_run, reference):
  workdir, cwd, stopped_err, resumed_err = gs_run
  assert "SIGTERM received" in stopped_err and "Resumed from" in resumed_err
  files = {path.split(f"{BUCKET}/run/", 1)[1] for path in gcs.find(f"{BUCKET}/run")}
  assert {"config.json", "metrics.jsonl", "spectrum.jsonl", "plots/training.png",
          "plots/accuracy.png", "plots/spectrum.png"} <= files
  assert any(f.startswith("tensorboard/events.out.tfevents.") for f in files)
  assert {f.split("/")[1] for f in files if f.startswith("checkpoints/")} >= {"8", "10"}
  assert not os.listdir(cwd), "the run wrote to the local disk"
  assert not os.path.exists(os.path.join(ROOT, "gs:"))
  records = _bucket_records(gcs, f"{BUCKET}/run/metrics.jsonl")
  assert [r["step"] for r in records if "loss" in r] == list(range(1, STEPS + 1))
  want, got = params(reference[0], STEPS), params(workdir, STEPS)
  assert jax.tree.structure(want) == jax.tree.structure(got)
  for a, b in zip(jax.tree.leaves(want), jax.tree.leaves(got)):
    np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


def test_tensorboard_reads_the_event_chunks_as_one_run(gcs, gs_run, tmp_path):
  """TensorBoard's own reader over the chunks of both attempts: one loss per
  step, the stopped attempt's steps after its checkpoint dropped."""
  from tensorboard.backend.event_processing import event_accumulator  # pylint: disable=g-import-not-at-top
  gcs.get(f"{BUCKET}/run/tensorboard/", str(tmp_path), recursive=True)
  events = event_accumulator.EventAccumulator(str(tmp_path), purge_orphaned_data=True)
  events.Reload()
  steps = [e.step for e in events.Scalars("train/loss")]
  assert steps == list(range(1, STEPS + 1))
  tags = events.Tags()["scalars"]
  assert {"eval/knn_top1", "train/online_linear_train_top1",
          "diagnostics/effective_rank"} <= set(tags)
  hparams = events.PluginTagToContent("hparams")["_hparams_/session_start_info"]
  assert b"optim.base_lr" in hparams and b"method.name" in hparams


def test_report_export_and_evaluation_jobs_on_gs(gcs, gs_run):
  workdir, cwd = gs_run[0], gs_run[1]

  def main(module, *args):
    proc = subprocess.run([sys.executable, "-m", module, *args], cwd=cwd, capture_output=True,
                          text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc

  gcs.rm(f"{BUCKET}/run/plots", recursive=True)
  report = main("ssl_jax.jobs.report", f"--workdir={workdir}")
  assert f"{workdir}/plots/training.png" in report.stdout
  assert gcs.cat(f"{BUCKET}/run/plots/training.png")[:8] == b"\x89PNG\r\n\x1a\n"
  exported = f"gs://{BUCKET}/backbone.safetensors"
  assert f"step {STEPS}" in main("ssl_jax.jobs.export", f"--workdir={workdir}",
                                 f"--out={exported}").stdout
  common = ("--config.data.num_examples=160", "--config.eval.batch_size=32")
  main("ssl_jax.main", f"--config={ROOT}/configs/knn_eval.py", f"--workdir=gs://{BUCKET}/knn",
       f"--config.pretrained={workdir}", "--config.knn.ks=(20,)", *common)
  (knn,) = _bucket_records(gcs, f"{BUCKET}/knn/metrics.jsonl")
  final = [r for r in _bucket_records(gcs, f"{BUCKET}/run/metrics.jsonl") if "knn_top1" in r]
  assert knn["step"] == STEPS
  assert knn["knn20_top1"] == pytest.approx(final[-1]["knn_top1"], abs=100 / 32 + 1e-6)
  main("ssl_jax.main", f"--config={ROOT}/configs/linear_eval.py:quick",
       f"--workdir=gs://{BUCKET}/linear", f"--config.pretrained={exported}",
       "--config.train.batch_size=16", "--config.train.epochs=1", *common)
  linear = _bucket_records(gcs, f"{BUCKET}/linear/metrics.jsonl")
  assert linear[-1]["step"] == 10 and 0 <= linear[-1]["linear_top1"] <= 100
  assert not os.listdir(cwd)


def test_a_folder_dataset_reads_the_same_from_gs_as_from_disk(gcs, tmp_path):
  from ssl_jax.data import folder, pipeline  # pylint: disable=g-import-not-at-top
  from tests.test_folder import write_image_folder  # pylint: disable=g-import-not-at-top
  local = tmp_path / "images"
  write_image_folder(local)  # with three unreadable files in train/
  gcs.put(str(local), f"{BUCKET}/images", recursive=True)
  classes, splits = folder.load_folder(str(local))
  gs_classes, gs_splits = folder.load_folder(f"gs://{BUCKET}/images")
  assert gs_classes == classes
  for name, split in splits.items():
    np.testing.assert_array_equal(gs_splits[name].labels, split.labels)
    assert len(gs_splits[name].skipped) == len(split.skipped)
    assert [p.split("/images/", 1)[1] for p in gs_splits[name].paths] == [
        p.split("/images/", 1)[1] for p in split.paths]
    want = next(iter(pipeline.eval_batches(split, 16, 8)))
    got = next(iter(pipeline.eval_batches(gs_splits[name], 16, 8)))
    np.testing.assert_array_equal(got["image"], want["image"])
    np.testing.assert_array_equal(got["label"], want["label"])


def test_a_tfds_data_dir_on_gs_reads_the_same_as_from_disk(gcs, tmp_path):
  """tfds finds the dataset through etils (gcsfs); tf.data reads its records
  through TensorFlow's own GCS client (tests/https_proxy.py)."""
  from ml_collections import ConfigDict  # pylint: disable=g-import-not-at-top
  from ssl_jax.data import pipeline, sources  # pylint: disable=g-import-not-at-top
  from ssl_jax.data.views import ViewSet, ViewSpec  # pylint: disable=g-import-not-at-top
  from tests import tfds_fixture  # pylint: disable=g-import-not-at-top
  local = tmp_path / "tfds"
  tfds_fixture.SmallCifar10(data_dir=str(local)).download_and_prepare()
  local_jpegs = tfds_fixture.prepared_builder(local)
  gcs.put(str(local), f"{BUCKET}/tfds", recursive=True)
  root = f"gs://{BUCKET}/tfds"
  # In memory, found by name under --config.data.root=gs://...
  load = lambda r: sources.load_dataset(ConfigDict({"name": "cifar10", "root": r}))
  want, got = load(str(local)), load(root)
  for split in ("train", "test"):
    np.testing.assert_array_equal(getattr(got, split).images, getattr(want, split).images)
    np.testing.assert_array_equal(getattr(got, split).labels, getattr(want, split).labels)
  # Streamed and decoded in the input pipeline, as ImageNet is.
  gs_jpegs = tfds_fixture.TinyJpegs(data_dir=root)
  assert gs_jpegs.is_prepared()
  views = ViewSet((ViewSpec(size=8), ViewSpec(size=8)))
  batches = lambda b: pipeline.train_batches(sources.TfdsSplit(b, "train", 23), views, 4,
                                             seed=3, shuffle_buffer=64)
  for _, x, y in zip(range(7), batches(local_jpegs), batches(gs_jpegs)):
    np.testing.assert_array_equal(y["label"], x["label"])
    for a, b in zip(x["views"], y["views"]):
      np.testing.assert_array_equal(b, a)


def _checkpoint_steps(fs, checkpoints):
  """(finalised, unfinished): step folders in the bucket with and without
  orbax's commit marker."""
  if not fs.exists(checkpoints):
    return set(), set()
  files = set(fs.find(checkpoints))
  steps = {f[len(checkpoints) + 1:].split("/")[0] for f in files}
  steps = {int(s) for s in steps if s.isdigit()}
  done = {s for s in steps if f"{checkpoints}/{s}/commit_success.txt" in files}
  return done, steps - done


def test_sigkill_while_a_checkpoint_is_written_resumes_from_the_last_complete_one(
    gcs, reference, tmp_path):
  """Checkpoints every step keep a write in flight nearly all the time; the
  run is killed the moment the bucket shows a step folder without orbax's
  commit marker, then the same command finishes the run with no cleanup."""
  workdir, checkpoints = f"gs://{BUCKET}/killed", f"{BUCKET}/killed/checkpoints"
  args = (f"--config.train.total_steps={STEPS}", "--config.eval.at_start=false",
          "--config.checkpoint.every_steps=1", "--config.checkpoint.max_to_keep=20")
  with open(tmp_path / "killed.log", "w") as stderr:
    proc = subprocess.Popen(cmd(workdir, *args), cwd=tmp_path, stdout=subprocess.DEVNULL,
                            stderr=stderr)
    deadline = time.time() + 240
    while True:
      done, partial = _checkpoint_steps(gcs, checkpoints)
      if done and partial:
        break
      assert proc.poll() is None and time.time() < deadline, (
          "the run ended before a checkpoint write was caught\n"
          + (tmp_path / "killed.log").read_text()[-3000:])
      time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=60)
  done, partial = _checkpoint_steps(gcs, checkpoints)
  assert partial, "the write finished before the kill landed"
  resumed = run(workdir, *args, cwd=tmp_path)
  assert resumed.returncode == 0, resumed.stderr[-3000:]
  assert f"at step {max(done)}" in resumed.stderr
  done, partial = _checkpoint_steps(gcs, checkpoints)
  assert STEPS in done and not partial
  want, got = params(reference[0], STEPS), params(workdir, STEPS)
  for a, b in zip(jax.tree.leaves(want), jax.tree.leaves(got)):
    np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


def test_a_dataset_prepared_into_the_bucket_trains_like_its_source(gcs, tmp_path):
  from ml_collections import ConfigDict  # pylint: disable=g-import-not-at-top
  from ssl_jax import prepare  # pylint: disable=g-import-not-at-top
  from ssl_jax.data import pipeline, sources  # pylint: disable=g-import-not-at-top
  from tests import test_prepared  # pylint: disable=g-import-not-at-top
  test_prepared._write_folder(tmp_path)  # pylint: disable=protected-access
  out = f"gs://{BUCKET}/prepared"
  prepare.main(["--source=folder", f"--root={tmp_path}", f"--out={out}",
                f"--max_side={test_prepared.CAP}"])
  assert gcs.exists(f"{BUCKET}/prepared/prepared.json")
  data = lambda **kw: ConfigDict({"name": "folder", "root": str(tmp_path), "prepared": None,
                                  **kw})
  raw, ready = sources.load_dataset(data()), sources.load_dataset(data(prepared=out))
  for x, y in zip(test_prepared.take_train(raw.train, 4), test_prepared.take_train(ready.train, 4)):
    np.testing.assert_array_equal(x["label"], y["label"])
    np.testing.assert_allclose(x["views"][0].astype(float), y["views"][0].astype(float), atol=4)
