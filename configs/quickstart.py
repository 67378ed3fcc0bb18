"""python -m ssl_jax.main --config=configs/quickstart.py --workdir=/tmp/ssl_quickstart

INTL on the built-in ``synthetic`` dataset with a narrow ResNet-18 (CIFAR
stem, 1/8 width) at 24 px: a real pretraining run that finishes on a 2-core
CPU in under 10 minutes and lifts k-NN accuracy well above random init.
Nothing is downloaded.
"""
from configs import common


def get_config():
  c = common.base_config()
  c.method = common.intl_method(hidden_dim=256, out_dim=256, num_layers=3)
  c.model.name = "resnet18"
  c.model.width = 0.125
  c.model.stem = "cifar"
  c.data.name = "synthetic"
  c.data.views = "synthetic"
  c.train.batch_size = 128
  c.train.epochs = 6
  c.train.log_every = 20
  c.optim.name = "sgd"
  c.optim.base_lr = 0.5
  c.optim.weight_decay = 1e-5
  c.optim.warmup_epochs = 0.5
  c.eval.every_steps = 100
  c.eval.batch_size = 500
  c.checkpoint.every_steps = 100
  return c.lock()
