"""python -m ssl_jax.main --config=configs/mira_cifar100.py --workdir=DIR

MIRA on CIFAR-100 (MIRA Appendix A.4.2): the CIFAR-10 recipe
(configs/mira_cifar10.py) on CIFAR-100.
"""
from configs import mira_cifar10


def get_config():
  c = mira_cifar10.get_config()
  with c.unlocked():
    c.data.name = "cifar100"
  return c
