"""What the convolutional stem costs a ViT recipe's step, timed in alternation.

    python bench/patch_stem.py [--methods=dino_vit,ibot] [--batch=64] [--steps=5]

For each method, ``bench/train_step.py``'s jitted step of its quickstart
recipe (ViT-Tiny/4 at 24 px by default) is built twice, with the p x p
patch projection (``model.patch_stem=linear``) and with Xiao et al.'s
convolutional stem (``conv``); after both compiled, ``--steps`` rounds
time one step of each in turn, so a busy machine slows both.  One row per
method: ms/step of each, their ratio, the lowered step's GFLOP and the
compile seconds.  Record it, with the line printed above it, in
bench/README.md.
"""
import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import jax  # pylint: disable=g-import-not-at-top,wrong-import-position

from bench import train_step  # pylint: disable=g-import-not-at-top,wrong-import-position
from bench.timing import paired_median_seconds  # pylint: disable=g-import-not-at-top,wrong-import-position
from ssl_jax import sharding  # pylint: disable=g-import-not-at-top,wrong-import-position


def compare(name, args, mesh):
  """One row: the step with each patch embedding, timed in alternating rounds."""
  linear, conv = (train_step.prepare(name, argparse.Namespace(**{**vars(args), "patch_stem": stem}),
                                     mesh) for stem in ("linear", "conv"))
  a, b = paired_median_seconds(linear.run, conv.run, args.steps)
  print(f"| {name} | {a * 1e3:.0f} | {b * 1e3:.0f} | {b / a:.2f} | "
        f"{linear.flops / 1e9:.1f} | {conv.flops / 1e9:.1f} | "
        f"{linear.compile_s:.0f} | {conv.compile_s:.0f} |", flush=True)


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--methods", default="dino_vit", help="ViT quickstart recipes")
  train_step.add_arguments(parser)
  parser.set_defaults(model="vit_tiny4", batch=64, steps=5)
  args = parser.parse_args()
  if args.patch_stem:
    parser.error("--patch_stem: this script times the step with each")
  device = jax.devices()[0]
  print(f"{device.device_kind} x{jax.device_count()} ({device.platform}), jax "
        f"{jax.__version__}, {time.strftime('%Y-%m-%d')}: {args.model}, {args.size} px, "
        f"batch {args.batch}, {args.precision}, median of {args.steps} alternating rounds\n")
  print("| method | ms/step, projection | ms/step, conv stem | ratio | GFLOP/step, projection | "
        "GFLOP/step, conv stem | compile (s), projection | compile (s), conv stem |")
  print("|---|---|---|---|---|---|---|---|")
  mesh = sharding.make_mesh()
  for name in args.methods.split(","):
    compare(name, args, mesh)


if __name__ == "__main__":
  main()
