"""Fixture: masks iBOT's own data loader draws (tests/test_block_masking.py).

    python tests/official/block_mask_generate.py --ibot=DIR

DIR is a checkout of bytedance/ibot at
da316d82636a7a7356835ef224b13d5f3ace0489 (its ``loader.py``; PyTorch's CPU
build installed, as for generate.py).  ``ImageFolderMask.__getitem__``
runs as written, with torchvision's ImageFolder replaced by a stand-in that
hands it the crops (zero tensors of the crop's size: only their shape is
read), and Python's ``random`` seeded.  For each setting it records every
crop's number of masked patches and how often each patch was masked, in
tests/official/ibot/block_masks.npz (a folder of its own: the official-step
tests take every .npz beside this file for a method).
"""
import argparse
import json
import os
import random
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from ibot_run import ImageFolder  # pylint: disable=g-import-not-at-top,wrong-import-position
from official_runs import stub_module  # pylint: disable=g-import-not-at-top,wrong-import-position

COMMIT = "da316d82636a7a7356835ef224b13d5f3ace0489"
CROPS = 4000
# name -> (image side, patch, pred_ratio, pred_ratio_var): the ViT recipes'
# ratios on ViT-S/16's 14 x 14 grid and on the quickstart's 6 x 6, and one
# fixed ratio.
SETTINGS = {
    "recipe_14": (224, 16, [0.0, 0.3], [0.0, 0.2]),
    "recipe_6": (24, 4, [0.0, 0.3], [0.0, 0.2]),
    "fixed_14": (224, 16, 0.3, 0.0),
}


def draw(loader, side, patch, ratio, ratio_var):
  """bool [CROPS, side / patch, side / patch] from ImageFolderMask."""
  crop = torch.zeros(3, side, side)
  dataset = loader.ImageFolderMask("unused", transform=lambda _: [crop] * 100,
                                   patch_size=patch, pred_ratio=ratio,
                                   pred_ratio_var=ratio_var, pred_aspect_ratio=(0.3, 1 / 0.3))
  masks = []
  while len(masks) < CROPS:
    masks.extend(dataset[0][2])
  return np.stack(masks[:CROPS])


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--ibot", required=True, help="checkout of bytedance/ibot")
  args = parser.parse_args()
  sys.path.insert(0, args.ibot)
  stub_module("torchvision")
  stub_module("torchvision.datasets", ImageFolder=ImageFolder)
  import loader  # pylint: disable=g-import-not-at-top
  random.seed(0)
  np.random.seed(0)
  arrays = {"commit": COMMIT, "settings": json.dumps(SETTINGS)}
  for name, setting in SETTINGS.items():
    masks = draw(loader, *setting)
    arrays[f"{name}/counts"] = masks.reshape(len(masks), -1).sum(1).astype(np.int32)
    arrays[f"{name}/frequency"] = masks.mean(0)
  os.makedirs(os.path.join(HERE, "ibot"), exist_ok=True)
  np.savez_compressed(os.path.join(HERE, "ibot", "block_masks.npz"), **arrays)


if __name__ == "__main__":
  main()
