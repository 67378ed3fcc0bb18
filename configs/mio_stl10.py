"""python -m ssl_jax.main --config=configs/mio_stl10.py --workdir=DIR

MIO on STL-10 (MIO paper, Section 3): the CIFAR-10 recipe on 96 px images
(ResNet-50 with the ImageNet stem, Table 3 augmentations with blur),
pretraining on the unlabelled + train splits, batch 128, 250 epochs.
"""
from configs import mio_cifar10


def get_config():
  c = mio_cifar10.get_config()
  with c.unlocked():
    c.model.stem = "imagenet"
    c.data.name = "stl10"
    c.data.views = "mio_stl10"
    c.eval.every_steps = 41000
    c.checkpoint.every_steps = 4100
  return c
