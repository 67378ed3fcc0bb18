"""python -m ssl_jax.main --config=configs/vicreg_cifar10.py --workdir=DIR

VICReg on CIFAR-10 (solo-learn vicreg.yaml): projector 3 layers 2048 -> 2048,
weights 25 / 25 / 1, LARS lr 0.3, weight decay 1e-4, asymmetric views.
"""
from configs import _solo, common


def get_config():
  return _solo.solo_cifar(
      common.method("vicreg", projector=common.head(2048, 2048, 3), sim_weight=25.0,
                    var_weight=25.0, cov_weight=1.0),
      "asymmetric_cifar", lr=0.3, weight_decay=1e-4)
