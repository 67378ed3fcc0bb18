"""One run per workdir: live leases refuse a second launch, dead ones do not block."""
import json
import signal
import socket
import subprocess
import sys
import time

import pytest

from ssl_jax import lease
from tests.end_to_end import ROOT, run
from tests.gcs_server import BUCKET

_HOLD = ("import sys, time\n"
         "from ssl_jax import lease\n"
         "with lease.held(sys.argv[1]):\n"
         "  print('held', flush=True)\n"
         "  time.sleep(600)\n")


def _holder(workdir):
  """A process holding ``workdir``'s lease until it is killed."""
  proc = subprocess.Popen([sys.executable, "-c", _HOLD, workdir], cwd=ROOT,
                          stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
  assert proc.stdout.readline().strip() == "held"
  return proc


def _refused_then_free_after_sigkill(workdir):
  holder = _holder(workdir)
  try:
    with pytest.raises(lease.WorkdirBusy, match=rf"in use by the run started .* on host "
                                                rf"{socket.gethostname()}, pid {holder.pid}"):
      with lease.held(workdir):
        pass
    # The command line says the same in one line, exit 2, before any work.
    proc = run(workdir, timeout=120)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines()[-1].startswith(
        f"error: {workdir} is in use by the run started")
  finally:
    holder.send_signal(signal.SIGKILL)
    holder.wait()
  with lease.held(workdir):  # the killed holder's lease does not block
    pass


def test_a_local_workdir_is_refused_while_held_and_free_once_its_holder_dies(tmp_path):
  _refused_then_free_after_sigkill(str(tmp_path / "run"))


def test_a_bucket_workdir_is_refused_while_held_and_free_once_its_holder_dies(gcs):
  _refused_then_free_after_sigkill(f"gs://{BUCKET}/leased")
  assert not gcs.exists(f"{BUCKET}/leased/{lease.LEASE_FILE}")  # released at exit


def _plant(gcs, path, renewed_ago):
  gcs.pipe(path, json.dumps({"host": "elsewhere", "pid": 1, "started": "then",
                             "renewed": time.time() - renewed_ago}).encode())
  gcs.invalidate_cache()


def test_a_bucket_lease_of_another_host_lapses_only_when_it_stops_renewing(
    gcs, monkeypatch, caplog):
  workdir = f"gs://{BUCKET}/elsewhere"
  path = f"{BUCKET}/elsewhere/{lease.LEASE_FILE}"
  _plant(gcs, path, renewed_ago=10)
  with pytest.raises(lease.WorkdirBusy, match="on host elsewhere, pid 1"):
    with lease.held(workdir):
      pass
  _plant(gcs, path, renewed_ago=lease.STALE_SECONDS + 1)
  monkeypatch.setattr(lease, "RENEW_SECONDS", 0.05)
  with lease.held(workdir) as held:
    assert "taking over the lapsed lease" in caplog.text
    assert json.loads(gcs.cat(path))["pid"] != 1
    held.check()
    # Another run takes the lease while this one stalls: this one learns it
    # at its next renewal and refuses to write from then on.
    _plant(gcs, path, renewed_ago=0)
    deadline = time.time() + 30
    while held._lost is None and time.time() < deadline:  # pylint: disable=protected-access
      time.sleep(0.05)
    with pytest.raises(lease.WorkdirBusy, match="taken over by host elsewhere"):
      held.check()
  assert json.loads(gcs.cat(path))["host"] == "elsewhere"  # not deleted: not ours
