"""Fixtures: what the official training code computes in 1 and 3 steps.

    python tests/official/generate.py --mira=DIR --intl=DIR --eztorch=DIR --miossl=DIR \
        --dino=DIR --swav=DIR --ibot=DIR --wmse=DIR

Each DIR is a checkout of the official repository; the fixtures were made
from these commits (``COMMITS``) in a virtual environment of its own
(``pip install torch==2.13.0 numpy==2.4.6 lightning==2.6.6 hydra-core==1.3.8
omegaconf==2.3.1``; PyTorch's CPU build, the last three for eztorch):

    movinghoon/MIRA      2a62538d58ec0c2dd4666b3415aca9f493f1c35c
    winci-ai/INTL        0aa69af20a263d1d714e45bc835925a84dc11956
    juliendenize/eztorch d8354719d9a4c79419294cb3a2298fca28bbe8c3
    miossl/miossl        cf1d6e5375803e46c74d361ae650403f70fc2b4c
    facebookresearch/dino 7c446df5b9f45747937fb0d72314eb9f7b66930a
    facebookresearch/swav 06b1b7cbaf6ba2a792300d79c7299db98b93b7f9
    bytedance/ibot       da316d82636a7a7356835ef224b13d5f3ace0489
    htdt/self-supervised d9662c8d07dafd194a9045375f4f6aa09f5b03e9 (W-MSE)

(DeepCluster v2's fixture, from swav, was made with torch 2.14.1 and numpy
2.4.6, with scipy and pandas, which main_deepclusterv2.py imports.  iBOT's
was made in ssl_jax's own environment, torch 2.13.0's CPU build beside
JAX: its masks are the ones ssl_jax's step draws, ibot_run.py.  W-MSE's
was made in ssl_jax's environment too, with tqdm, which train.py imports.)

For each method the official code builds its model around ``TinyResNet``
(torch_tiny.py) from stored initial weights, and its own training loop
(MIRA's ``Trainer.train_loop``, INTL's ``train``, a Lightning ``Trainer``
fitting eztorch's ``SCEModel``, miossl's ``Trainer.train_epoch``, DINO's
``train_one_epoch``: dino_run.py, DeepCluster v2's ``init_memory`` and
``train``: deepcluster_run.py, iBOT's ``train_one_epoch`` on its own micro
ViT: ibot_run.py, W-MSE's train.py: wmse_run.py) runs 1
and 3 optimiser steps on stored, already cropped uint8 views (no
photometric augmentation; both sides normalise them).  What the code
needs but the computation does not use (wandb, data loaders, CUDA
placement) is replaced by stand-ins.  The fixture records the initial and
final variables in ssl_jax's layout, the loss of every step and the
schedule values the code used (lr, EMA momentum, MIRA's beta, SCE's tau_m,
DINO's weight decay and teacher temperature).
Each method runs in its own subprocess: the repositories share top-level
module names (``src``, ``main``).
"""
import argparse
import json
import os
import subprocess
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
COMMITS = {
    "mira": "2a62538d58ec0c2dd4666b3415aca9f493f1c35c",
    "intl": "0aa69af20a263d1d714e45bc835925a84dc11956",
    "intl_ema": "0aa69af20a263d1d714e45bc835925a84dc11956",
    "sce": "d8354719d9a4c79419294cb3a2298fca28bbe8c3",
    "sce_asym": "d8354719d9a4c79419294cb3a2298fca28bbe8c3",
    "mio": "cf1d6e5375803e46c74d361ae650403f70fc2b4c",
    "dino": "7c446df5b9f45747937fb0d72314eb9f7b66930a",
    "deepclusterv2": "06b1b7cbaf6ba2a792300d79c7299db98b93b7f9",
    "ibot": "da316d82636a7a7356835ef224b13d5f3ace0489",
    "wmse": "d9662c8d07dafd194a9045375f4f6aa09f5b03e9",
}
REPOSITORY = {"mira": "mira", "intl": "intl", "intl_ema": "intl", "sce": "eztorch",
              "sce_asym": "eztorch", "mio": "miossl", "dino": "dino",
              "deepclusterv2": "swav", "ibot": "ibot", "wmse": "wmse"}
MEAN = (0.485, 0.456, 0.406)
STD = (0.229, 0.224, 0.225)
BATCH = 16


def make_views(seed, sizes, num_batches):
  """[[uint8 [N, S, S, 3] per view] per batch]."""
  rng = np.random.default_rng(seed)
  return [[rng.integers(0, 256, (BATCH, s, s, 3), dtype=np.uint8) for s in sizes]
          for _ in range(num_batches)]


def to_torch(views):
  """uint8 NHWC -> normalised float32 NCHW, as ssl_jax normalises on device."""
  import torch  # pylint: disable=import-outside-toplevel
  mean = np.asarray(MEAN, np.float32)
  std = np.asarray(STD, np.float32)
  out = []
  for v in views:
    x = (v.astype(np.float32) / np.float32(255.0) - mean) / std
    out.append(torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2))))
  return out


def save(path, method, meta, views, init, runs):
  """One .npz: meta (JSON), views, init/..., and per run k: step{k}/... and
  the recorded per-step series."""
  arrays = {"meta": np.asarray(json.dumps({**meta, "case": method,
                                           "commit": COMMITS[method],
                                           "mean": MEAN, "std": STD}))}
  for b, batch in enumerate(views):
    for v, x in enumerate(batch):
      arrays[f"views/{b}/{v}"] = x
  for key, x in init.items():
    arrays["init/" + key] = x
  for k, (values, records) in runs.items():
    for key, x in values.items():
      arrays[f"step{k}/{key}"] = x
    for key, series in records.items():
      arrays[f"step{k}/record/{key}"] = np.asarray(series, np.float64)
  np.savez_compressed(path, **arrays)
  print(f"wrote {path}: {len(arrays)} arrays")


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--mira")
  parser.add_argument("--intl")
  parser.add_argument("--eztorch")
  parser.add_argument("--miossl")
  parser.add_argument("--dino")
  parser.add_argument("--swav")
  parser.add_argument("--ibot")
  parser.add_argument("--wmse")
  parser.add_argument("--out", default=HERE)
  parser.add_argument("--only", help=argparse.SUPPRESS)
  args = parser.parse_args()
  if args.only:
    from official_runs import RUNS  # pylint: disable=import-outside-toplevel
    from dino_run import run_dino  # pylint: disable=import-outside-toplevel
    from deepcluster_run import run_deepclusterv2  # pylint: disable=import-outside-toplevel
    from ibot_run import run_ibot  # pylint: disable=import-outside-toplevel
    from wmse_run import run_wmse  # pylint: disable=import-outside-toplevel
    root = getattr(args, REPOSITORY[args.only])
    runs_of = {**RUNS, "dino": run_dino, "deepclusterv2": run_deepclusterv2, "ibot": run_ibot,
               "wmse": run_wmse}
    meta, views, init, runs = runs_of[args.only](root)
    save(os.path.join(args.out, f"{args.only}.npz"), args.only, meta, views, init, runs)
    return
  for method, repo in REPOSITORY.items():
    root = getattr(args, repo)
    if root is None:
      print(f"skipping {method}: no --{repo} checkout given")
      continue
    subprocess.run([sys.executable, __file__, f"--{repo}={root}", f"--out={args.out}",
                    f"--only={method}"], check=True, cwd=HERE)


if __name__ == "__main__":
  sys.path.insert(0, HERE)
  main()
