"""python -m ssl_jax.main --config=configs/sce_cifar100.py --workdir=DIR

SCE on CIFAR-100 (SCE supplement, Sections E and F; 65.45 % in Table 2):
the CIFAR-10 recipe (configs/sce_cifar10.py) with CIFAR-100's best
temperatures of Table 2 (τ = 0.1, τ_m = 0.08), queue 4096 and EMA 0.99
(the supplement's small-dataset values).
"""
from configs import sce_cifar10


def get_config():
  c = sce_cifar10.get_config()
  with c.unlocked():
    c.data.name = "cifar100"
    c.data.views = "sce_cifar"
    c.method.temperature = 0.1
    c.method.temperature_m = 0.08
    c.method.temperature_m_start = 0.08
    c.method.queue_size = 4096
    c.method.ema_momentum = 0.99
    c.eval.every_steps = 7800
    c.checkpoint.every_steps = 1950
  return c
