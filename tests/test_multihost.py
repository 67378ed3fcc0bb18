"""2 processes x 4 CPU devices (jax.distributed on localhost, started by the
launch scripts: tests/launched_runs.py) match 1 process x 8."""
import os
import shutil
import subprocess
import sys

import jax
import numpy as np
import pytest

from tests.end_to_end import ROOT, env_with_devices as _env
from tests.end_to_end import params as _params, records as _records
from tests.launched_runs import POD_WORKDIR, RUN, STEPS

# STEPS (2): cross-process reductions may sum in another order than
# in-process ones (gradients differ in the 7th digit after one step), and a
# 16-example batch through BatchNorm and whitening amplifies that ~100x per
# step: two steps keep the comparison at float32 precision.
# One worker runs the module and test_launch's runs, so each run happens once.
pytestmark = pytest.mark.xdist_group("multihost")


def _launch(workdir, env):
  """The launch scripts' run, started directly."""
  args = [sys.executable, "-m", "ssl_jax.main", f"--workdir={workdir}", *RUN]
  return subprocess.Popen(args, cwd=ROOT, env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True)


def _finish(proc, timeout=420):
  out, _ = proc.communicate(timeout=timeout)
  assert proc.returncode == 0, out[-3000:]
  return out


@pytest.fixture(scope="module")
def single(tmp_path_factory):
  """The same run as 1 process x 8 devices."""
  workdir = str(tmp_path_factory.mktemp("single"))
  _finish(_launch(workdir, _env(8)))
  return workdir


@pytest.fixture(scope="module")
def two_local(slurm_run):
  """The run as 2 processes x 4 devices on a local disk: launch/slurm_multi_gpu.sbatch's."""
  return slurm_run[2]


@pytest.mark.parametrize("storage", ["local", "gs"])
def test_two_processes_match_one_process_with_the_same_devices(storage, single, tmp_path,
                                                               request):
  """On a local disk (the SLURM script's run), and on a bucket both processes
  share (the TPU pod script's: only process 0 writes the logs; orbax writes
  the checkpoint collectively)."""
  if storage == "gs":  # read back what the processes wrote to the bucket
    gcs = request.getfixturevalue("gcs")
    request.getfixturevalue("tpu_pod_run")
    multi, local = POD_WORKDIR, tmp_path / "from_bucket"
    gcs.get(POD_WORKDIR.removeprefix("gs://") + "/", str(local), recursive=True)
    assert sorted(os.listdir(local / "checkpoints")) == ["1", "2"]
    multi_records = str(local)
  else:
    multi = multi_records = request.getfixturevalue("two_local")
  one, two = _records(single), _records(multi_records)
  assert [r["step"] for r in one] == [r["step"] for r in two]
  losses = lambda records: [r["loss"] for r in records if "loss" in r]
  np.testing.assert_allclose(losses(two), losses(one), rtol=1e-5)
  knn = lambda records: [r["knn_top1"] for r in records if "knn_top1" in r]
  assert knn(two) == knn(one) and len(knn(one)) == 2   # the k-NN bank split over hosts
  a, b = _params(single, STEPS), _params(multi, STEPS)
  # The model and the probe; the optimiser's momentum is the raw gradient,
  # which INTL's whitening of a 16-example batch makes sensitive to the
  # last bits (0.5 % apart at step 2 while the parameters agree to 1e-8).
  for part in ("params", "batch_stats", "probe"):
    for x, y in zip(jax.tree.leaves(a[part]), jax.tree.leaves(b[part])):
      np.testing.assert_allclose(y, x, rtol=1e-4, atol=1e-6)


def test_a_run_saved_by_two_processes_resumes_on_one_with_eight_devices(single, two_local,
                                                                        tmp_path):
  """2 processes x 4 devices save steps 1 and 2; with step 2 gone (as if
  preempted before it was written), 1 process x 8 devices resumes at step 1
  and ends where the uninterrupted 1 x 8 run ends."""
  workdir = str(tmp_path / "moved")
  shutil.copytree(two_local, workdir)
  shutil.rmtree(os.path.join(workdir, "checkpoints", str(STEPS)))
  out = _finish(_launch(workdir, _env(8)))
  assert f"at step {STEPS - 1}" in out
  assert [r["step"] for r in _records(workdir) if "loss" in r] == list(range(1, STEPS + 1))
  a, b = _params(single, STEPS), _params(workdir, STEPS)
  for part in ("params", "batch_stats", "probe"):
    for x, y in zip(jax.tree.leaves(a[part]), jax.tree.leaves(b[part])):
      np.testing.assert_allclose(y, x, rtol=1e-4, atol=1e-6)
