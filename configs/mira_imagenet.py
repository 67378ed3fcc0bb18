"""python -m ssl_jax.main --config=configs/mira_imagenet.py --workdir=DIR

MIRA on ImageNet (official train.py defaults; MIRA Appendix A.4.1):
ResNet-50 with zero-initialised residual branches, 3-layer projector (2048 hidden, 256 out), 3000 weight-normalised
prototypes shared with the EMA teacher and frozen for the first epoch,
τ_s = 0.1, τ_t = 0.225, β cosine 0.75 -> 2/3, 30 fixed-point iterations,
EMA 0.99 -> 1, LARS lr 0.3 x batch/256, weight decay 1e-6 (not on BN and
biases), 10 warm-up epochs starting at lr 0.3 (train.py's
--warm-up-start-lr, not batch-scaled), batch 4096, 400 epochs, 2x224 + 6x96
crops.  Evaluate the EMA backbone, as the paper does.  β starts at 0.75 as
train.py's default; the appendix (A.4.1) says 0.7.
"""
from configs import common


def get_config():
  c = common.base_config()
  c.method = common.method(
      "mira", projector=common.head(2048, 256, 3), num_prototypes=3000, tau_s=0.1,
      tau_t=0.225, beta_start=0.75, beta_end=2.0 / 3.0, iters=30, ema_momentum=0.99,
      freeze_prototypes_epochs=1.0)
  c.model.name = "resnet50"
  c.model.zero_init_residual = True
  c.data.name = "imagenet2012"
  c.data.views = "mira_multicrop"
  c.train.batch_size = 4096
  c.train.epochs = 400
  c.optim.name = "lars"
  c.optim.base_lr = 0.3
  c.optim.weight_decay = 1e-6
  c.optim.warmup_epochs = 10.0
  c.optim.warmup_start_lr = 0.3
  c.optim.end_lr_ratio = 0.0
  c.eval.use_ema = True
  c.eval.every_steps = 12500
  c.eval.batch_size = 1024
  c.checkpoint.every_steps = 1000
  return c.lock()
