"""python -m ssl_jax.main --config=configs/sce_imagenet100.py --workdir=DIR

SCE on ImageNet-100 (the CMC classes of the SCE supplement, Table 1) with
the supplement's medium-dataset recipe (Section E): ResNet-18, projector 2
layers (512 hidden, 256 out), the one-directional loss of the supplement's
pseudo-code (online on the weak view, momentum encoder on the strong one),
λ = 0.5, τ = 0.1 and a sharper τ_m = 0.05 (Section F), queue 16384, EMA
0.996, SGD momentum 0.9, weight decay 5e-4, lr 0.06 x batch/256, 5 warm-up
epochs, cosine, batch 256, 200 epochs.
"""
from configs import common


def get_config():
  c = common.base_config()
  c.method = common.method(
      "sce", projector=common.head(512, 256, 2), predictor=None, lam=0.5, temperature=0.1,
      temperature_m=0.05, temperature_m_start=0.05, temperature_m_warmup_epochs=0.0,
      queue_size=16384, ema_momentum=0.996, symmetric=False)
  c.model.name = "resnet18"
  c.data.name = "imagenet100"
  c.data.views = "sce_imagenet"
  c.train.batch_size = 256
  c.train.epochs = 200
  c.optim.name = "sgd"
  c.optim.base_lr = 0.06
  c.optim.weight_decay = 5e-4
  c.optim.warmup_epochs = 5.0
  c.optim.end_lr_ratio = 0.0
  c.eval.every_steps = 10000
  c.checkpoint.every_steps = 1000
  return c.lock()
