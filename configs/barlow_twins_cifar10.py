"""python -m ssl_jax.main --config=configs/barlow_twins_cifar10.py --workdir=DIR

Barlow Twins on CIFAR-10 (solo-learn barlow.yaml): projector 3 layers 2048 ->
2048, λ = 0.0051, loss scale 0.1, LARS lr 0.3, weight decay 1e-4,
asymmetric views.
"""
from configs import _solo, common


def get_config():
  return _solo.solo_cifar(
      common.method("barlow_twins", projector=common.head(2048, 2048, 3), lambd=0.0051,
                    scale=0.1),
      "asymmetric_cifar", lr=0.3, weight_decay=1e-4)
