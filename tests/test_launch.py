"""Launch scripts: shellcheck-clean, and --dry-run prints the command each host would run."""
import os
import shutil
import subprocess

import pytest

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
  assert "pip\\ install\\ -q\\ -r\\ requirements.txt" in lines[1]
  assert "ssl_jax.main\\ --config=configs/intl_imagenet.py" in lines[2]


def test_missing_arguments_print_usage_and_exit_2():
  for script in SCRIPTS:
    proc = subprocess.run([os.path.join(ROOT, "launch", script)], capture_output=True,
                          text=True, check=False)
    assert proc.returncode == 2 and "usage" in proc.stderr
