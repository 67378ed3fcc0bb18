"""python -m ssl_jax.main --config=configs/mio_stl10.py --workdir=DIR

MIO on STL-10, the "Best" column of the MIO paper's Table 4 (60.75 %:
model (D), batch 32; Section 3): the CIFAR-10 recipe on 96 px images
(ResNet-50 with the ImageNet stem; miossl's augmentations above 32 px: blur
0.5 and solarisation 0.2), pretraining on the unlabelled + train splits,
batch 32 at the same lr 1.5 (miossl does not scale it: base_lr 12.0 x
32/256), 250 epochs.  Model (D) at batch 128 (60.25 %):
--config.train.batch_size=128 --config.optim.base_lr=3.0.
"""
from configs import mio_cifar10


def get_config():
  c = mio_cifar10.get_config()
  with c.unlocked():
    c.model.stem = "imagenet"
    c.data.name = "stl10"
    c.data.views = "mio_stl10"
    c.train.batch_size = 32
    c.optim.base_lr = 12.0
    c.eval.every_steps = 164000
    c.checkpoint.every_steps = 3300
  return c
