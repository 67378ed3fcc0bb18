"""python -m ssl_jax.main --config=configs/sce_cifar10.py --workdir=DIR

SCE on CIFAR-10 (SCE supplement, Sections E and F; 90.34 % in Table 2):
the small-dataset recipe, ResNet-18 (CIFAR stem), projector 2 layers (512
hidden, 256 out), one-directional loss on strong/weak 32 px views, λ = 0.5,
the best CIFAR-10 temperatures of Table 2 (τ = 0.2, τ_m = 0.1), queue
4096, EMA 0.99, SGD momentum 0.9, weight decay 5e-4, lr 0.06 x batch/256,
5 warm-up epochs, cosine, batch 256, 200 epochs.
"""
from configs import common, sce_imagenet100


def get_config():
  c = sce_imagenet100.get_config()
  with c.unlocked():
    common.cifar(c, "cifar10", views="sce_cifar")
    c.method.temperature = 0.2
    c.method.temperature_m = 0.1
    c.method.temperature_m_start = 0.1
    c.method.queue_size = 4096
    c.method.ema_momentum = 0.99
    c.eval.every_steps = 7800
    c.checkpoint.every_steps = 1950
  return c
