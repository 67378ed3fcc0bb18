"""python -m ssl_jax.main --config=configs/intl_imagenet.py[:EPOCHS] --workdir=DIR

INTL on ImageNet, ResNet-50 with zero-initialised residual branches as the
reference builds it (INTL Appendix E.2, Table A): 3-layer 8192-d
projector, SGD momentum 0.9, weight decay 1e-5, 2 warm-up epochs, cosine,
batch 256, BYOL's asymmetric augmentations.  EPOCHS (100, 200, 400 or 800;
default 100) sets the run's length and its base lr x batch/256 as the
official scripts do (winci-ai/INTL scripts/ep100_multi-crop_ema.sh: 0.5,
ep200_/ep400_multi-crop_ema.sh: 0.4, ep800.sh and ep800_multi-crop_ema.sh:
0.3); Table A's 0.5 is the 100-epoch setting.  The EMA + multi-crop recipe
of Table B is ``--config.method.ema_momentum=0.996
--config.data.views=intl_multicrop``.  Needs ImageNet prepared with tfds
(see the README).
"""
from configs import common

# Epochs -> base lr of the official ImageNet scripts (see above).
BASE_LR = {100: 0.5, 200: 0.4, 400: 0.4, 800: 0.3}


def get_config(epochs="100"):
  c = common.base_config()
  c.method = common.intl_method(hidden_dim=8192, out_dim=8192, num_layers=3)
  c.model.name = "resnet50"
  c.model.stem = "imagenet"
  c.model.zero_init_residual = True
  c.data.name = "imagenet2012"
  c.data.views = "asymmetric_imagenet"
  c.train.batch_size = 256
  if int(epochs) not in BASE_LR:
    raise ValueError(f"intl_imagenet has no {epochs}-epoch recipe; choose one of: "
                     f"{', '.join(map(str, BASE_LR))}")
  c.train.epochs = int(epochs)
  c.optim.name = "sgd"
  c.optim.base_lr = BASE_LR[int(epochs)]
  c.optim.weight_decay = 1e-5
  c.optim.warmup_epochs = 2.0
  c.eval.every_steps = 25000
  c.eval.batch_size = 1024
  c.checkpoint.every_steps = 2500
  return c.lock()
