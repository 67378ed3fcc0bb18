"""Bad input on the command line: every case ends in one line and a known exit status.

2: the command cannot run as given (fix it); 1: the run's stored state is
damaged or a write failed (the message says what is kept).  Nothing here may
print a traceback.
"""
import os
import re
import shutil
import subprocess
import sys

import pytest

from ssl_jax import main
from tests.end_to_end import ROOT, cmd
from tests.test_config import load
from tests.test_resilience import tiny_config

QUICKSTART = f"--config={ROOT}/configs/quickstart.py"


def _main(argv, cwd, timeout=180):
  return subprocess.run([sys.executable, "-m", "ssl_jax.main", *argv], cwd=cwd,
                        capture_output=True, text=True, timeout=timeout, check=False)


def _assert_one_line(proc, status, pattern):
  """One ``error:`` line matching ``pattern``, no traceback.  (Log lines of
  a library's background threads may still follow it.)"""
  errors = [line for line in proc.stderr.splitlines() if line.startswith("error: ")]
  assert proc.returncode == status, proc.stderr[-3000:]
  assert "Traceback" not in proc.stderr, proc.stderr[-3000:]
  assert len(errors) == 1 and re.search(pattern, errors[0]), errors or proc.stderr[-2000:]


def _tiny(workdir, *extra):
  return cmd(workdir, *extra)[3:]  # the flags after python -m ssl_jax.main


# Command lines (each a process of its own): (id, argv given the workdir,
# exit status, last line).
COMMAND_LINES = [
    ("text-for-int", lambda w: _tiny(w, "--config.train.batch_size=abc"), 2,
     r"--config.train.batch_size=abc: invalid literal for int"),
    ("float-for-int", lambda w: _tiny(w, "--config.train.total_steps=1.5"), 2,
     r"--config.train.total_steps=1.5: invalid literal for int"),
    ("no-workdir", lambda w: [QUICKSTART], 2, r"^error: --workdir is required$"),
    ("no-config", lambda w: [f"--workdir={w}"], 2, r"^error: --config is required$"),
    ("unknown-config-argument", lambda w: [f"{QUICKSTART}:foo", f"--workdir={w}"], 2,
     r"quickstart has no method 'foo'; choose one of: barlow_twins"),
    ("missing-config-file", lambda w: [f"--config={w}/nope.py", f"--workdir={w}"], 2,
     r"--config: \[Errno 2\] No such file or directory: .*nope\.py"),
    ("unknown-key", lambda w: _tiny(w, "--config.train.bogus=1"), 2,
     r"unknown config key config.train.bogus: config.train has no 'bogus'; valid keys"),
    ("stray-argument", lambda w: [*_tiny(w), "extra"], 2, r"unexpected arguments: extra"),
    ("crop-canvas-below-a-view", lambda w: _tiny(w, "--config.data.crop_canvas=8"), 2,
     r"data.crop_canvas=8 is out of range: .*must hold the largest view \(\d+ px\)"),
    # Through a job: the status and line main gives for a job's error.
    ("infinite-lr", lambda w: _tiny(w, "--config.optim.base_lr=inf"), 2,
     r"optim.base_lr=inf is not a finite number"),
]


@pytest.mark.parametrize("argv,status,pattern", [c[1:] for c in COMMAND_LINES],
                         ids=[c[0] for c in COMMAND_LINES])
def test_a_bad_command_line_is_one_line_and_an_exit_status(tmp_path, argv, status, pattern):
  _assert_one_line(_main(argv(str(tmp_path / "run")), cwd=ROOT), status, pattern)


def _damaged_config(workdir):
  os.makedirs(workdir)
  with open(os.path.join(workdir, "config.json"), "w") as f:
    f.write("{not json")


def _damaged_metrics(workdir):
  os.makedirs(workdir)
  with open(os.path.join(workdir, "metrics.jsonl"), "w") as f:
    f.write('{"step": 1, "loss": 1.0}\ngarbage\n{"step": 3, "loss": 1.0}\n')


def _unrestorable(workdir):
  os.makedirs(os.path.join(workdir, "checkpoints", "4", "default"))


def _truncated_export(workdir):
  os.makedirs(workdir)
  header = b'{"__metadata__":{"format":"ssl_jax.backbone/2"},"conv1.weight":{"dtype":"F32",' \
      b'"shape":[64,3,7,7],"data_offsets":[0,37632]}}'
  with open(os.path.join(workdir, "backbone.safetensors"), "wb") as f:
    f.write(len(header).to_bytes(8, "little") + header + b"\0" * 100)  # cut short


def _evaluation(name, **values):
  """configs/<name>.py with the tiny data of the end-to-end tests."""
  def config(workdir):
    c = load(os.path.join(ROOT, "configs", f"{name}.py")).get_config()
    c.data.num_examples, c.eval.batch_size = 160, 32
    for key, value in values.items():
      c[key] = value.format(w=workdir) if isinstance(value, str) else value
    return c
  return config


def _quickstart(**overrides):
  return lambda workdir: tiny_config(**overrides)


