"""Fixture: what DINO's and timm's ViTs compute for the micro ViT of vit_weights.py.

    python tests/official/vit_generate.py --dino=DIR

DIR is a checkout of facebookresearch/dino at
7c446df5b9f45747937fb0d72314eb9f7b66930a (its ``vision_transformer.py``
and ``utils.py``); timm 1.0.31 and PyTorch's CPU build installed.  Both
models get the weights ``vit_weights.weight`` gives their parameter names
and run in float64 on ``vit_weights.images``: DINO's at 224 px and at
96 px (its ``interpolate_pos_encoding``), timm's at 224 px.  The CLS
features go to tests/official/vit/features.npz (a folder of its own: the
official-step tests take every .npz beside this file for a method).
"""
import argparse
import functools
import os
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import vit_weights  # pylint: disable=g-import-not-at-top,wrong-import-position

DINO_COMMIT = "7c446df5b9f45747937fb0d72314eb9f7b66930a"


def _load(model):
  state = {name: torch.tensor(vit_weights.weight(name, tuple(p.shape)))
           for name, p in model.state_dict().items()}
  model.load_state_dict(state, strict=True)
  return model.double().eval()


def _features(model, size):
  x = torch.tensor(vit_weights.images(size), dtype=torch.float64).permute(0, 3, 1, 2)
  with torch.no_grad():
    out = model(x)
  return out.numpy()


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--dino", required=True, help="checkout of facebookresearch/dino")
  args = parser.parse_args()
  sys.path.insert(0, args.dino)
  import timm  # pylint: disable=g-import-not-at-top
  import vision_transformer as dino_vits  # pylint: disable=g-import-not-at-top
  m = vit_weights.MICRO
  dino = _load(dino_vits.VisionTransformer(
      patch_size=m["patch"], embed_dim=m["dim"], depth=m["depth"], num_heads=m["heads"],
      mlp_ratio=4, qkv_bias=True, norm_layer=functools.partial(torch.nn.LayerNorm, eps=1e-6)))
  timm_vit = _load(timm.models.vision_transformer.VisionTransformer(
      img_size=224, patch_size=m["patch"], embed_dim=m["dim"], depth=m["depth"],
      num_heads=m["heads"], num_classes=0))
  np.savez(os.path.join(HERE, "vit", "features.npz"), dino_224=_features(dino, 224),
           dino_96=_features(dino, 96), timm_224=_features(timm_vit, 224),
           dino_commit=DINO_COMMIT, timm_version=timm.__version__)


if __name__ == "__main__":
  main()
