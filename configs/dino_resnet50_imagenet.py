"""python -m ssl_jax.main --config=configs/dino_resnet50_imagenet.py --workdir=DIR

DINO with ResNet-50 on ImageNet, 100 epochs: the official README's
"ResNet-50 and other convnets" command (facebookresearch/dino,
``main_dino.py --arch resnet50 --optimizer sgd --lr 0.03 --weight_decay 1e-4
--weight_decay_end 1e-4 --global_crops_scale 0.14 1 --local_crops_scale 0.05
0.14`` on 8 GPUs, batch 8 x 64 = 512).  The rest is main_dino.py's defaults:
head 2048 -> 2048 -> 2048 -> 256 (GELU, no BN), 65,536 weight-normalised
prototypes frozen for the first epoch, student temperature 0.1, teacher 0.04,
centre momentum 0.9, teacher EMA 0.996 -> 1, 2 x 224 + 8 x 96 crops, SGD
with momentum 0.9 at lr 0.03 x batch/256 warmed up over 10 epochs and
cosine to 1e-6, each gradient tensor clipped to norm 3.0.
"""
from configs import _dino, _imagenet

BATCH = 512


def get_config():
  c = _imagenet.imagenet(
      _dino.method(),
      "dino_resnet_multicrop", "sgd", lr=0.03, weight_decay=1e-4, batch_size=BATCH,
      epochs=100, warmup_epochs=10.0, end_lr_ratio=1e-6 / (0.03 * BATCH / 256))
  c.optim.clip_grad = 3.0
  return c.lock()
