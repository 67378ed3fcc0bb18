"""Runs the quickstart of each method and prints its k-NN gain as a table.

    python bench/quickstart_knn.py --workdir=/tmp/quickstarts [--methods=simclr,byol]

Each method runs ``python -m ssl_jax.main --config=configs/quickstart.py:METHOD``
in its own process (from scratch: an existing workdir is removed); the table
gives knn_top1 at random init (step 0, evaluated with BatchNorm statistics
estimated on the bank split) and at the end, and the wall time.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from configs import quickstart  # pylint: disable=g-import-not-at-top,wrong-import-position


def run(method, workdir, extra):
  if os.path.exists(workdir):
    shutil.rmtree(workdir)
  start = time.time()
  proc = subprocess.run(
      [sys.executable, "-m", "ssl_jax.main", f"--config=configs/quickstart.py:{method}",
       f"--workdir={workdir}", *extra], cwd=ROOT, capture_output=True, text=True,
      check=False)
  seconds = time.time() - start
  if proc.returncode != 0:
    return None, None, seconds, proc.stderr[-2000:]
  with open(os.path.join(workdir, "metrics.jsonl")) as f:
    knn = [json.loads(line) for line in f if "knn_top1" in line]
  return knn[0]["knn_top1"], knn[-1]["knn_top1"], seconds, ""


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--workdir", default="/tmp/quickstarts")
  parser.add_argument("--methods", default=",".join(sorted(quickstart.METHODS)))
  args, extra = parser.parse_known_args()
  print("| method | knn_top1 at init | knn_top1 at end | gain | wall time |")
  print("|---|---|---|---|---|")
  for method in args.methods.split(","):
    start, end, seconds, err = run(method, os.path.join(args.workdir, method), extra)
    if start is None:
      print(f"| {method} | failed | | | {seconds / 60:.1f} min |\n{err}", flush=True)
      continue
    print(f"| {method} | {start:.1f} | {end:.1f} | {end - start:+.1f} | "
          f"{seconds / 60:.1f} min |", flush=True)


if __name__ == "__main__":
  main()
