"""Fixture: one forward and backward pass of MAE's official model.

    python tests/official/mae_generate.py --mae=DIR

DIR is a checkout of facebookresearch/mae (commit
efb2a8062c206524e35e47d04501ed4f544c0ae8) holding ``models_mae.py`` and
``util/pos_embed.py``.  Run with torch 2.14.1 and timm 1.0.31, where two
shims are needed: timm's ``Block`` no longer takes ``qk_scale`` (MAE passes
None, the default scale, so the shim drops it) and NumPy no longer has
``np.float`` (aliased to ``float``).

A ``MaskedAutoencoderViT`` of width 32, depth 2, 2 heads, 4 px patches at
16 px (16 patches), a decoder of width 16, depth 2, 2 heads, mask ratio
0.75 and ``norm_pix_loss=True``, initialised by its own code (seed 0) and
then every trainable tensor moved by N(0, 0.02) so that biases and
LayerNorm gains are not at their defaults.  ``random_masking``'s
``torch.rand`` returns the stored noise.  The fixture holds the images
(NCHW), the noise, every parameter (the fixed position tables included),
the loss, the prediction, the mask and the gradient of every trainable
parameter.
"""
import argparse
import functools
import os
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
CONFIG = dict(img_size=16, patch_size=4, in_chans=3, embed_dim=32, depth=2, num_heads=2,
              decoder_embed_dim=16, decoder_depth=2, decoder_num_heads=2, mlp_ratio=4.0,
              norm_pix_loss=True)
MASK_RATIO = 0.75
BATCH = 3


def _import_official(path):
  np.float = float  # util/pos_embed.py's np.float, gone from NumPy
  import timm.models.vision_transformer as tvit  # pylint: disable=g-import-not-at-top
  original = tvit.Block

  class Block(original):  # pylint: disable=too-few-public-methods
    def __init__(self, *args, qk_scale=None, **kwargs):
      assert qk_scale is None
      super().__init__(*args, **kwargs)

  tvit.Block = Block
  sys.path.insert(0, path)
  import models_mae  # pylint: disable=g-import-not-at-top
  return models_mae


def main():
  parser = argparse.ArgumentParser()
  parser.add_argument("--mae", required=True)
  args = parser.parse_args()
  models_mae = _import_official(args.mae)
  torch.manual_seed(0)
  model = models_mae.MaskedAutoencoderViT(
      norm_layer=functools.partial(torch.nn.LayerNorm, eps=1e-6), **CONFIG)
  with torch.no_grad():
    for p in model.parameters():
      if p.requires_grad:
        p.add_(0.02 * torch.randn_like(p))
  images = torch.randn(BATCH, 3, CONFIG["img_size"], CONFIG["img_size"])
  num_patches = (CONFIG["img_size"] // CONFIG["patch_size"]) ** 2
  noise = torch.rand(BATCH, num_patches)
  rand = torch.rand
  torch.rand = lambda *a, **k: noise.clone()
  try:
    loss, pred, mask = model(images, mask_ratio=MASK_RATIO)
  finally:
    torch.rand = rand
  loss.backward()
  out = {"images": images.numpy(), "noise": noise.numpy(), "loss": loss.detach().numpy(),
         "pred": pred.detach().numpy(), "mask": mask.numpy(), "mask_ratio": MASK_RATIO}
  for name, p in model.named_parameters():
    out[f"param/{name}"] = p.detach().numpy()
    if p.requires_grad:
      out[f"grad/{name}"] = p.grad.numpy()
  os.makedirs(os.path.join(HERE, "mae"), exist_ok=True)
  np.savez(os.path.join(HERE, "mae", "mae_forward.npz"), **out)


if __name__ == "__main__":
  main()
