"""python -m ssl_jax.main --config=configs/simsiam_cifar10.py --workdir=DIR

SimSiam on CIFAR-10 (solo-learn simsiam.yaml; Chen & He): projector 3 layers
2048 -> 2048 with a last BN, bottleneck predictor 512, SGD lr 0.5, weight
decay 1e-5, symmetric views.
"""
from configs import _solo, common


def get_config():
  return _solo.solo_cifar(
      common.method("simsiam", projector=common.head(2048, 2048, 3, last_bn=True),
                    predictor=common.head(512, 2048)),
      "symmetric_cifar", optimizer="sgd", lr=0.5, weight_decay=1e-5)
