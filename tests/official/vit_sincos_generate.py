"""Fixture: MoCo v3's fixed 2D sine-cosine position embeddings.

    python tests/official/vit_sincos_generate.py --mocov3=DIR

DIR holds facebookresearch/moco-v3's ``vits.py`` (commit
c349e6e24f40d3fedb22d973f92defa4cedf37a7; it imports timm, 1.0.31 here,
where ``timm.models.layers.helpers`` is now ``timm.layers``: aliased).
Its ``build_2d_sincos_position_embedding`` is called for ViT-S/16's 14 x 14
grid (width 384) and for a 3 x 3 grid (width 8); the fixture holds both
tables without the CLS row (which is zero).
"""
import argparse
import importlib.util
import os
import sys
import types

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))


def main():
  parser = argparse.ArgumentParser()
  parser.add_argument("--mocov3", required=True)
  args = parser.parse_args()
  import timm.layers  # pylint: disable=g-import-not-at-top
  sys.modules["timm.models.layers.helpers"] = timm.layers
  spec = importlib.util.spec_from_file_location("mocov3_vits",
                                                os.path.join(args.mocov3, "vits.py"))
  vits = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(vits)
  tables = {}
  for grid, dim in ((14, 384), (3, 8)):
    holder = types.SimpleNamespace(patch_embed=types.SimpleNamespace(grid_size=(grid, grid)),
                                   embed_dim=dim, num_tokens=1)
    vits.VisionTransformerMoCo.build_2d_sincos_position_embedding(holder)
    table = holder.pos_embed.detach().numpy()[0]
    assert not table[0].any()
    tables[f"grid{grid}_dim{dim}"] = table[1:]
  np.savez(os.path.join(HERE, "vit", "mocov3_sincos.npz"), **tables)


if __name__ == "__main__":
  main()
