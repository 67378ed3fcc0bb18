"""python -m ssl_jax.main --config=configs/dino_vits16_imagenet.py --workdir=DIR

DINO with ViT-S/16 on ImageNet, 100 epochs: the official README's "vanilla
DINO training" (facebookresearch/dino, ``main_dino.py --arch vit_small`` on
8 GPUs, batch 8 x 64 = 512; 69.3 % k-NN, 74.0 % linear).  main_dino.py's
defaults: head 384 -> 2048 -> 2048 -> 256 (GELU, no BN) and 65,536
weight-normalised prototypes frozen for the first epoch, student
temperature 0.1, teacher 0.04 (no warm-up), centre momentum 0.9, teacher EMA
0.996 -> 1, stochastic depth 0.1, 2 x 224 (0.4-1) + 8 x 96 (0.05-0.4)
crops, AdamW at lr 5e-4 x batch/256 warmed up over 10 epochs and cosine to
1e-6, weight decay cosine 0.04 -> 0.4 on every tensor of 2 dimensions or more
(position embeddings and CLS token included), each gradient tensor clipped
to norm 3.0.
"""
from configs import _dino, _imagenet

BATCH = 512


def get_config():
  c = _imagenet.imagenet(
      _dino.method(),
      "dino_multicrop", "adamw", lr=5e-4, weight_decay=0.04, batch_size=BATCH, epochs=100,
      warmup_epochs=10.0, end_lr_ratio=1e-6 / (5e-4 * BATCH / 256))
  c.model.name = "vit_small16"
  c.model.drop_path_rate = 0.1
  c.optim.weight_decay_end = 0.4
  c.optim.clip_grad = 3.0
  return c.lock()
