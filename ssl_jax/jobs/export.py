"""Writes a run's backbone to one file.

    python -m ssl_jax.jobs.export --workdir=RUN --out=backbone.safetensors [--ema]

The online (or EMA) backbone of the run's latest checkpoint: the weights,
the architecture and the input normalisation (``ssl_jax.backbone``).
"""
import argparse

import jax
import numpy as np

from ssl_jax.backbone import from_run, save


def main(argv=None):
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--workdir", required=True, help="a pretraining run's --workdir")
  parser.add_argument("--out", required=True, help="file to write (e.g. backbone.safetensors)")
  parser.add_argument("--ema", action="store_true", help="export the EMA teacher")
  args = parser.parse_args(argv)
  backbone = from_run(args.workdir, args.ema)
  save(backbone, args.out)
  count = sum(np.size(x) for x in jax.tree.leaves(backbone.variables["params"]))
  width = backbone.model.get("width", 1.0)
  print(f"wrote {args.out}: {backbone.model['name']}{'' if width == 1.0 else f' x{width}'} "
        f"({count / 1e6:.2f} M parameters), step {backbone.step} of {backbone.source}")


if __name__ == "__main__":
  main()
