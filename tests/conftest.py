"""Test set-up: 8 fake CPU devices, set before jax is imported anywhere."""
import os
import shutil
import tempfile

# The tests run tiny shapes, so compiling dominates them, not running: LLVM
# optimisation level 0 halves XLA:CPU compile times, and the older loop
# emitters in place of the fusion emitters cut another third (a method's
# test step: 5.8 -> 3.8 s).
os.environ["XLA_FLAGS"] = " ".join(
    [os.environ.get("XLA_FLAGS", ""),
     "--xla_force_host_platform_device_count=8",
     "--xla_backend_optimization_level=0",
     "--xla_cpu_use_fusion_emitters=false"]).strip()
os.environ.setdefault("JAX_PLATFORMS", "cpu")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")

# One on-disk XLA compilation cache per session, made by the controlling
# process and inherited by the xdist workers and by every process a test
# starts: a resumed, restarted or repeated run compiles nothing it already
# compiled (test_main, test_resilience and test_multihost are mostly
# compiling).  A fresh directory, so no run depends on an earlier one; a
# cache directory the caller set is used and left alone.
_OWN_CACHE_DIR = None
if "JAX_COMPILATION_CACHE_DIR" not in os.environ:
  _OWN_CACHE_DIR = tempfile.mkdtemp(prefix="ssl_jax_xla_cache_")
  os.environ["JAX_COMPILATION_CACHE_DIR"] = _OWN_CACHE_DIR
# Only programs that take a while: caching every small eager op costs more
# than it saves.
os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "1")


def pytest_sessionfinish(session, exitstatus):
  del session, exitstatus
  if _OWN_CACHE_DIR is not None:  # only in the process that made it
    shutil.rmtree(_OWN_CACHE_DIR, ignore_errors=True)


import pytest  # pylint: disable=g-import-not-at-top,wrong-import-position

# The launch scripts' two-process runs, shared by test_launch and test_multihost.
from tests.launched_runs import slurm_run, tpu_pod_run  # noqa: E402,F401  pylint: disable=g-import-not-at-top,wrong-import-position,unused-import


@pytest.fixture(scope="session")
def reference(tmp_path_factory):
  """(workdir, process) of the tiny quickstart run to STEPS, uninterrupted.

  Session-scoped: the files that use it share one xdist group, so one worker
  makes it once."""
  from tests import end_to_end  # pylint: disable=g-import-not-at-top
  workdir = str(tmp_path_factory.mktemp("reference"))
  proc = end_to_end.run(workdir, f"--config.train.total_steps={end_to_end.STEPS}")
  assert proc.returncode == 0, proc.stderr[-3000:]
  return workdir, proc


@pytest.fixture(scope="session")
def gcs(tmp_path_factory):
  """A gcsfs client of a GCS-protocol server on localhost with one empty
  bucket (tests/gcs_server.py); STORAGE_EMULATOR_HOST points at it."""
  from tests import gcs_server  # pylint: disable=g-import-not-at-top
  with gcs_server.running(tmp_path_factory.mktemp("gcs")) as client:
    yield client
