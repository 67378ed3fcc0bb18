"""DINO's method with main_dino.py's defaults (the ImageNet configs share it):
head to a 256-d bottleneck through 2048-wide GELU layers without BN, 65,536
weight-normalised prototypes frozen for the first epoch, student
temperature 0.1, teacher 0.04 without warm-up, centre momentum 0.9, teacher
EMA 0.996 -> 1."""
from configs import common


def method():
  return common.method(
      "dino", projector=common.head(2048, 256, num_layers=3, hidden_bn=False,
                                    activation="gelu"),
      num_prototypes=65536, student_temp=0.1, teacher_temp=0.04, warmup_teacher_temp=0.04,
      warmup_teacher_temp_epochs=0, center_momentum=0.9, freeze_prototypes_epochs=1.0,
      ema_momentum=0.996)
