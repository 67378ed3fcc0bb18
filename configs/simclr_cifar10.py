"""python -m ssl_jax.main --config=configs/simclr_cifar10.py --workdir=DIR

SimCLR on CIFAR-10 (solo-learn simclr.yaml): projector 2048 -> 256,
temperature 0.2, LARS lr 0.4, weight decay 1e-5, symmetric views.
"""
from configs import _solo, common


def get_config():
  return _solo.solo_cifar(
      common.method("simclr", projector=common.head(2048, 256), temperature=0.2),
      "symmetric_cifar", lr=0.4, weight_decay=1e-5)
