"""The ImageNet skeleton of the classic methods' configs: ResNet-50 with the
ImageNet stem on imagenet2012, the official recipe's optimiser, batch and
length; evaluation every 100 epochs, a checkpoint every 1000 steps."""
from configs import common

TRAIN_EXAMPLES = 1281167


def imagenet(method, views, optimizer, lr, weight_decay, batch_size, epochs,
             warmup_epochs=10.0, end_lr_ratio=0.0, exclude_bias_and_norm=True):
  """``lr`` is the base lr at batch 256 (peak = lr x batch_size / 256)."""
  c = common.base_config()
  c.method = method
  c.model.name = "resnet50"
  c.data.name = "imagenet2012"
  c.data.views = views
  c.train.batch_size = batch_size
  c.train.epochs = epochs
  c.optim.name = optimizer
  c.optim.base_lr = lr
  c.optim.weight_decay = weight_decay
  c.optim.warmup_epochs = warmup_epochs
  c.optim.end_lr_ratio = end_lr_ratio
  c.optim.exclude_bias_and_norm = exclude_bias_and_norm
  c.eval.every_steps = 100 * (TRAIN_EXAMPLES // batch_size)
  c.eval.batch_size = 1024
  c.checkpoint.every_steps = 1000
  return c
