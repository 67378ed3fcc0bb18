"""python -m ssl_jax.main --config=configs/mocov3_cifar10.py --workdir=DIR

MoCo v3 on CIFAR-10 (solo-learn mocov3.yaml): projector 3 layers 4096 -> 256
with a last BN without affine, predictor 4096 -> 256, temperature 0.2, EMA
0.99 -> 1, LARS lr 0.3, weight decay 1e-5, asymmetric views.
"""
from configs import _solo, common


def get_config():
  return _solo.solo_cifar(
      common.method("mocov3",
                    projector=common.head(4096, 256, 3, last_bn=True, last_bn_affine=False),
                    predictor=common.head(4096, 256), temperature=0.2, ema_momentum=0.99),
      "asymmetric_cifar", lr=0.3, weight_decay=1e-5)
