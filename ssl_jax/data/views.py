"""Augmentation presets as data: one ``ViewSpec`` per view.

The host side reads ``size``, ``min_scale``, ``max_scale`` and
``flip_prob`` (random resized crop and flip, in tf.data); the device side
reads the photometric fields (inside the jitted step).  Probabilities and
strengths follow torchvision's semantics, which the PyTorch references use.
"""
import dataclasses
from typing import Tuple

from ssl_jax.registry import Registry


@dataclasses.dataclass(frozen=True)
class ViewSpec:
  """One augmented view of an image."""
  size: int
  min_scale: float = 0.08
  max_scale: float = 1.0
  flip_prob: float = 0.5
  jitter_prob: float = 0.8
  brightness: float = 0.4
  contrast: float = 0.4
  saturation: float = 0.2
  hue: float = 0.1
  gray_prob: float = 0.2
  blur_prob: float = 0.0
  blur_sigma: Tuple[float, float] = (0.1, 2.0)
  solarize_prob: float = 0.0

  def __post_init__(self):
    if self.size < 1:
      raise ValueError(f"view size must be >= 1, got {self.size}")
    if not 0 < self.min_scale <= self.max_scale <= 1:
      raise ValueError("view scales need 0 < min_scale <= max_scale <= 1, got "
                       f"({self.min_scale}, {self.max_scale})")
    for name in ("flip_prob", "jitter_prob", "gray_prob", "blur_prob", "solarize_prob"):
      if not 0 <= getattr(self, name) <= 1:
        raise ValueError(f"{name} must be in [0, 1], got {getattr(self, name)}")
    if not 0 <= self.hue <= 0.5:
      raise ValueError(f"hue jitter must be in [0, 0.5], got {self.hue}")


@dataclasses.dataclass(frozen=True)
class ViewSet:
  """The views of one training example; the first ``num_global`` are global
  crops (the ones an EMA teacher sees)."""
  views: Tuple[ViewSpec, ...]
  num_global: int = 2

  def __post_init__(self):
    if not 1 <= self.num_global <= len(self.views):
      raise ValueError(f"num_global={self.num_global} with {len(self.views)} views")

  def __len__(self):
    return len(self.views)


# INTL Table A (BYOL's asymmetric T1/T2), ImageNet and ImageNet-100.
_T1 = ViewSpec(size=224, blur_prob=1.0, solarize_prob=0.0)
_T2 = ViewSpec(size=224, blur_prob=0.1, solarize_prob=0.2)
INTL_IMAGENET = ViewSet((_T1, _T2))

# INTL Table B: 2x224 + 192 + 160 + 128 + 96 with matched scale ranges.
INTL_MULTICROP = ViewSet(tuple(
    ViewSpec(size=s, min_scale=lo, max_scale=hi, blur_prob=0.5, solarize_prob=0.1)
    for s, lo, hi in [(224, 0.2, 1.0), (224, 0.2, 1.0), (192, 0.171, 0.857),
                      (160, 0.143, 0.714), (128, 0.114, 0.571), (96, 0.086, 0.429)]))

# INTL Table F: CIFAR-10/100, 32 px, no blur, solarize only on T2.
INTL_CIFAR = ViewSet((ViewSpec(size=32, solarize_prob=0.0),
                      ViewSpec(size=32, solarize_prob=0.2)))

# The built-in ``synthetic`` data: colour is a pure nuisance there, so the
# jitter randomises hue fully and the crops keep most of the shape in view.
_SYNTHETIC = ViewSpec(size=24, min_scale=0.35, jitter_prob=0.8, brightness=0.4,
                      contrast=0.4, saturation=0.6, hue=0.5, gray_prob=0.2)
SYNTHETIC = ViewSet((_SYNTHETIC, dataclasses.replace(_SYNTHETIC, solarize_prob=0.2)))

VIEW_PRESETS = Registry("view preset", {
    "intl_imagenet": INTL_IMAGENET,
    "intl_multicrop": INTL_MULTICROP,
    "intl_cifar": INTL_CIFAR,
    "synthetic": SYNTHETIC,
})
