"""Entry point: ``python -m ssl_jax.main --config=configs/X.py --workdir=DIR``.

Parses the config (``--config.train.batch_size=512`` style overrides),
keeps TensorFlow off the accelerators, joins a multi-host run when the
environment describes one, and dispatches to the job the config names.
Configuration and dataset problems end with one clear message and exit
status 2, a diverged run, a collapse with ``train.stop_on_collapse`` or
unreadable checkpoints with one and status 1, not a traceback.
"""
import os
import re
import sys
import tempfile

# TensorFlow only feeds data: keep it off every GPU so it never takes
# accelerator memory from JAX (set before TensorFlow is imported anywhere).
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")



def configs_dir() -> str:
  """The shipped configs: ``ssl_jax/configs`` once installed, ``configs/``
  beside the package in a checkout (or an editable install)."""
  here = os.path.dirname(os.path.abspath(__file__))
  installed = os.path.join(here, "configs")
  return installed if os.path.isdir(installed) else os.path.join(os.path.dirname(here), "configs")


# Config files import ``configs.common``: the folder above ``configs`` is on the path.
if os.path.dirname(configs_dir()) not in sys.path:
  sys.path.insert(0, os.path.dirname(configs_dir()))

from absl import app, flags, logging  # pylint: disable=g-import-not-at-top
from ml_collections import config_flags  # pylint: disable=g-import-not-at-top

from ssl_jax.registry import Registry  # pylint: disable=g-import-not-at-top

_CONFIG = config_flags.DEFINE_config_file(
    "config", None, "A config file (configs/X.py[:ARG]), or a shipped config's name "
    "(X[:ARG], from any directory).", lock_config=True)
_WORKDIR = flags.DEFINE_string("workdir", None, "Directory for checkpoints, logs "
                               "and metrics; re-running on it resumes the run.")
_PRINT_CONFIG = flags.DEFINE_bool("print_config", False, "Print the config with its "
                                  "overrides applied and exit (no --workdir needed).")
flags.mark_flags_as_required(["config"])


def _job(module_name):
  def load():
    import importlib  # pylint: disable=g-import-not-at-top
    return importlib.import_module(module_name).train_and_evaluate
  return load


# config.job -> a function returning the job (imported only when chosen).
JOBS = Registry("job", {"pretrain": _job("ssl_jax.jobs.pretrain"),
                        "linear_eval": _job("ssl_jax.jobs.linear_eval"),
                        "knn_eval": _job("ssl_jax.jobs.knn_eval")})


# Lines TensorFlow's native code prints on import whatever TF_CPP_MIN_LOG_LEVEL
# says (its absl logging starts before anything can configure it).
_IMPORT_NOISE = ("oneDNN custom operations are on",
                 "All log messages before absl::InitializeLog() is called")


def _import_tensorflow_quietly():
  """``import tensorflow`` with its native stderr lines filtered (the known
  noise dropped, anything else passed on) and without Keras.

  ssl_jax uses tf.data alone, and TensorFlow imports Keras eagerly, which
  costs every run's start 2 s of CPU.  Keras is hidden only while TensorFlow
  imports (it skips Keras when that fails); ``tf.keras`` still loads it on
  first use."""
  sys.stderr.flush()
  saved = os.dup(2)
  hide_keras = "keras" not in sys.modules
  with tempfile.TemporaryFile() as captured:
    os.dup2(captured.fileno(), 2)
    try:
      if hide_keras:
        sys.modules["keras"] = None  # `import keras` raises ImportError
      import tensorflow as tf  # pylint: disable=g-import-not-at-top
    finally:
      if hide_keras and sys.modules.get("keras", 0) is None:
        del sys.modules["keras"]
      os.dup2(saved, 2)
      os.close(saved)
      captured.seek(0)
      for line in captured.read().decode(errors="replace").splitlines(keepends=True):
        if not any(noise in line for noise in _IMPORT_NOISE):
          sys.stderr.write(line)
  return tf


def hide_gpus_from_tensorflow():
  """Imports TensorFlow (for tf.data) with no GPU; returns the module."""
  tf = _import_tensorflow_quietly()
  tf.config.set_visible_devices([], "GPU")
  return tf


def maybe_initialize_distributed():
  """``jax.distributed.initialize()`` on multi-host set-ups.

  Cloud TPU pods and SLURM are detected by JAX itself; elsewhere set
  JAX_COORDINATOR_ADDRESS, JAX_NUM_PROCESSES and JAX_PROCESS_ID.
  """
  import jax  # pylint: disable=g-import-not-at-top
  if os.environ.get("JAX_COORDINATOR_ADDRESS"):
    jax.distributed.initialize(
        coordinator_address=os.environ["JAX_COORDINATOR_ADDRESS"],
        num_processes=int(os.environ["JAX_NUM_PROCESSES"]),
        process_id=int(os.environ["JAX_PROCESS_ID"]))
  elif os.environ.get("SLURM_NTASKS", "1") != "1" or os.environ.get("TPU_WORKER_HOSTNAMES", "").count(","):
    jax.distributed.initialize()


