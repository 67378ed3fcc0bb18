"""python -m ssl_jax.main --config=configs/sce_stl10.py --workdir=DIR

SCE on STL-10 (SCE supplement, Sections E and F; 89.94 % in Table 2):
the CIFAR-10 recipe (configs/sce_cifar10.py) with STL-10's best
temperatures of Table 2 (τ = 0.1, τ_m = 0.04), queue 16384 and EMA 0.996
(the supplement's medium-dataset values).
Pretraining on the unlabelled + train splits, 96 px views, CIFAR stem
(the supplement replaces the ImageNet stem on every small and medium
dataset).
"""
from configs import sce_cifar10


def get_config():
  return sce_cifar10.small_dataset("stl10", "sce_stl10", 0.1, 0.04, 16384, 0.996, 41000, 4100)
