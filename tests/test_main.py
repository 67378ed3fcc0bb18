"""End to end through ``python -m ssl_jax.main``: outputs, resume, signals, errors."""
import json
import os
import signal
import subprocess
import sys
import time

import jax
import numpy as np
import pytest

from tests.end_to_end import ROOT, STEPS, cmd as _cmd, params as _params, records as _records
from tests.end_to_end import run as _run

# One worker runs the end-to-end files (pytest.ini: --dist loadgroup): the
# reference run (conftest.py) is made once and shared.
pytestmark = pytest.mark.xdist_group("end_to_end_reference")


def test_run_writes_config_metrics_checkpoints_and_events(reference):
  workdir, proc = reference
  config = json.load(open(os.path.join(workdir, "config.json")))
  assert config["method"]["name"] == "intl" and config["train"]["total_steps"] == STEPS
  records = _records(workdir)
  assert records[0]["step"] == 0 and "knn_top1" in records[0]  # random init
  last = records[-1]
  assert last["step"] == STEPS and "knn_top1" in last
  assert {"loss", "lr", "images_per_sec"} <= set(last)
  assert [r["step"] for r in records if "knn_top1" in r] == [0, 4, 8, 10]
  assert all(np.isfinite(r["loss"]) for r in records if "loss" in r)
  assert sorted(os.listdir(os.path.join(workdir, "checkpoints"))) == ["10", "4", "8"]
  assert os.listdir(os.path.join(workdir, "tensorboard"))
  assert "step 10/10" in proc.stderr and "eta" in proc.stderr
  # The online probe and the collapse diagnostics ride along every evaluation.
  assert {"online_linear_top1", "effective_rank", "embedding_std",
          "feature_effective_rank"} <= set(last)
  assert {"online_linear_loss", "online_linear_train_top1"} <= set(records[1])
  spectra = _records(workdir, "spectrum.jsonl")
  assert [r["step"] for r in spectra] == [0, 4, 8, 10]
  assert len(spectra[-1]["spectrum"]) == 16 and len(spectra[-1]["cosine_histogram"]) == 20
  assert sorted(os.listdir(os.path.join(workdir, "plots"))) == [
      "accuracy.png", "spectrum.png", "training.png"]


def _job(config, workdir, *extra):
  return subprocess.run(
      [sys.executable, "-m", "ssl_jax.main", f"--config={config}", f"--workdir={workdir}",
       "--config.data.num_examples=160", "--config.eval.batch_size=32", *extra],
      cwd=ROOT, capture_output=True, text=True, timeout=300, check=False)


def test_linear_eval_on_an_exported_backbone_and_knn_on_the_run(reference, tmp_path):
  run = reference[0]
  exported = tmp_path / "backbone.safetensors"
  proc = subprocess.run([sys.executable, "-m", "ssl_jax.jobs.export", f"--workdir={run}",
                         f"--out={exported}"], cwd=ROOT, capture_output=True, text=True,
                        timeout=120, check=False)
  assert proc.returncode == 0 and "step 10" in proc.stdout, proc.stderr[-2000:]
  linear = _job("configs/linear_eval.py:quick", tmp_path / "linear",
                f"--config.pretrained={exported}", "--config.train.batch_size=16",
                "--config.train.epochs=2", "--config.train.log_every=5")
  assert linear.returncode == 0, linear.stderr[-3000:]
  records = _records(tmp_path / "linear")
  assert records[-1]["step"] == 20 and 0 <= records[-1]["linear_top1"] <= 100
  assert records[-1]["linear_top5"] >= records[-1]["linear_top1"]
  knn = _job("configs/knn_eval.py", tmp_path / "knn", f"--config.pretrained={run}",
             "--config.knn.ks=(5,20)", "--config.knn.label_fractions=(0.5,1.0)")
  assert knn.returncode == 0, knn.stderr[-3000:]
  (result,) = _records(tmp_path / "knn")
  assert result["step"] == STEPS
  assert {"knn5_top1", "knn20_top5", "knn_majority5_top1", "knn5_top1_50pct"} <= set(result)
  # The run evaluated the same backbone on the same data with k = 20 at its
  # last step: the job, loading the backbone alone, must agree (to one of
  # the 32 test images, should a near-tie round the other way).
  final = [r for r in _records(run) if "knn_top1" in r][-1]
  assert final["step"] == STEPS
  assert result["knn20_top1"] == pytest.approx(final["knn_top1"], abs=100 / 32 + 1e-6)
  assert result["knn20_top5"] == pytest.approx(final["knn_top5"], abs=100 / 32 + 1e-6)


