"""python -m ssl_jax.main --config=configs/dino_cifar10.py --workdir=DIR

DINO on CIFAR-10 (solo-learn scripts/pretrain/cifar/dino.yaml and the
defaults of solo/methods/dino.py): head 512 -> 2048 -> 2048 -> 256 (GELU,
no BN), 4096 weight-normalised prototypes frozen for the first epoch,
student temperature 0.1, teacher 0.07 throughout (warm-up of 0 epochs),
centre momentum 0.9, teacher EMA 0.9995 -> 1, no gradient clipping, LARS lr
0.3, weight decay 1e-6, the asymmetric views.
"""
from configs import _solo, common


def get_config():
  return _solo.solo_cifar(
      common.method("dino", projector=common.head(2048, 256, num_layers=3, hidden_bn=False,
                                                  activation="gelu"),
                    num_prototypes=4096, student_temp=0.1, teacher_temp=0.07,
                    warmup_teacher_temp=0.07, warmup_teacher_temp_epochs=0,
                    center_momentum=0.9, freeze_prototypes_epochs=1.0, ema_momentum=0.9995),
      "asymmetric_cifar", lr=0.3, weight_decay=1e-6)
