"""python -m ssl_jax.main --config=configs/nnclr_cifar10.py --workdir=DIR

NNCLR on CIFAR-10 (solo-learn scripts/pretrain/cifar/nnclr.yaml and
solo/methods/nnclr.py): projector 512 -> 2048 -> 2048 -> 256 with BatchNorm
after every Linear (the last too), predictor 256 -> 4096 -> 256, temperature
0.2, a 65,536-entry support set, LARS lr 0.4, weight decay 1e-5, the
asymmetric views.
"""
from configs import _solo, common


def get_config():
  return _solo.solo_cifar(
      common.method("nnclr", projector=common.head(2048, 256, num_layers=3, last_bn=True),
                    predictor=common.head(4096, 256), temperature=0.2, queue_size=65536),
      "asymmetric_cifar", lr=0.4, weight_decay=1e-5)
