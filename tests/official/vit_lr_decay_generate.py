"""Fixture: MAE's layer-wise learning-rate decay on a timm ViT.

    python tests/official/vit_lr_decay_generate.py --mae=DIR

DIR holds facebookresearch/mae's ``util/lr_decay.py`` (commit
efb2a8062c206524e35e47d04501ed4f544c0ae8, flattened: ``DIR/lr_decay.py``).
Its ``param_groups_lrd`` (layer decay 0.65) runs on timm's
``VisionTransformer`` (1.0.31) of depth 3, width 8, patch 4 at 8 px without
a head, with weight decay 0.05 and the model's ``no_weight_decay()`` list as
main_finetune.py calls it; the fixture maps every parameter name to its
``lr_scale`` and its weight decay.
"""
import argparse
import importlib.util
import json
import os

import timm

HERE = os.path.dirname(os.path.abspath(__file__))
DECAY = 0.65
WEIGHT_DECAY = 0.05


def main():
  parser = argparse.ArgumentParser()
  parser.add_argument("--mae", required=True)
  args = parser.parse_args()
  spec = importlib.util.spec_from_file_location("mae_lr_decay",
                                                os.path.join(args.mae, "lr_decay.py"))
  lr_decay = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(lr_decay)
  model = timm.models.vision_transformer.VisionTransformer(
      img_size=8, patch_size=4, embed_dim=8, depth=3, num_heads=2, num_classes=0)
  groups = lr_decay.param_groups_lrd(model, weight_decay=WEIGHT_DECAY,
                                     no_weight_decay_list=model.no_weight_decay(),
                                     layer_decay=DECAY)
  ids = {id(p): n for n, p in model.named_parameters()}
  scales = {ids[id(p)]: g["lr_scale"] for g in groups for p in g["params"]}
  decays = {ids[id(p)]: g["weight_decay"] for g in groups for p in g["params"]}
  with open(os.path.join(HERE, "vit", "mae_lr_decay.json"), "w") as f:
    json.dump({"layer_decay": DECAY, "weight_decay": WEIGHT_DECAY, "lr_scale": scales,
               "weight_decays": decays}, f, indent=1, sort_keys=True)


if __name__ == "__main__":
  main()
