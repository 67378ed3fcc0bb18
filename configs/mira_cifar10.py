"""python -m ssl_jax.main --config=configs/mira_cifar10.py --workdir=DIR

MIRA on CIFAR-10 (MIRA Appendix A.4.2; its CIFAR runs use solo-learn's
code): the ImageNet settings with a ResNet-18 (CIFAR stem), SGD with weight
decay 1e-5, lr 0.3 x batch/256, 10 warm-up epochs from 0 (solo-learn's
scheduler, not train.py's 0.3), batch 256, 1000 epochs, no blur and crops of
at least 20 %.  Linear evaluation: the online probe (SGD 0.1, cosine, no
weight decay), as the appendix reports.
"""
from configs import common, mira_imagenet


def get_config():
  c = mira_imagenet.get_config()
  with c.unlocked():
    common.cifar(c, "cifar10", views="mira_cifar")
    c.train.batch_size = 256
    c.train.epochs = 1000
    c.optim.name = "sgd"
    c.optim.weight_decay = 1e-5
    c.optim.warmup_start_lr = 0.0
    c.eval.every_steps = 19500
    c.checkpoint.every_steps = 1950
  return c
