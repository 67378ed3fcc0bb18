"""The launch scripts' own two-process runs (cloud CLI and srun stubbed at
the process boundary), made once per session: test_launch checks what the
scripts did, test_multihost compares the runs to one process with the same
devices.  Both files share the "multihost" xdist group, so one worker makes
them."""
import os
import socket
import subprocess
import sys

import pytest

from tests.end_to_end import ROOT, TINY, env_with_devices, free_port
from tests.gcs_server import BUCKET

# The run both scripts start: the tiny quickstart for 2 steps, a checkpoint
# after each (test_multihost resumes from step 1), no periodic evaluation.
STEPS = 2
RUN = ["--config=configs/quickstart.py", *TINY[1:], f"--config.train.total_steps={STEPS}",
       "--config.checkpoint.every_steps=1", "--config.eval.every_steps=0"]
POD_WORKDIR = f"gs://{BUCKET}/pod"


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


@pytest.fixture(scope="session")
def tpu_pod_run(gcs, tmp_path_factory):
  """launch/tpu_pod.sh run twice (--create, then a relaunch) into
  POD_WORKDIR, each launch succeeding: the workers' logs of each launch, and
  the stub's call log."""
  tmp_path = tmp_path_factory.mktemp("tpu_pod")
  env = env_with_devices(4, drop=("JAX_", "PYTHONPATH"),
                         PATH=f"{_stub_bin(tmp_path)}:{os.environ['PATH']}",
                         STUB_LOG=str(tmp_path / "calls"), STUB_HOMES=str(tmp_path / "workers"),
                         STUB_PORT=str(free_port()))
  launch = [os.path.join(ROOT, "launch", "tpu_pod.sh"), "--name=pod", "--zone=local",
            f"--repo={ROOT}", "--", *RUN, f"--workdir={POD_WORKDIR}"]
  logs = []
  for attempt in ("--create", None):
    proc = subprocess.run(launch[:1] + ([attempt] if attempt else []) + launch[1:], env=env,
                          capture_output=True, text=True, timeout=600, check=False)
    logs.append("".join((tmp_path / "workers" / f"worker{i}.log").read_text() for i in (0, 1)))
    assert proc.returncode == 0, proc.stderr[-2000:] + logs[-1][-3000:]
  return logs, (tmp_path / "calls").read_text()


@pytest.fixture(scope="session")
def slurm_run(tmp_path_factory):
  """launch/slurm_multi_gpu.sbatch run as SLURM runs a batch script, into a
  local directory both tasks see, succeeding: (the tasks' logs, srun's
  call log, the run's directory)."""
  tmp_path = tmp_path_factory.mktemp("slurm")
  bin_dir = tmp_path / "bin"
  bin_dir.mkdir()
  (bin_dir / "srun").write_text(_SRUN_STUB)
  os.chmod(bin_dir / "srun", 0o755)
  (tmp_path / "tasks").mkdir()
  env = env_with_devices(4, drop=("JAX_", "SLURM_"), PATH=f"{bin_dir}:{os.environ['PATH']}",
                         STUB_LOG=str(tmp_path / "calls"), STUB_HOMES=str(tmp_path / "tasks"),
                         STUB_JOB_ID=str(_slurm_job_id()), PYTHON=sys.executable,
                         SLURM_SUBMIT_DIR=ROOT)
  workdir = str(tmp_path / "run")
  proc = subprocess.run(
      ["bash", os.path.join(ROOT, "launch", "slurm_multi_gpu.sbatch"), *RUN,
       f"--workdir={workdir}"],
      env=env, capture_output=True, text=True, timeout=600, check=False)
  logs = "".join((tmp_path / "tasks" / f"task{i}.log").read_text() for i in (0, 1))
  assert proc.returncode == 0, proc.stderr[-2000:] + logs[-3000:]
  return logs, (tmp_path / "calls").read_text(), workdir
