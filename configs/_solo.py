"""The shared solo-learn CIFAR recipe of the classic methods' configs:
ResNet-18 (CIFAR stem), batch 256, 1000 epochs, 10 warm-up epochs, cosine to
0, LARS with trust coefficient 0.02 and no decay or adaptation on BN and
biases, as in solo-learn's scripts/pretrain/cifar/*.yaml."""
from configs import common


def solo_cifar(method, views, optimizer="lars", lr=0.3, weight_decay=1e-4):
  c = common.cifar(common.base_config(), "cifar10", views)
  c.method = method
  c.train.batch_size = 256
  c.train.epochs = 1000
  c.optim.name = optimizer
  c.optim.base_lr = lr
  c.optim.weight_decay = weight_decay
  c.optim.trust_coefficient = 0.02
  c.optim.warmup_epochs = 10.0
  c.optim.end_lr_ratio = 0.0
  c.eval.every_steps = 19500
  c.checkpoint.every_steps = 1950
  return c.lock()
