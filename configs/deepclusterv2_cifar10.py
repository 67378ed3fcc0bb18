"""python -m ssl_jax.main --config=configs/deepclusterv2_cifar10.py --workdir=DIR

DeepCluster v2 on CIFAR-10 (solo-learn scripts/pretrain/cifar/deepclusterv2.yaml):
projector 2048 -> 128, three heads of 3000 k-means centroids, temperature
0.1, 10 k-means iterations, LARS lr 0.6 warmed up over 11 epochs and
decayed to 0.0006, weight decay 1e-6, symmetric views.
"""
from configs import _solo, common


def get_config():
  c = _solo.solo_cifar(
      common.method("deepclusterv2", projector=common.head(2048, 128),
                    num_prototypes=(3000, 3000, 3000), temperature=0.1, kmeans_iters=10),
      "symmetric_cifar", lr=0.6, weight_decay=1e-6)
  c.optim.warmup_epochs, c.optim.end_lr_ratio = 11.0, 0.001
  return c
