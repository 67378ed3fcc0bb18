"""python -m ssl_jax.main --config=configs/mira_imagenet100.py --workdir=DIR

MIRA on ImageNet-100 (MIRA Appendix A.4.2, solo-learn's ImageNet-100
setting): the ImageNet settings (configs/mira_imagenet.py) with a ResNet-18,
BYOL's two asymmetric 224 px views, SGD with weight decay 1e-5, lr 0.3 x
batch/256, 10 warm-up epochs from 0, batch 512, 400 epochs.  Linear
evaluation as the appendix: configs/linear_eval.py:mira_lars with
--config.data.name=imagenet100 --config.train.batch_size=1024.
"""
from configs import mira_imagenet


def get_config():
  c = mira_imagenet.get_config()
  with c.unlocked():
    c.model.name = "resnet18"
    c.data.name = "imagenet100"
    c.data.views = "asymmetric_imagenet"
    c.train.batch_size = 512
    c.optim.name = "sgd"
    c.optim.weight_decay = 1e-5
    c.optim.warmup_start_lr = 0.0
    c.eval.every_steps = 10000
  return c
