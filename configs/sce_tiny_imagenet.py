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
  return sce_cifar10.small_dataset("folder", "sce_tiny_imagenet", 0.1, 0.07, 16384, 0.996, 15600, 1950)
