"""Launch scripts: shellcheck-clean, --dry-run prints the command each host
would run, and the TPU pod script runs it (cloud CLI stubbed)."""
import json
import os
import shutil
import socket
import subprocess
import sys

import pytest

from tests.end_to_end import env_with_devices, free_port
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


_GCLOUD_STUB = """#!/usr/bin/env bash
# gcloud, stubbed at the process boundary: records each call; for
# "tpu-vm ssh --worker=all --command=CMD" runs CMD as two local workers, each
# in its own home, with the coordinator variables a pod's metadata gives JAX.
echo "gcloud $*" >> "$STUB_LOG"
cmd=""
for arg in "$@"; do case "$arg" in --command=*) cmd="${arg#--command=}" ;; esac; done
[ -z "$cmd" ] && exit 0
pids=()
for i in 0 1; do
  mkdir -p "$STUB_HOMES/worker$i"
  (cd "$STUB_HOMES/worker$i" && JAX_COORDINATOR_ADDRESS="localhost:$STUB_PORT" \\
     JAX_NUM_PROCESSES=2 JAX_PROCESS_ID=$i bash -c "$cmd") \\
     >> "$STUB_HOMES/worker$i.log" 2>&1 &
  pids+=($!)
done
status=0
for pid in "${pids[@]}"; do wait "$pid" || status=1; done
exit $status
"""


def _stub_bin(tmp_path):
  """gcloud and pip stubs, and python3 as the interpreter running the tests."""
  bin_dir = tmp_path / "bin"
  bin_dir.mkdir()
  (bin_dir / "gcloud").write_text(_GCLOUD_STUB)
  (bin_dir / "pip").write_text('#!/bin/sh\necho "pip $*" >> "$STUB_LOG"\n')
  for stub in ("gcloud", "pip"):
    os.chmod(bin_dir / stub, 0o755)
  os.symlink(sys.executable, bin_dir / "python3")
  return bin_dir


def test_tpu_pod_runs_its_worker_command_as_two_processes_on_a_bucket(gcs, tmp_path):
  """launch/tpu_pod.sh itself, with gcloud and pip stubbed: the workers clone
  the repository, and the command the script builds trains a tiny run as two
  processes into the local GCS server; the relaunch resumes it."""
  from tests.end_to_end import TINY  # pylint: disable=g-import-not-at-top
  from tests.gcs_server import BUCKET  # pylint: disable=g-import-not-at-top
  env = env_with_devices(4, drop=("JAX_", "PYTHONPATH"),
                         PATH=f"{_stub_bin(tmp_path)}:{os.environ['PATH']}",
                         STUB_LOG=str(tmp_path / "calls"), STUB_HOMES=str(tmp_path / "workers"),
                         STUB_PORT=str(free_port()))
  run_args = ["--config=configs/quickstart.py", *TINY[1:], "--config.train.total_steps=2",
              "--config.eval.every_steps=0", f"--workdir=gs://{BUCKET}/pod"]
  launch = [os.path.join(ROOT, "launch", "tpu_pod.sh"), "--name=pod", "--zone=local",
            f"--repo={ROOT}", "--", *run_args]
  for attempt in ("--create", None):
    proc = subprocess.run(launch[:1] + ([attempt] if attempt else []) + launch[1:], env=env,
                          capture_output=True, text=True, timeout=600, check=False)
    logs = "".join((tmp_path / "workers" / f"worker{i}.log").read_text() for i in (0, 1))
    assert proc.returncode == 0, proc.stderr[-2000:] + logs[-3000:]
  calls = (tmp_path / "calls").read_text()
  assert calls.count("gcloud compute tpus tpu-vm create pod") == 1
  pip_calls = [line for line in calls.splitlines() if line.startswith("pip install")]
  # Each of 2 workers at each of 2 launches: the requirements, then jax[tpu].
  assert sorted(pip_calls) == sorted(["pip install -q -e . -c constraints.txt",
                                      "pip install -q jax[tpu]==0.10.2"] * 4)
  checkpoints = gcs.find(f"{BUCKET}/pod/checkpoints")
  assert f"{BUCKET}/pod/checkpoints/2/commit_success.txt" in checkpoints
  assert "Resumed from gs://bucket/pod/checkpoints at step 2" in logs
  records = [json.loads(line) for line in gcs.cat(f"{BUCKET}/pod/metrics.jsonl").splitlines()]
  assert [r["step"] for r in records if "loss" in r] == [1, 2]