# Jobs given bad values, data or workdirs (run in this process, as main runs
# them): (id, config given the workdir, set-up or None, exit status, line).
JOBS = [
    ("nan-temperature", _quickstart(**{"eval.knn_temperature": float("nan")}), None, 2,
     r"eval.knn_temperature=nan is not a finite number"),
    ("zero-batch", _quickstart(**{"train.batch_size": 0}), None, 2,
     r"train.batch_size=0 is out of range: must be >= 2"),
    ("unknown-method", _quickstart(**{"method.name": "nope"}), None, 2,
     r"unknown method 'nope'; valid method names: barlow_twins"),
    ("batch-over-devices", _quickstart(**{"train.batch_size": 12}), None, 2,
     r"not divisible by the 8 devices"),
    ("fewer-images-than-a-batch", _quickstart(**{"data.num_examples": 8}), None, 2,
     r"the training split has 8 examples, fewer than one global batch of 16"),
    ("folder-missing", _quickstart(**{"data.name": "folder", "data.root": "/nonexistent"}),
     None, 2, r"data.root=/nonexistent does not exist"),
    ("damaged-config-json", _quickstart(), _damaged_config, 1,
     r"config.json is damaged \(not a JSON config\)"),
    ("damaged-metrics", _quickstart(), _damaged_metrics, 1,
     r"metrics.jsonl line 2 is damaged .*: repair or delete that line"),
    ("no-restorable-checkpoint", _quickstart(), _unrestorable, 1,
     r"no checkpoint in .*/checkpoints could be restored: step 4: "),
    ("truncated-export", _evaluation("knn_eval", pretrained="{w}/backbone.safetensors"),
     _truncated_export, 2, r"backbone.safetensors cannot be read as an exported backbone"),
    ("not-a-run", _evaluation("knn_eval", pretrained=os.path.join(ROOT, "configs")), None, 2,
     r"configs has no config.json: not a pretraining run's workdir"),
    ("no-pretrained", _evaluation("linear_eval"), None, 2,
     r"pretrained=None is out of range: set --config.pretrained"),
]


@pytest.mark.parametrize("config,setup,status,pattern", [c[1:] for c in JOBS],
                         ids=[c[0] for c in JOBS])
def test_a_job_given_bad_input_stops_with_one_line_and_an_exit_status(
    tmp_path, config, setup, status, pattern):
  workdir = str(tmp_path / "run")
  if setup is not None:
    setup(workdir)
  c = config(workdir)
  got_status, message = main.run_job(c.job, c, workdir)
  assert (got_status, "\n" in message) == (status, False), message
  assert re.search(pattern, message), message


def _can_mount():
  return shutil.which("unshare") is not None and subprocess.run(
      ["unshare", "-rm", "mount", "-t", "tmpfs", "tmpfs", "/tmp"],
      capture_output=True, check=False).returncode == 0


needs_mount = pytest.mark.skipif(not _can_mount(), reason="needs unshare -rm (user "
                                 "namespaces) to mount a small or read-only tmpfs")


def _in_namespace(script, timeout=300):
  """Runs ``script`` (sh) in a mount namespace of its own: its mounts vanish
  with it, and so do the files written there."""
  return subprocess.run(["unshare", "-rm", "sh", "-c", script], cwd=ROOT,
                        capture_output=True, text=True, timeout=timeout, check=False)


@needs_mount
def test_a_read_only_workdir_is_one_line_before_any_work(tmp_path):
  (tmp_path / "ro").mkdir()
  argv = " ".join(f"'{a}'" for a in cmd(str(tmp_path / "ro" / "run")))
  proc = _in_namespace(f"mount -t tmpfs -o ro tmpfs {tmp_path}/ro && exec {argv}")
  _assert_one_line(proc, 2, r"cannot write to the workdir .*/ro/run: Read-only file system")


@needs_mount
def test_a_full_disk_stops_at_the_failed_save_and_the_same_command_resumes(tmp_path):
  """The disk fills once step 2 is saved; the run stops (exit 1, one line)
  keeping step 2, and once space is freed the same command (checkpointing
  less often) finishes it."""
  disk = tmp_path / "disk"
  disk.mkdir()
  run = " ".join(f"'{a}'" for a in cmd(str(disk / "run"), "--config.train.total_steps=30",
                                       "--config.checkpoint.every_steps=2",
                                       "--config.eval.every_steps=0",
                                       "--config.train.log_every=50"))
  script = f"""
mount -t tmpfs -o size=64m tmpfs {disk} || exit 99
{run} 2> {tmp_path}/full.log & pid=$!
while [ ! -e {disk}/run/checkpoints/2/commit_success.txt ]; do
  kill -0 $pid 2>/dev/null || break; sleep 0.05; done
head -c 100m /dev/zero > {disk}/filler 2>/dev/null
wait $pid; echo "status $?"
ls {disk}/run/checkpoints
rm {disk}/filler
{run} --config.checkpoint.every_steps=200 2> {tmp_path}/resumed.log; echo "resumed $?"
ls {disk}/run/checkpoints
"""
  proc = _in_namespace(script)
  out = proc.stdout.split()
  full = subprocess.CompletedProcess([], int(out[out.index("status") + 1]), "",
                                     (tmp_path / "full.log").read_text())
  _assert_one_line(full, 1, r"saving a checkpoint to .* failed \(.*No space left on device")
  assert "2" in out[out.index("status") + 2:out.index("resumed")]
  resumed = (tmp_path / "resumed.log").read_text()
  assert out[out.index("resumed") + 1] == "0", resumed[-3000:]
  assert "30" in out[out.index("resumed") + 2:]
