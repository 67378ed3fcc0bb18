"""python -m ssl_jax.main --config=configs/byol_cifar10.py --workdir=DIR

BYOL on CIFAR-10 (solo-learn byol.yaml): projector and predictor 4096 -> 256,
EMA 0.99 -> 1, LARS lr 1.0, weight decay 1e-5, asymmetric views.
"""
from configs import _solo, common


def get_config():
  return _solo.solo_cifar(
      common.method("byol", projector=common.head(4096, 256),
                    predictor=common.head(4096, 256), ema_momentum=0.99),
      "asymmetric_cifar", lr=1.0, weight_decay=1e-5)