_SRUN_STUB = """#!/usr/bin/env bash
# srun, stubbed at the process boundary: starts the command after srun's own
# options as two tasks on this host, with the variables SLURM gives a step.
echo "srun $*" >> "$STUB_LOG"
while [[ "$1" == --* ]]; do shift; done
pids=()
for i in 0 1; do
  SLURM_JOB_ID="$STUB_JOB_ID" SLURM_STEP_NODELIST=localhost SLURM_NTASKS=2 \\
    SLURM_STEP_NUM_NODES=2 SLURM_PROCID=$i SLURM_LOCALID=$i "$@" \\
    >> "$STUB_HOMES/task$i.log" 2>&1 &
  pids+=($!)
done
status=0
for pid in "${pids[@]}"; do wait "$pid" || status=1; done
exit $status
"""


def _slurm_job_id():
  """A job id whose coordinator port (JAX: 61440 + id % 4096) is free."""
  for job_id in range(4096):
    with socket.socket() as sock:
      try:
        sock.bind(("localhost", 61440 + job_id))
      except OSError:
        continue
      return job_id
  raise RuntimeError("no free port in 61440-65535")


def test_slurm_script_runs_its_step_as_two_tasks_on_a_shared_directory(tmp_path):
  """launch/slurm_multi_gpu.sbatch run as SLURM runs a batch script, with
  srun stubbed: JAX finds the two tasks from the SLURM variables alone and
  they train a tiny run into a directory both see (a cluster's shared file
  system; runs on a bucket are launch/tpu_pod.sh's test)."""
  from tests.end_to_end import TINY  # pylint: disable=g-import-not-at-top
  bin_dir = tmp_path / "bin"
  bin_dir.mkdir()
  (bin_dir / "srun").write_text(_SRUN_STUB)
  os.chmod(bin_dir / "srun", 0o755)
  (tmp_path / "tasks").mkdir()
  env = env_with_devices(4, drop=("JAX_", "SLURM_"), PATH=f"{bin_dir}:{os.environ['PATH']}",
                         STUB_LOG=str(tmp_path / "calls"), STUB_HOMES=str(tmp_path / "tasks"),
                         STUB_JOB_ID=str(_slurm_job_id()), PYTHON=sys.executable,
                         SLURM_SUBMIT_DIR=ROOT)
  proc = subprocess.run(
      ["bash", os.path.join(ROOT, "launch", "slurm_multi_gpu.sbatch"),
       "--config=configs/quickstart.py", *TINY[1:], "--config.train.total_steps=2",
       "--config.eval.every_steps=0", f"--workdir={tmp_path / 'run'}"],
      env=env, capture_output=True, text=True, timeout=600, check=False)
  logs = "".join((tmp_path / "tasks" / f"task{i}.log").read_text() for i in (0, 1))
  assert proc.returncode == 0, proc.stderr[-2000:] + logs[-3000:]
  assert (tmp_path / "calls").read_text().startswith("srun --kill-on-bad-exit=1 env ")
  assert "global batch 16, 8 devices" in logs  # 2 tasks x 4 devices joined
  assert (tmp_path / "run" / "checkpoints" / "2" / "commit_success.txt").exists()
  lines = (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()
  records = [json.loads(line) for line in lines]
  assert [r["step"] for r in records if "loss" in r] == [1, 2]
