"""python -m ssl_jax.main --config=configs/intl_cifar10.py --workdir=DIR

INTL on CIFAR-10, ResNet-18 with the CIFAR stem (INTL Appendix E.3, Tables
E and F): 3-layer 2048-d projector, SGD momentum 0.9, lr 0.3 at batch 256,
weight decay 1e-4 on every parameter (the reference's CIFAR script decays
biases and BatchNorm too), 2 warm-up epochs, cosine, 1000 epochs.
Evaluation as in the paper's k-NN (here the weighted k = 20 variant during
training).
"""
from configs import common


def get_config():
  c = common.base_config()
  c.method = common.intl_method(hidden_dim=2048, out_dim=2048, num_layers=3)
  c.model.name = "resnet18"
  c.model.stem = "cifar"
  c.data.name = "cifar10"
  c.data.views = "asymmetric_cifar"
  c.train.batch_size = 256
  c.train.epochs = 1000
  c.optim.name = "sgd"
  c.optim.base_lr = 0.3
  c.optim.weight_decay = 1e-4
  c.optim.exclude_bias_and_norm = False
  c.optim.warmup_epochs = 2.0
  c.eval.every_steps = 19500
  c.checkpoint.every_steps = 1950
  return c.lock()
