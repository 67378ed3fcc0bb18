"""python -m ssl_jax.main --config=configs/intl_imagenet100.py --workdir=DIR

INTL on ImageNet-100 (INTL Appendix E.3, Table C; scripts/in100.sh):
ResNet-18, 3-layer 4096-d projector, SGD momentum 0.9, lr 0.5 x batch/256,
weight decay 2.5e-5, 2 warm-up epochs, cosine, batch 128, 400 epochs, the
ImageNet augmentations (Table A).  (The official script leaves the output
dimension at its default 8192; Table C says 4096, used here.)
"""
from configs import common


def get_config():
  c = common.base_config()
  c.method = common.intl_method(hidden_dim=4096, out_dim=4096, num_layers=3)
  c.model.name = "resnet18"
  c.data.name = "imagenet100"
  c.data.views = "asymmetric_imagenet"
  c.train.batch_size = 128
  c.train.epochs = 400
  c.optim.base_lr = 0.5
  c.optim.weight_decay = 2.5e-5
  c.optim.warmup_epochs = 2.0
  c.eval.every_steps = 20000
  c.checkpoint.every_steps = 2000
  return c.lock()
