"""Which nuisance factors of the ``synthetic`` data a pretrained backbone encodes.

    python bench/synthetic_factors.py --workdir=RUN [--workdir=RUN2 ...]

For each run (its latest checkpoint), the backbone features of the train
and test splits at the run's resolution: the held-out top-1 of a ridge
probe onto the class, the held-out R² of a ridge probe onto each factor
the images were drawn with, and what each of the top three principal
directions of the features follows most: the class (correlation ratio η)
or a factor (|r|), in brackets; "-" where none reaches 0.2.
"""
import argparse
import os
import sys

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

# pylint: disable=g-import-not-at-top,wrong-import-position
from ssl_jax.backbone import from_run
from ssl_jax import workdir as workdir_record
from ssl_jax.data import synthetic
from ssl_jax.evals import factors

SCALAR_FACTORS = ("polarity", "y", "x", "abs_x", "scale", "angle")


def split_features(backbone, split, chunk=500):
  images, labels, drawn = synthetic.generate_with_factors(split, backbone.image_size)
  feats = np.concatenate([np.asarray(backbone.features(images[i:i + chunk]))
                          for i in range(0, len(images), chunk)])
  scalar = dict(drawn, abs_x=np.abs(drawn["x"]))
  return feats, labels, {name: scalar[name] for name in SCALAR_FACTORS}


def report_row(workdir):
  config = workdir_record.read_config(workdir) or {}
  if config.get("data", {}).get("name") != "synthetic":
    raise SystemExit(f"{workdir}: not a run on the synthetic data (its config.json says "
                     f"data.name={config.get('data', {}).get('name')!r})")
  backbone = from_run(workdir)
  train_x, train_y, train_f = split_features(backbone, "train")
  test_x, test_y, test_f = split_features(backbone, "test")
  probe = factors.ridge_class_accuracy(train_x, test_x, train_y, test_y,
                                       synthetic.NUM_CLASSES)
  report = factors.factor_report(train_x, test_x, train_f, test_f, test_y)
  r2 = " | ".join(f"{report[name]['r2']:.2f}" for name in SCALAR_FACTORS)
  strengths = {name: entry["pc_corr"] for name, entry in report.items()}
  tops = []
  for pc in range(3):
    name = max(strengths, key=lambda n, pc=pc: strengths[n][pc])
    tops.append(f"{name} ({strengths[name][pc]:.2f})" if strengths[name][pc] >= 0.2 else "-")
  return (f"| {os.path.basename(os.path.normpath(workdir))} | {backbone.step} | "
          f"{100 * probe:.1f} | {r2} | {', '.join(tops)} |")


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--workdir", action="append", required=True)
  args = parser.parse_args()
  names = " | ".join(f"R² {name}" for name in SCALAR_FACTORS)
  print(f"| run | step | class probe (%) | {names} | top principal directions |")
  print("|---" * (len(SCALAR_FACTORS) + 4) + "|")
  for workdir in args.workdir:
    print(report_row(workdir), flush=True)


if __name__ == "__main__":
  main()
