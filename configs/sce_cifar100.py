"""python -m ssl_jax.main --config=configs/sce_cifar100.py --workdir=DIR

SCE on CIFAR-100 (SCE supplement, Sections E and F; 65.45 % in Table 2):
the CIFAR-10 recipe (configs/sce_cifar10.py) with CIFAR-100's best
temperatures of Table 2 (τ = 0.1, τ_m = 0.08), queue 4096 and EMA 0.99
(the supplement's small-dataset values).
"""
from configs import sce_cifar10


def get_config():
  return sce_cifar10.small_dataset("cifar100", "sce_cifar", 0.1, 0.08, 4096, 0.99, 7800, 1950)
