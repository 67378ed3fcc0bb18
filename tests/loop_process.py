"""One process of a 2-process run of the shared loop (tests/test_loop.py).

    python -m tests.loop_process WORKDIR SIGNAL_AFTER_STEP

A trivial state (a step counter and a sum of the batches) goes through
``ssl_jax.jobs.loop.run`` with the real checkpointer, metrics writer and
stop signal.  The process whose SIGNAL_AFTER_STEP is positive sends itself a
real SIGTERM after that step; every process prints the step it stopped at.
"""
import os
import signal
import sys

import flax
import jax
import jax.numpy as jnp

from ssl_jax import sharding
from ssl_jax.checkpoint import Checkpointer, StopSignal
from ssl_jax.jobs import loop
from ssl_jax.main import maybe_initialize_distributed
from ssl_jax.metrics import MetricsWriter


@flax.struct.dataclass
class Counter:
  step: jax.Array
  total: jax.Array


def main(workdir, signal_after):
  maybe_initialize_distributed()  # from the JAX_* variables, as ssl_jax.main does
  mesh = sharding.make_mesh()
  replicated = sharding.replicated(mesh)
  state = jax.jit(lambda: Counter(jnp.zeros((), jnp.int32), jnp.zeros(())),
                  out_shardings=replicated)()
  one = jax.jit(lambda: jnp.ones(()), out_shardings=replicated)()

  @jax.jit
  def add(state, batch):
    new = Counter(state.step + 1, state.total + batch)
    return new, {"loss": new.total, "lr": jnp.zeros(())}

  steps = [0]

  def step_fn(state, batch):
    steps[0] += 1
    if steps[0] == signal_after:
      os.kill(os.getpid(), signal.SIGTERM)
    return add(state, batch)

  cadence = loop.Cadence(total_steps=20, log_every=4, eval_every=0, checkpoint_every=100)
  with StopSignal() as stop:
    outputs = loop.Outputs(Checkpointer(f"{workdir}/checkpoints", 3),
                           MetricsWriter(workdir, start_step=0), stop)
    state, _ = loop.run(state, step_fn, iter(lambda: one, None), cadence, 2, outputs,
                        loop.Hooks(evaluate=lambda state, step, record: None))
  print(f"process {jax.process_index()} stopped at step {int(state.step)}", flush=True)


if __name__ == "__main__":
  main(sys.argv[1], int(sys.argv[2]))
