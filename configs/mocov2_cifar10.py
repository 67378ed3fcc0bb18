"""python -m ssl_jax.main --config=configs/mocov2_cifar10.py --workdir=DIR

MoCo v2 on CIFAR-10 (solo-learn mocov2plus.yaml): projector Linear-ReLU-Linear
2048 -> 256, temperature 0.2, queue 32768, EMA 0.99 -> 1, symmetrised loss,
SGD lr 0.3, weight decay 1e-4, symmetric views.
"""
from configs import _solo, common


def get_config():
  return _solo.solo_cifar(
      common.method("mocov2", projector=common.head(2048, 256, hidden_bn=False),
                    temperature=0.2, queue_size=32768, ema_momentum=0.99),
      "symmetric_cifar", optimizer="sgd", lr=0.3, weight_decay=1e-4)
