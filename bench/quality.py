"""Every method's quickstart on every built-in dataset: what it learned.

    python bench/quality.py --workdir=/tmp/quality [--methods=mira,intl]
        [--datasets=synthetic,synthetic_gray,digits] [--jobs=1]

For each dataset it prints the baselines (weighted k-NN and the quick
linear protocol on raw pixels and on the random initialisation of each
quickstart backbone, whose BatchNorm statistics are estimated on the data
as step 0's are), then a
row per method: its quickstart recipe run unchanged with
``--config.data.name=DATASET`` (``python -m ssl_jax.main
--config=configs/quickstart.py:METHOD``), k-NN top-1 at step 0 and at the
end, the offline linear probe (``configs/linear_eval.py:quick`` on the
final backbone), the effective rank of the backbone features and of the
embedding at the end (of 64 and of the embedding width), whether the run
reported a collapse, and the wall time.  A method's row is marked
``below`` when its k-NN or linear probe does not beat both baselines.
Each run starts from scratch in WORKDIR/DATASET/METHOD.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from concurrent import futures

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from configs import quickstart  # pylint: disable=wrong-import-position

DATASETS = ("synthetic", "synthetic_gray", "digits")


def _main(args, cwd=ROOT):
  start = time.time()
  proc = subprocess.run([sys.executable, "-m", "ssl_jax.main", *args], cwd=cwd,
                        capture_output=True, text=True, check=False)
  return proc, time.time() - start


def _records(workdir):
  with open(os.path.join(workdir, "metrics.jsonl")) as f:
    return [json.loads(line) for line in f]


def linear_probe(pretrained, dataset, workdir):
  """Top-1 of the quick linear protocol on ``pretrained`` (a run or a file)."""
  proc, _ = _main(["--config=configs/linear_eval.py:quick", f"--config.pretrained={pretrained}",
                   f"--config.data.name={dataset}", f"--workdir={workdir}"])
  if proc.returncode != 0:
    raise RuntimeError(f"linear evaluation of {pretrained} failed:\n{proc.stderr[-3000:]}")
  return [r for r in _records(workdir) if "linear_top1" in r][-1]["linear_top1"]


def run_method(method, dataset, workdir):
  """One row: the quickstart on ``dataset`` and the linear probe of its backbone."""
  if os.path.exists(workdir):
    shutil.rmtree(workdir)
  proc, seconds = _main([f"--config=configs/quickstart.py:{method}", f"--workdir={workdir}",
                         f"--config.data.name={dataset}"])
  if proc.returncode != 0:
    return {"method": method, "error": proc.stderr[-3000:], "seconds": seconds}
  records = _records(workdir)
  evals = [r for r in records if "knn_top1" in r]
  collapse = [r for r in records if "collapse" in r]
  return {"method": method, "seconds": seconds, "knn_start": evals[0]["knn_top1"],
          "knn_end": evals[-1]["knn_top1"],
          "feature_rank": evals[-1]["feature_effective_rank"],
          "embedding_rank": evals[-1]["effective_rank"],
          "collapse_step": collapse[0]["step"] if collapse else None,
          "linear": linear_probe(workdir, dataset, os.path.join(workdir, "linear"))}


def baselines(dataset, workdir, method="intl"):
  """Raw pixels and the random initialisation of ``method``'s quickstart
  backbone (the narrow ResNet, or MAE's ViT), by the protocols above."""
  import jax  # pylint: disable=import-outside-toplevel
  from ssl_jax import backbone as backbones  # pylint: disable=import-outside-toplevel
  from ssl_jax.jobs import pretrain  # pylint: disable=import-outside-toplevel
  from ssl_jax.evals import pixels  # pylint: disable=import-outside-toplevel
  from ssl_jax.evals.monitor import PretrainingEvaluator  # pylint: disable=import-outside-toplevel
  config = quickstart.get_config(method)
  with config.unlocked():
    config.data.name = dataset
  run = pretrain.build_run(config)
  label = _backbone_name(config.model).replace(", ", "_")
  init_rng = jax.random.split(jax.random.key(config.train.seed))[0]
  state = jax.jit(lambda r: pretrain.init_state(run, r))(init_rng)
  size = run.views.views[0].size
  evaluator = PretrainingEvaluator(run.model, run.normalization, run.mesh, run.dataset,
                                   size, 500)
  variables = evaluator.variables(state, 0)
  os.makedirs(workdir, exist_ok=True)
  path = os.path.join(workdir, f"random_init_{label}.safetensors")
  backbones.save(backbones.Backbone(
      model=config.model.to_dict(),
      variables={"params": variables["params"]["backbone"],
                 "batch_stats": variables.get("batch_stats", {}).get("backbone", {})},
      mean=run.dataset.mean, std=run.dataset.std, image_size=size,
      source="random initialisation"), path)
  return {"pixel_knn": pixels.pixel_knn_top1(run.dataset, run.mesh),
          "pixel_linear": pixels.pixel_linear_top1(run.dataset),
          "init_knn": evaluator(state, 0)[0]["knn_top1"],
          "init_linear": linear_probe(path, dataset, os.path.join(
              workdir, f"random_linear_{label}"))}


def print_header(dataset, bases):
  """``bases``: {backbone name: its baselines}."""
  base = next(iter(bases.values()))
  inits = "; ".join(f"random init ({name}): k-NN {b['init_knn']:.1f}, linear "
                    f"{b['init_linear']:.1f}" for name, b in bases.items())
  print(f"\n### {dataset}\n")
  print(f"Raw pixels: k-NN {base['pixel_knn']:.1f}, linear {base['pixel_linear']:.1f}; "
        f"{inits}.\n")
  print("| method | k-NN start -> end | linear | backbone rank | embedding rank | "
        "collapse | wall time |")
  print("|---|---|---|---|---|---|---|", flush=True)


def print_row(base, r):
  if "error" in r:
    print(f"| {r['method']} | failed | | | | | {r['seconds'] / 60:.1f} min |")
    print(r["error"], flush=True)
    return
  bar = lambda key: max(base[f"pixel_{key}"], base[f"init_{key}"])
  below = r["knn_end"] <= bar("knn") or r["linear"] <= bar("linear")
  collapse = "-" if r["collapse_step"] is None else f"step {r['collapse_step']}"
  print(f"| {r['method']} | {r['knn_start']:.1f} -> {r['knn_end']:.1f}"
        f"{' below' if below else ''} | {r['linear']:.1f} | {r['feature_rank']:.1f} | "
        f"{r['embedding_rank']:.1f} | {collapse} | {r['seconds'] / 60:.1f} min |",
        flush=True)


def _backbone_name(model):
  """What a random initialisation's baselines depend on: MAE's ViT reads CLS
  and mean patch token with fixed position embeddings, iBOT's the CLS token
  (after a convolutional stem)."""
  if model.name.startswith("vit"):
    stem = ", conv_stem" if model.patch_stem == "conv" else ""
    return f"{model.name}, {model.pool}, {model.pos_embed}{stem}"
  return model.name


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--workdir", default="/tmp/quality")
  parser.add_argument("--methods", default=",".join(sorted([*quickstart.METHODS,
                                                            *quickstart.VARIANTS])),
                      help="quickstart recipes: method names, or names in its VARIANTS")
  parser.add_argument("--datasets", default=",".join(DATASETS))
  parser.add_argument("--jobs", type=int, default=1, help="runs at a time")
  parser.add_argument("--json", help="also write every number to this file")
  args = parser.parse_args()
  results = {}
  methods = args.methods.split(",")
  backbone = {m: _backbone_name(quickstart.get_config(m).model) for m in methods}
  for dataset in args.datasets.split(","):
    # One set of baselines per quickstart backbone (MAE's ViT, the others' ResNet).
    bases = {}
    for m in methods:
      if backbone[m] not in bases:
        bases[backbone[m]] = baselines(dataset, os.path.join(args.workdir, dataset), m)
    print_header(dataset, bases)
    results[dataset] = {"baselines": bases, "runs": []}
    with futures.ThreadPoolExecutor(args.jobs) as pool:
      pending = [pool.submit(run_method, m, dataset, os.path.join(args.workdir, dataset, m))
                 for m in methods]
      for job in pending:  # in the order asked; each row written as soon as it is known
        results[dataset]["runs"].append(job.result())
        run = results[dataset]["runs"][-1]
        print_row(bases[backbone[run["method"]]], run)
        if args.json:
          with open(args.json, "w") as f:
            json.dump(results, f, indent=1)


if __name__ == "__main__":
  main()
