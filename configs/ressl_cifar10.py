"""python -m ssl_jax.main --config=configs/ressl_cifar10.py --workdir=DIR

ReSSL on CIFAR-10 (solo-learn scripts/pretrain/cifar/ressl.yaml and
augmentations/ressl.yaml): projector 512 -> 4096 -> 256 (ReLU, no BN),
τ 0.1 for the student and 0.04 for the teacher, a 65,536-key queue, teacher
EMA 0.99 -> 1, SGD lr 0.05, weight decay 1e-4; a strong view for the student,
a crop-and-flip view for the teacher.
"""
from configs import _solo, common


def get_config():
  return _solo.solo_cifar(
      common.method("ressl", projector=common.head(4096, 256, hidden_bn=False),
                    temperature=0.1, temperature_m=0.04, queue_size=65536, ema_momentum=0.99),
      "ressl_cifar", optimizer="sgd", lr=0.05, weight_decay=1e-4)
