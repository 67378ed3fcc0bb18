"""Train-step throughput of a config: compile time and images/s.

    python bench/train_step.py --config=configs/quickstart.py --steps=30

Runs the real jitted step (augmentation, forward, loss, update) on batches
from the config's own pipeline, after one warm-up step, and prints the
median step time, images/s and the compile time.
"""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import jax  # pylint: disable=g-import-not-at-top
import numpy as np  # pylint: disable=g-import-not-at-top
from absl import app, flags  # pylint: disable=g-import-not-at-top
from ml_collections import config_flags  # pylint: disable=g-import-not-at-top

from ssl_jax import sharding  # pylint: disable=g-import-not-at-top
from ssl_jax.data import pipeline  # pylint: disable=g-import-not-at-top
from ssl_jax.pretrain import _compiled_step, build_run  # pylint: disable=g-import-not-at-top
from ssl_jax.state import init_train_state  # pylint: disable=g-import-not-at-top

_CONFIG = config_flags.DEFINE_config_file("config", None, "Config file.")
_STEPS = flags.DEFINE_integer("steps", 20, "Timed steps after the warm-up step.")


def main(argv):
  del argv
  config = _CONFIG.value
  run = build_run(config)
  replicated = sharding.replicated(run.mesh)
  state = jax.jit(lambda r: init_train_state(r, run.model, run.method, run.tx,
                                             run.views.views[0].size),
                  out_shardings=replicated)(jax.random.key(0))
  batches = pipeline.train_batches(run.dataset.train, run.views, config.train.batch_size,
                                   0, 0, run.shard)
  host = [next(batches) for _ in range(4)]
  step = _compiled_step(run, config)
  rng = jax.random.key(1)
  batch = sharding.to_global(host[0], run.mesh)
  start = time.perf_counter()
  compiled = step.lower(state, batch, rng).compile()
  compile_s = time.perf_counter() - start
  state, metrics = compiled(state, batch, rng)
  jax.block_until_ready(metrics)
  times = []
  for i in range(_STEPS.value):
    batch = sharding.to_global(host[i % len(host)], run.mesh)
    start = time.perf_counter()
    state, metrics = compiled(state, batch, rng)
    jax.block_until_ready(metrics)
    times.append(time.perf_counter() - start)
  median = float(np.median(times))
  print(f"config: {config.method.name} {config.model.name} x{config.model.width} "
        f"views {[v.size for v in run.views.views]} batch {config.train.batch_size} "
        f"on {run.mesh.devices.size} x {jax.devices()[0].device_kind}")
  print(f"compile: {compile_s:.1f} s")
  print(f"step: median {median * 1e3:.1f} ms (min {min(times) * 1e3:.1f}, "
        f"max {max(times) * 1e3:.1f}) over {len(times)} steps")
  print(f"throughput: {config.train.batch_size / median:.0f} images/s "
        f"({config.train.batch_size * len(run.views) / median:.0f} views/s)")


if __name__ == "__main__":
  flags.mark_flags_as_required(["config"])
  app.run(main)
