"""python -m ssl_jax.main --config=configs/mocov3_vits16_imagenet.py --workdir=DIR

MoCo v3 with ViT-S/16 on ImageNet, 300 epochs (facebookresearch/moco-v3
CONFIG.md, "ViT-Small, 1-node (8-GPU) pre-training": ``-a vit_small -b 1024
--optimizer=adamw --lr=1.5e-4 --weight-decay=.1 --epochs=300
--warmup-epochs=40 --stop-grad-conv1 --moco-m-cos --moco-t=.2``; Chen et al.
2021, Table 1): ViT-S/16 with 12 heads (MoCo v3's vits.py), its fixed 2D
sine-cosine position embeddings and the random patch projection frozen;
projector 3 layers 4096 -> 256 (BN, the last without affine), predictor 2
layers 4096 -> 256, no biases; temperature 0.2, momentum 0.99 -> 1 (cosine);
BYOL's views (crops of at least 8 %); AdamW at lr 1.5e-4 x batch/256 warmed
up over 40 epochs, cosine to 0, weight decay 0.1 on every parameter (the
official optimiser takes ``model.parameters()`` whole).

Kept different: the blocks start from DINO's initialisation (truncated
normal 0.02), not MoCo v3's Xavier-uniform one.
"""
from configs import _imagenet, common


def get_config():
  c = _imagenet.imagenet(
      common.method("mocov3",
                    projector=common.head(4096, 256, 3, last_bn=True, last_bn_affine=False),
                    predictor=common.head(4096, 256, 2, last_bias=False), temperature=0.2,
                    ema_momentum=0.99),
      "asymmetric_imagenet", "adamw", lr=1.5e-4, weight_decay=0.1, batch_size=1024,
      epochs=300, warmup_epochs=40.0, exclude_bias_and_norm=False)
  c.model.name = "vit_small16"
  c.model.num_heads = 12
  c.model.pos_embed = "sincos"
  c.model.freeze_patch_embed = True
  return c.lock()
