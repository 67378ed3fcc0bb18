"""python -m ssl_jax.main --config=configs/swav_cifar10.py --workdir=DIR

SwAV on CIFAR-10 (solo-learn swav.yaml): projector 2048 -> 128, 3000
prototypes renormalised every step and frozen for 2 epochs, temperature 0.1,
ε = 0.05, 3 Sinkhorn iterations, LARS lr 0.6, weight decay 1e-6, symmetric
views.  (solo-learn adds a 3840-entry queue from epoch 50; not used here.)
"""
from configs import _solo, common


def get_config():
  return _solo.solo_cifar(
      common.method("swav", projector=common.head(2048, 128), num_prototypes=3000,
                    temperature=0.1, epsilon=0.05, sinkhorn_iters=3,
                    freeze_prototypes_epochs=2.0),
      "symmetric_cifar", lr=0.6, weight_decay=1e-6)
