"""python -m ssl_jax.main --config=configs/intl_imagenet.py --workdir=DIR

INTL on ImageNet, ResNet-50 with zero-initialised residual branches as the
reference builds it (INTL Appendix E.2, Table A): 3-layer 8192-d
projector, SGD momentum 0.9, base lr 0.5 (100 epochs; 0.4 for 200/400,
0.3 for 800) x batch/256, weight decay 1e-5, 2 warm-up epochs, cosine, batch
256, BYOL's asymmetric augmentations.  The EMA + multi-crop recipe of Table B
is ``--config.method.ema_momentum=0.996 --config.data.views=intl_multicrop``.
Needs ImageNet prepared with tfds (see the README).
"""
from configs import common


def get_config():
  c = common.base_config()
  c.method = common.intl_method(hidden_dim=8192, out_dim=8192, num_layers=3)
  c.model.name = "resnet50"
  c.model.stem = "imagenet"
  c.model.zero_init_residual = True
  c.data.name = "imagenet2012"
  c.data.views = "asymmetric_imagenet"
  c.train.batch_size = 256
  c.train.epochs = 100
  c.optim.name = "sgd"
  c.optim.base_lr = 0.5
  c.optim.weight_decay = 1e-5
  c.optim.warmup_epochs = 2.0
  c.eval.every_steps = 25000
  c.eval.batch_size = 1024
  c.checkpoint.every_steps = 2500
  return c.lock()
