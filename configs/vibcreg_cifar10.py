"""python -m ssl_jax.main --config=configs/vibcreg_cifar10.py --workdir=DIR

VIbCReg on CIFAR-10 (solo-learn scripts/pretrain/cifar/vibcreg.yaml and
solo/methods/vibcreg.py): projector 512 -> 2048 -> 2048 -> 2048 (BN, GELU)
ending in IterNorm over 64 groups (T = 5), weights 25 / 25 / 200, LARS lr
0.3, weight decay 1e-4; crops of 20-100 % with solarisation 0.1.
"""
from configs import _solo, common


def get_config():
  return _solo.solo_cifar(
      common.method("vibcreg", projector=common.head(2048, 2048, num_layers=3,
                                                     activation="gelu",
                                                     last_iternorm_groups=64),
                    sim_weight=25.0, var_weight=25.0, cov_weight=200.0),
      "vibcreg_cifar", lr=0.3, weight_decay=1e-4)
