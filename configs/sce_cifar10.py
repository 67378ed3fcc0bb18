"""python -m ssl_jax.main --config=configs/sce_cifar10.py --workdir=DIR

SCE on CIFAR-10 (SCE supplement, Sections E and F; 90.34 % in Table 2):
the small-dataset recipe, ResNet-18 (CIFAR stem), projector 2 layers (512
hidden, 256 out), one-directional loss on strong/weak 32 px views, λ = 0.5,
the best CIFAR-10 temperatures of Table 2 (τ = 0.2, τ_m = 0.1), queue
4096, EMA 0.99, SGD momentum 0.9, weight decay 5e-4, lr 0.06 x batch/256,
5 warm-up epochs, cosine, batch 256, 200 epochs.
"""
from configs import common, sce_imagenet100


def small_dataset(dataset, views, temperature, temperature_m, queue_size, ema_momentum,
                  eval_every, checkpoint_every):
  """The supplement's recipe (Section E) on a small or medium dataset:
  ResNet-18 with the CIFAR stem and that dataset's settings."""
  c = sce_imagenet100.get_config()
  with c.unlocked():
    common.cifar(c, dataset, views=views)
    c.method.temperature = temperature
    c.method.temperature_m = temperature_m
    c.method.temperature_m_start = temperature_m
    c.method.queue_size = queue_size
    c.method.ema_momentum = ema_momentum
    c.eval.every_steps = eval_every
    c.checkpoint.every_steps = checkpoint_every
  return c


def get_config():
  return small_dataset("cifar10", "sce_cifar", 0.2, 0.1, 4096, 0.99, 7800, 1950)
