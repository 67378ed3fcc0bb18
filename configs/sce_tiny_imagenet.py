"""python -m ssl_jax.main --config=configs/sce_tiny_imagenet.py --workdir=DIR

SCE on Tiny-ImageNet (SCE supplement, Sections E and F; 51.90 % in Table 2):
the CIFAR-10 recipe (configs/sce_cifar10.py) with Tiny-ImageNet's best
temperatures of Table 2 (τ = 0.1, τ_m = 0.07), queue 16384 and EMA 0.996
(the supplement's medium-dataset values).
64 px views, CIFAR stem.  Tiny-ImageNet is read as a folder dataset:
--config.data.root=DIR with DIR/train/<wnid>/*.JPEG and DIR/val/<wnid>/*.JPEG
(the archive's val/images sorted into class folders by val_annotations.txt).
"""
from configs import sce_cifar10


def get_config():
  c = sce_cifar10.get_config()
  with c.unlocked():
    c.data.name = "folder"
    c.data.views = "sce_tiny_imagenet"
    c.method.temperature = 0.1
    c.method.temperature_m = 0.07
    c.method.temperature_m_start = 0.07
    c.method.queue_size = 16384
    c.method.ema_momentum = 0.996
    c.eval.every_steps = 15600
    c.checkpoint.every_steps = 1950
  return c
