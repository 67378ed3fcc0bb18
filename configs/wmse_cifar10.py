"""python -m ssl_jax.main --config=configs/wmse_cifar10.py --workdir=DIR

W-MSE on CIFAR-10 (Ermolov et al., official CIFAR settings): projector 1024
-> 64, whitening in sub-batches of 128, one split per step, AdamW lr 3e-3 x
batch/256, weight decay 1e-6, symmetric views, gradients into both views of
each pair (``--config.method.detach_second=true``: solo-learn's simplified
loss).  (The reference decays the lr
in steps at the last 50 and 25 epochs; here: warm-up and cosine.)
"""
from configs import _solo, common


def get_config():
  c = _solo.solo_cifar(
      common.method("wmse", projector=common.head(1024, 64), whiten_size=128,
                    whiten_iters=1, eps=0.0, detach_second=False),
      "symmetric_cifar", optimizer="adamw", lr=3e-3, weight_decay=1e-6)
  with c.unlocked():
    c.optim.warmup_epochs = 2.5  # the reference's 500 iterations at batch 256
  return c