def _override_paths(argv):
  paths = []
  for arg in argv:
    if arg.startswith("--config.") and "=" in arg:
      paths.append(arg[len("--config."):].split("=", 1)[0])
  return paths


def _one_line(error) -> str:
  """The line of a flag or config-loading error that says what is wrong
  (absl and ml_collections wrap it in tracebacks and attempted paths)."""
  lines = [line.strip() for line in str(error).splitlines() if line.strip()]
  text = lines[-1] if lines else type(error).__name__
  missing = re.search(r"Flag (--\w+) must have a value other than None", text)
  return f"{missing.group(1)} is required" if missing else text


def resolve_config_name(argv):
  """``--config=NAME[:ARG]`` naming a shipped config (no path, no ``.py``) ->
  its file; paths are left as they are."""
  out = []
  for arg in argv:
    if arg.startswith("--config="):
      name, sep, rest = arg[len("--config="):].partition(":")
      if name and os.sep not in name and not name.endswith(".py") and not os.path.exists(name):
        path = os.path.join(configs_dir(), f"{name}.py")
        if not os.path.isfile(path) or name.startswith("_") or name == "common":
          shipped = sorted(f[:-3] for f in os.listdir(configs_dir())
                           if f.endswith(".py") and not f.startswith("_") and f != "common.py")
          sys.stderr.write(f"error: --config={name}: no such file and no shipped config of "
                           f"that name; shipped configs: {', '.join(shipped)}\n")
          sys.exit(2)
        arg = f"--config={path}{sep}{rest}"
    out.append(arg)
  return out


def parse_flags(argv):
  """absl flag parsing whose errors are one line and exit status 2: an unknown
  ``--config.x.y`` (with the valid keys), a value of the wrong type, a
  missing flag, a config file that cannot be loaded."""
  argv = resolve_config_name(argv)
  try:
    return flags.FLAGS(argv)
  except flags.Error as e:
    sys.stderr.write(f"error: {_one_line(e)}\n")
    sys.exit(2)
  except (ValueError, TypeError, OSError) as e:  # raised by the config file
    sys.stderr.write(f"error: --config: {_one_line(e)}\n")
    sys.exit(2)
  except (AttributeError, KeyError) as e:
    from ssl_jax.config_check import check_override_keys  # pylint: disable=g-import-not-at-top
    from ssl_jax.registry import ConfigError  # pylint: disable=g-import-not-at-top
    config_path = next((a.split("=", 1)[1] for a in argv
                        if a.startswith("--config=")), None)
    try:
      if config_path:
        module = config_flags.config_flags._LoadConfigModule("config", config_path)  # pylint: disable=protected-access
        check_override_keys(module.get_config(), _override_paths(argv))
    except ConfigError as error:
      sys.stderr.write(f"error: {error}\n")
      sys.exit(2)
    sys.stderr.write(f"error: could not apply a --config override: {e}\n")
    sys.exit(2)


def main(argv):
  if len(argv) > 1:
    _exit(2, f"unexpected arguments: {' '.join(argv[1:])} (flags are --name=value)")
  try:
    config = _CONFIG.value
    job = config.job  # a config file that failed to load raises here
  except (OSError, ValueError) as e:
    _exit(2, f"--config: {_one_line(e)}")
  if _PRINT_CONFIG.value:
    print(config)
    return
  if not _WORKDIR.value:
    _exit(2, "--workdir is required")
  from ssl_jax.metrics import quiet_library_logs  # pylint: disable=g-import-not-at-top
  quiet_library_logs()
  hide_gpus_from_tensorflow()
  maybe_initialize_distributed()
  status, message = run_job(job, config, _WORKDIR.value)
  if status:
    _exit(status, message)


def run_job(job, config, workdir):
  """Runs the job named ``job``: (0, None), or (exit status, the one line
  that says why it stopped).  2: the run could not start as given (fix the
  command); 1: it stopped on a damaged or failing state (the message says
  what is kept)."""
  # pylint: disable=g-import-not-at-top
  from ssl_jax.checkpoint import CheckpointError
  from ssl_jax.data.sources import DatasetNotPreparedError
  from ssl_jax.evals.collapse import CollapseDetected
  from ssl_jax.backbone import BackboneNotFound
  from ssl_jax.lease import WorkdirBusy
  from ssl_jax.jobs.pretrain import TrainingDiverged
  from ssl_jax.registry import ConfigError
  from ssl_jax.storage import DamagedFile, WriteFailed
  # pylint: enable=g-import-not-at-top
  try:
    JOBS.lookup(job, "job")()(config, workdir)
  except (ConfigError, DatasetNotPreparedError, BackboneNotFound, WorkdirBusy) as e:
    return 2, str(e)
  except (TrainingDiverged, CollapseDetected, CheckpointError, DamagedFile,
          WriteFailed) as e:
    return 1, str(e)
  return 0, None


def _exit(status, error):
  logging.flush()
  sys.stderr.write(f"error: {error}\n")
  sys.exit(status)


def run():
  app.run(main, flags_parser=parse_flags)


if __name__ == "__main__":
  run()
