"""python -m ssl_jax.main --config=configs/sce_imagenet.py --workdir=DIR

SCE on ImageNet (eztorch resnet50_imagenet.yaml): ResNet-50, projector 3
layers (4096 hidden, 256 out, BN on every layer), predictor 2 layers (4096
hidden, no biases), λ = 0.5, τ = 0.1, τ_m = 0.07, queue 65536, EMA 0.99 -> 1,
symmetric loss, MoCo v3 / BYOL augmentations, LARS lr 0.3 x batch/256
(trust 0.001, weight decay 1e-6; the yaml asks for decay on BatchNorm and
biases too, but eztorch's LARS decays and adapts only weights of 2 or more
dimensions), 10 warm-up epochs, batch 4096, 200 epochs.
"""
from configs import common


def get_config():
  c = common.base_config()
  c.method = common.method(
      "sce", projector=common.head(4096, 256, 3, last_bn=True, last_bn_affine=False),
      predictor=common.head(4096, 256, 2, last_bias=False), lam=0.5, temperature=0.1,
      temperature_m=0.07,
      temperature_m_start=0.07, temperature_m_warmup_epochs=0.0, queue_size=65536,
      ema_momentum=0.99, symmetric=True)
  c.model.name = "resnet50"
  c.data.name = "imagenet2012"
  c.data.views = "asymmetric_imagenet"
  c.train.batch_size = 4096
  c.train.epochs = 200
  c.optim.name = "lars"
  c.optim.base_lr = 0.3
  c.optim.weight_decay = 1e-6
  c.optim.warmup_epochs = 10.0
  c.optim.end_lr_ratio = 0.0
  c.eval.every_steps = 6250
  c.eval.batch_size = 1024
  c.checkpoint.every_steps = 1000
  return c.lock()
