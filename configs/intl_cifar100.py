"""python -m ssl_jax.main --config=configs/intl_cifar100.py --workdir=DIR

INTL on CIFAR-100: the CIFAR-10 recipe (INTL Tables E and F; scripts/
cifar100.sh) on the 100-class data: ResNet-18 (CIFAR stem), 3-layer 2048-d
projector, SGD lr 0.3, weight decay 1e-4, batch 256, 1000 epochs.
"""
from configs import intl_cifar10


def get_config():
  c = intl_cifar10.get_config()
  with c.unlocked():
    c.data.name = "cifar100"
  return c
