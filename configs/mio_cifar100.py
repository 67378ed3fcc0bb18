"""python -m ssl_jax.main --config=configs/mio_cifar100.py --workdir=DIR

MIO on CIFAR-100, the paper's model (D) of Table 4 (56.81 %): the CIFAR-10
recipe (configs/mio_cifar10.py) on CIFAR-100.
"""
from configs import mio_cifar10


def get_config():
  c = mio_cifar10.get_config()
  with c.unlocked():
    c.data.name = "cifar100"
  return c
