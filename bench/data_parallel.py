"""Does the train step split its work over the devices?  One device against all.

    python bench/data_parallel.py [--methods=intl,dino] [--batch=128] [--steps=10]
        [train_step.py's backbone flags]

For each method, its quickstart step (``bench/train_step.py``'s ``prepare``,
the same flags) compiled for one device and for every device of this
process (on a CPU, ``XLA_FLAGS=--xla_force_host_platform_device_count=8``
makes eight), at the same global batch.  Columns:

- GFLOP per device: XLA's cost analysis of each compiled step, what one
  device runs.  Data parallel, all devices' count is about 1/devices of one
  device's; near 1, every device computes the whole batch.  (A GPU's
  compiled count leaves out cuDNN's convolutions: read it on a CPU or TPU.)
- gathered: the bytes the step's all-gathers bring to each device (the
  embeddings a contrastive loss or a whitening needs are small; the views
  or activations are not);
- ms/step on one device and on all, timed in alternation (on fake CPU
  devices the cores are shared, so only the GFLOP ratio is the verdict).
"""
import argparse
import os
import re
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import jax  # pylint: disable=g-import-not-at-top,wrong-import-position

from bench import train_step  # pylint: disable=g-import-not-at-top,wrong-import-position
from bench.timing import paired_median_seconds  # pylint: disable=g-import-not-at-top,wrong-import-position
from ssl_jax import sharding  # pylint: disable=g-import-not-at-top,wrong-import-position

_BYTES = {"f32": 4, "bf16": 2, "f16": 2, "s32": 4, "u32": 4, "pred": 1, "u8": 1, "s8": 1}
_GATHER = re.compile(r"= (\w+)\[([\d,]*)\][^ ]* all-gather(?:-start)?\(")


def device_flops(compiled):
  cost = compiled.cost_analysis()
  return float((cost[0] if isinstance(cost, (list, tuple)) else cost).get("flops", 0.0))


def gathered_bytes(compiled):
  """Bytes of every all-gather's result in the compiled step's HLO."""
  total = 0
  for dtype, dims in _GATHER.findall(compiled.as_text()):
    total += _BYTES.get(dtype, 4) * int(np.prod([int(d) for d in dims.split(",") if d]))
  return total


def bench_method(name, args):
  one = train_step.prepare(name, args, sharding.make_mesh(jax.devices()[:1]))
  every = train_step.prepare(name, args, sharding.make_mesh())
  flops = device_flops(one.compiled), device_flops(every.compiled)
  seconds = paired_median_seconds(one.run, every.run, args.steps)
  print(f"| {name} | {flops[0] / 1e9:.3f} | {flops[1] / 1e9:.3f} | {flops[1] / flops[0]:.3f} | "
        f"{gathered_bytes(every.compiled) / 2 ** 10:.0f} KiB | {seconds[0] * 1e3:.0f} | "
        f"{seconds[1] * 1e3:.0f} |", flush=True)


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--methods", default=train_step.QUICK_METHODS, help="comma-separated")
  train_step.add_arguments(parser)
  args = parser.parse_args()
  n = jax.device_count()
  device = jax.devices()[0]
  print(f"{device.device_kind} x{n} ({device.platform}), jax {jax.__version__}: {args.model} "
        f"x{args.width}, global batch {args.batch}, {args.precision}\n")
  print(f"| method | GFLOP per device, 1 device | GFLOP per device, {n} devices | ratio | "
        f"gathered per device | ms/step, 1 device | ms/step, {n} devices |")
  print("|---|---|---|---|---|---|---|")
  for name in args.methods.split(","):
    bench_method(name, args)


if __name__ == "__main__":
  main()
