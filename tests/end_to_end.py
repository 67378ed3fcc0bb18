"""Runs of ``python -m ssl_jax.main`` on a tiny quickstart, for the end-to-end tests."""
import json
import os
import socket
import subprocess
import sys

import orbax.checkpoint as ocp

# Before orbax opens any path here: etils caches its gs:// client on first
# use, and ssl_jax selects it on import (ssl_jax.storage).
import ssl_jax  # noqa: F401  pylint: disable=unused-import,g-bad-import-order

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TINY = [
    f"--config={ROOT}/configs/quickstart.py",
    "--config.train.batch_size=16", "--config.data.num_examples=160",
    "--config.model.name=resnet10", "--config.model.width=0.0625",
    "--config.method.projector.hidden_dim=32",
    "--config.method.projector.out_dim=16", "--config.train.log_every=1",
    "--config.eval.every_steps=4", "--config.eval.batch_size=30",  # rounds up to 32
    "--config.checkpoint.every_steps=4",
]
STEPS = 10


def cmd(workdir, *extra):
  return [sys.executable, "-m", "ssl_jax.main", f"--workdir={workdir}", *TINY, *extra]


def run(workdir, *extra, timeout=300, cwd=ROOT, env=None):
  return subprocess.run(cmd(workdir, *extra), cwd=cwd, capture_output=True, text=True,
                        timeout=timeout, check=False, env=env)


def records(workdir, name="metrics.jsonl"):
  path = os.path.join(workdir, name)
  if not os.path.exists(path):
    return []
  with open(path) as f:
    return [json.loads(line) for line in f if line.strip()]


def params(workdir, step):
  """The saved TrainState of a run at ``step`` (workdir may be a URL)."""
  return ocp.StandardCheckpointer().restore(f"{workdir}/checkpoints/{step}/default")


def free_port():
  with socket.socket() as sock:
    sock.bind(("localhost", 0))
    return sock.getsockname()[1]


def env_with_devices(devices, drop=("JAX_",), **extra):
  """This environment for a process of its own: without the variables named
  by the prefixes in ``drop`` (conftest's compilation cache is kept), with
  conftest's XLA flags (the compile-time setting too) but ``devices`` fake
  CPU devices."""
  keep = ("JAX_COMPILATION_CACHE_DIR", "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS")
  env = {k: v for k, v in os.environ.items()
         if k in keep or not k.startswith(tuple(drop))}
  flags = [f for f in env.get("XLA_FLAGS", "").split()
           if not f.startswith("--xla_force_host_platform_device_count")]
  env["XLA_FLAGS"] = " ".join(flags + [f"--xla_force_host_platform_device_count={devices}"])
  return {**env, **extra}