def test_report_redraws_the_plots(reference, tmp_path):
  workdir = tmp_path / "copy"
  os.makedirs(workdir)
  for name in ("metrics.jsonl", "spectrum.jsonl"):
    with open(os.path.join(reference[0], name)) as src, open(workdir / name, "w") as dst:
      dst.write(src.read())
  from ssl_jax.jobs import report  # pylint: disable=g-import-not-at-top
  report.main([f"--workdir={workdir}"])
  for name in ("training.png", "accuracy.png", "spectrum.png"):
    with open(workdir / "plots" / name, "rb") as f:
      assert f.read(8) == b"\x89PNG\r\n\x1a\n"


def test_an_evaluation_of_nothing_is_a_clear_error(tmp_path):
  proc = _job("configs/knn_eval.py", tmp_path / "knn", f"--config.pretrained={tmp_path}/none")
  assert proc.returncode == 2 and "does not exist" in proc.stderr
  assert "Traceback" not in proc.stderr


def test_sigterm_saves_and_resume_is_bit_exact(reference, tmp_path):
  workdir = str(tmp_path)
  # Evaluations do not touch the state; the random init's is skipped to save time.
  quiet = "--config.eval.at_start=false"
  proc = subprocess.Popen(_cmd(workdir, f"--config.train.total_steps={STEPS}", quiet), cwd=ROOT,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
  deadline = time.time() + 240
  while time.time() < deadline and not any(r["step"] >= 2 for r in _records(workdir)):
    assert proc.poll() is None, proc.communicate()[1][-3000:]
    time.sleep(0.2)
  proc.send_signal(signal.SIGTERM)
  _, err = proc.communicate(timeout=120)
  assert proc.returncode == 0, err[-3000:]
  assert "SIGTERM received" in err
  stopped = max(int(s) for s in os.listdir(os.path.join(workdir, "checkpoints")))
  assert 2 <= stopped < STEPS

  resumed = _run(workdir, f"--config.train.total_steps={STEPS}", quiet)
  assert resumed.returncode == 0, resumed.stderr[-3000:]
  assert "Resumed from" in resumed.stderr and f"at step {stopped}" in resumed.stderr
  records = _records(workdir)
  assert [r["step"] for r in records if "loss" in r] == list(range(1, STEPS + 1))
  want, got = _params(reference[0], STEPS), _params(workdir, STEPS)
  assert jax.tree.structure(want) == jax.tree.structure(got)
  for a, b in zip(jax.tree.leaves(want), jax.tree.leaves(got)):
    np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


def test_missing_imagenet_fails_fast_with_instructions(tmp_path):
  start = time.time()
  proc = subprocess.run(
      [sys.executable, "-m", "ssl_jax.main", "--config=configs/intl_imagenet.py",
       f"--workdir={tmp_path}/run", f"--config.data.root={tmp_path}/tfds"],
      cwd=ROOT, capture_output=True, text=True, timeout=120, check=False)
  assert time.time() - start < 60
  assert proc.returncode == 2
  assert "dataset 'imagenet2012' is not prepared" in proc.stderr
  assert f"{tmp_path}/tfds" in proc.stderr and "tfds build imagenet2012" in proc.stderr
  assert "Traceback" not in proc.stderr


def test_unknown_override_key_is_a_clear_error(tmp_path):
  proc = _run(str(tmp_path), "--config.train.batch_sise=8", timeout=120)
  assert proc.returncode == 2
  assert "config.train has no 'batch_sise'" in proc.stderr and "batch_size" in proc.stderr
  assert "Traceback" not in proc.stderr


def test_sustained_collapse_is_reported_once_and_can_stop_the_run(tmp_path):
  """A threshold no network reaches: the evaluations at steps 4 and 8 are
  both below it, so step 8 reports (step 0, the random init, never counts);
  with stop_on_collapse the run saves step 8 and exits 1."""
  workdir = str(tmp_path / "run")
  proc = _run(workdir, f"--config.train.total_steps={STEPS}",
              "--config.eval.min_effective_rank=1000", "--config.train.stop_on_collapse=true")
  assert proc.returncode == 1, proc.stderr[-3000:]
  assert proc.stderr.count("COLLAPSE:") == 2  # the log line and the exit message
  assert "For INTL this usually means a trade-off beta" in proc.stderr
  records = _records(workdir)
  assert [r["step"] for r in records if "collapse" in r] == [8]
  assert records[-1]["step"] == 8 and "knn_top1" in records[-1]
  assert sorted(os.listdir(os.path.join(workdir, "checkpoints"))) == ["4", "8"]
