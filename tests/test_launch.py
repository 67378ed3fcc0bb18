"""Launch scripts: shellcheck-clean, --dry-run prints the command each host
would run, and the TPU pod and SLURM scripts run it (cloud CLI and srun
stubbed)."""
import json
import os
import shutil
import subprocess

import pytest

from tests import launched_runs
from tests.test_config import ROOT

SCRIPTS = ["gpu_host.sh", "tpu_pod.sh", "slurm_multi_gpu.sbatch"]
RUN = ["--config=configs/intl_imagenet.py", "--workdir=/shared/run dir",
       "--config.train.batch_size=512"]


def _dry_run(script, *args):
  proc = subprocess.run([os.path.join(ROOT, "launch", script), "--dry-run", *args],
                        capture_output=True, text=True, check=False)
  assert proc.returncode == 0, proc.stderr
  return proc.stdout


@pytest.mark.skipif(shutil.which("shellcheck") is None, reason="shellcheck not installed")
def test_scripts_pass_shellcheck():
  proc = subprocess.run(["shellcheck", *SCRIPTS], cwd=os.path.join(ROOT, "launch"),
                        capture_output=True, text=True, check=False)
  assert proc.returncode == 0, proc.stdout


def test_gpu_host_runs_main_with_memory_settings():
  out = _dry_run("gpu_host.sh", *RUN)
  assert "XLA_PYTHON_CLIENT_PREALLOCATE=false" in out
  assert "XLA_PYTHON_CLIENT_MEM_FRACTION=0.9" in out
  assert r"-m ssl_jax.main --config=configs/intl_imagenet.py --workdir=/shared/run\ dir" in out


def test_slurm_runs_one_process_per_node_with_srun():
  out = _dry_run("slurm_multi_gpu.sbatch", *RUN)
  assert "srun --kill-on-bad-exit=1" in out and "--config.train.batch_size=512" in out
  with open(os.path.join(ROOT, "launch", "slurm_multi_gpu.sbatch")) as f:
    text = f.read()
  assert "#SBATCH --ntasks-per-node=1" in text and "#SBATCH --signal=TERM@120" in text


def test_tpu_pod_creates_installs_and_runs_on_every_worker():
  lines = _dry_run("tpu_pod.sh", "--create", "--name=pod", "--zone=us-central2-b",
                   "--repo=https://example.org/ssl_jax.git", "--", *RUN).splitlines()
  assert lines[0].startswith("gcloud compute tpus tpu-vm create pod")
  assert all("--worker=all" in line for line in lines[1:]) and len(lines) == 3
  assert "pip\\ install\\ -q\\ -e\\ .\\ -c\\ constraints.txt" in lines[1]
  assert "ssl_jax.main\\ --config=configs/intl_imagenet.py" in lines[2]


def test_missing_arguments_print_usage_and_exit_2():
  for script in SCRIPTS:
    proc = subprocess.run([os.path.join(ROOT, "launch", script)], capture_output=True,
                          text=True, check=False)
    assert proc.returncode == 2 and "usage" in proc.stderr


# The heavy tests read the runs tests/launched_runs.py makes once for them and
# for test_multihost, on that file's worker.
_SHARED_RUNS = pytest.mark.xdist_group("multihost")


@_SHARED_RUNS
def test_tpu_pod_runs_its_worker_command_as_two_processes_on_a_bucket(gcs, tpu_pod_run):
  """launch/tpu_pod.sh itself, with gcloud and pip stubbed: the workers clone
  the repository, and the command the script builds trains a tiny run as two
  processes into the local GCS server; the relaunch resumes it."""
  logs, calls = tpu_pod_run
  assert calls.count("gcloud compute tpus tpu-vm create pod") == 1
  pip_calls = [line for line in calls.splitlines() if line.startswith("pip install")]
  # Each of 2 workers at each of 2 launches: the requirements, then jax[tpu].
  assert sorted(pip_calls) == sorted(["pip install -q -e . -c constraints.txt",
                                      "pip install -q jax[tpu]==0.10.2"] * 4)
  workdir = launched_runs.POD_WORKDIR.removeprefix("gs://")
  checkpoints = gcs.find(f"{workdir}/checkpoints")
  assert f"{workdir}/checkpoints/2/commit_success.txt" in checkpoints
  assert f"Resumed from {launched_runs.POD_WORKDIR}/checkpoints at step 2" in logs[1]
  records = [json.loads(line) for line in gcs.cat(f"{workdir}/metrics.jsonl").splitlines()]
  assert [r["step"] for r in records if "loss" in r] == [1, 2]


@_SHARED_RUNS
def test_slurm_script_runs_its_step_as_two_tasks_on_a_shared_directory(slurm_run):
  """launch/slurm_multi_gpu.sbatch run as SLURM runs a batch script, with
  srun stubbed: JAX finds the two tasks from the SLURM variables alone and
  they train a tiny run into a directory both see (a cluster's shared file
  system; runs on a bucket are launch/tpu_pod.sh's test)."""
  logs, calls, workdir = slurm_run
  assert calls.startswith("srun --kill-on-bad-exit=1 env ")
  assert "global batch 16, 8 devices" in logs  # 2 tasks x 4 devices joined
  assert os.path.exists(os.path.join(workdir, "checkpoints", "2", "commit_success.txt"))
  with open(os.path.join(workdir, "metrics.jsonl")) as f:
    records = [json.loads(line) for line in f.read().splitlines()]
  assert [r["step"] for r in records if "loss" in r] == [1, 2]
