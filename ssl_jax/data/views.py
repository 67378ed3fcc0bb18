"""Augmentation presets as data: one ``ViewSpec`` per view.

The host side reads ``size``, ``min_scale``, ``max_scale`` and
``flip_prob`` (random resized crop and flip, in tf.data); the device side
reads the photometric fields (inside the jitted step).  Probabilities and
strengths follow torchvision's semantics, which the PyTorch references use.
"""
import dataclasses
from typing import Optional, Tuple

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
  crops (the ones an EMA teacher sees).  ``canvas``: None, the host cuts
  the views; else the side of the canvas each image is decoded into for the
  accelerator to cut them (``augment_host.canvas_views``)."""
  views: Tuple[ViewSpec, ...]
  num_global: int = 2
  canvas: Optional[int] = None

  def __post_init__(self):
    if not 1 <= self.num_global <= len(self.views):
      raise ValueError(f"num_global={self.num_global} with {len(self.views)} views")
    largest = max(v.size for v in self.views)
    if self.canvas is not None and self.canvas < largest:
      raise ValueError(f"the crop canvas ({self.canvas} px) must hold the largest "
                       f"view ({largest} px)")

  def __len__(self):
    return len(self.views)

  def resized(self, size):
    """The views with the first at ``size`` px and the others scaled with it
    (local crops keep their ratio to the global ones); None: unchanged."""
    if size is None or size == self.views[0].size:
      return self
    ratio = size / self.views[0].size
    return dataclasses.replace(self, views=tuple(
        dataclasses.replace(v, size=max(1, round(v.size * ratio))) for v in self.views))


def _asymmetric(size, min_scale, saturation=0.2):
  """BYOL's T1/T2 (INTL Table A): blur 1.0 / 0.1, solarize 0 / 0.2."""
  t1 = ViewSpec(size=size, min_scale=min_scale, saturation=saturation, blur_prob=1.0)
  return (t1, dataclasses.replace(t1, blur_prob=0.1, solarize_prob=0.2))


def _asymmetric_small(size, min_scale):
  """The CIFAR form (INTL Table F; MIRA's CIFARTransform): no blur."""
  t1 = ViewSpec(size=size, min_scale=min_scale)
  return (t1, dataclasses.replace(t1, solarize_prob=0.2))


def _local(size, min_scale, max_scale, count, blur_prob=0.5, solarize_prob=0.0):
  return tuple(ViewSpec(size=size, min_scale=min_scale, max_scale=max_scale,
                        blur_prob=blur_prob, solarize_prob=solarize_prob)
               for _ in range(count))


# MoCo v2's aug+ (and SimSiam's) symmetric views: jitter (0.4, 0.4, 0.4, 0.1)
# with p 0.8, grey 0.2, blur 0.5 at ImageNet scale, none at 32 px.
_SYM_IMAGENET = ViewSpec(size=224, saturation=0.4, blur_prob=0.5)
_SYM_SMALL = ViewSpec(size=32, saturation=0.4)
# SimCLR's colour distortion of strength 1 (jitter (0.8, 0.8, 0.8, 0.2) p 0.8,
# grey 0.2) with blur 0.5; SwAV and W-MSE's ImageNet views use it too.
_STRONG_IMAGENET = ViewSpec(size=224, brightness=0.8, contrast=0.8, saturation=0.8,
                            hue=0.2, blur_prob=0.5)

# SCE (supplement E): strong = crop, colour distortion 0.5, grey 0.2, blur 0.5,
# flip, at every size; weak = crop and flip only.  View 0 is strong, view 1 weak.
_SCE_STRONG = ViewSpec(size=224, min_scale=0.2, saturation=0.4, blur_prob=0.5)
_SCE_WEAK = dataclasses.replace(_SCE_STRONG, jitter_prob=0.0, gray_prob=0.0, blur_prob=0.0)

# MIO (miossl's MIOTransform, s = 0.5): crop scale 0.8-1, jitter (0.4, 0.4,
# 0.4, 0.1) p 0.8, grey 0.2; above 32 px also blur 0.5 and solarize 0.2.
# The paper's Table 3 lists solarisation at every size ("mio_cifar_table3").
_MIO = ViewSpec(size=32, min_scale=0.8, saturation=0.4)

# The built-in ``synthetic`` data: colour is a pure nuisance there, so the
# jitter randomises hue fully and the crops keep most of the shape in view.
_SYNTHETIC = ViewSpec(size=24, min_scale=0.35, jitter_prob=0.8, brightness=0.4,
                      contrast=0.4, saturation=0.6, hue=0.5, gray_prob=0.2)


def _crop_and_flip(size, min_scale=0.08, flip_prob=0.5):
  """Linear evaluation and fine-tuning: random resized crop and flip only."""
  return ViewSet((ViewSpec(size=size, min_scale=min_scale, flip_prob=flip_prob,
                           jitter_prob=0.0, gray_prob=0.0),), num_global=1)


VIEW_PRESETS = Registry("view preset", {
    # BYOL / INTL (Table A), ImageNet and ImageNet-100.
    "asymmetric_imagenet": ViewSet(_asymmetric(224, 0.08)),
    # INTL Table F and BYOL-style CIFAR recipes (solo-learn).
    "asymmetric_cifar": ViewSet(_asymmetric_small(32, 0.08)),
    # MIRA's CIFAR transform: as above with crops of at least 20 %.
    "mira_cifar": ViewSet(_asymmetric_small(32, 0.2)),
    # INTL Table B: 2x224 + 192 + 160 + 128 + 96 with matched scale ranges.
    "intl_multicrop": ViewSet(tuple(
        ViewSpec(size=s, min_scale=lo, max_scale=hi, blur_prob=0.5, solarize_prob=0.1)
        for s, lo, hi in [(224, 0.2, 1.0), (224, 0.2, 1.0), (192, 0.171, 0.857),
                          (160, 0.143, 0.714), (128, 0.114, 0.571), (96, 0.086, 0.429)])),
    # MIRA / DINO: 2 global crops (scale 0.14-1, BYOL blur/solarize) + 6 x 96.
    "mira_multicrop": ViewSet(_asymmetric(224, 0.14) + _local(96, 0.05, 0.14, 6)),
    # DINO's DataAugmentationDINO with main_dino.py's defaults (the ViT
    # recipe): 2 x 224 (0.4-1, BYOL's blur/solarize) + 8 x 96 (0.05-0.4, blur 0.5).
    "dino_multicrop": ViewSet(_asymmetric(224, 0.4) + _local(96, 0.05, 0.4, 8)),
    # iBOT's DataAugmentationiBOT (DINO's) with the README's ViT commands:
    # 2 x 224 (0.25-1) + 10 x 96 (0.05-0.25).
    "ibot_multicrop": ViewSet(_asymmetric(224, 0.25) + _local(96, 0.05, 0.25, 10)),
    # DINO's ResNet-50 command (README): global 0.14-1, local 0.05-0.14.
    "dino_resnet_multicrop": ViewSet(_asymmetric(224, 0.14) + _local(96, 0.05, 0.14, 8)),
    # SwAV (main_swav.py): 2 x 224 (0.14-1) + 6 x 96 (0.05-0.14), colour
    # distortion of strength 1 and blur 0.5 on every crop.
    "swav_multicrop": ViewSet(
        (dataclasses.replace(_STRONG_IMAGENET, min_scale=0.14),) * 2
        + (dataclasses.replace(_STRONG_IMAGENET, size=96, min_scale=0.05, max_scale=0.14),)
        * 6),
    "symmetric_imagenet": ViewSet((_SYM_IMAGENET, _SYM_IMAGENET)),
    "simclr_imagenet": ViewSet((_STRONG_IMAGENET, _STRONG_IMAGENET)),
    # MoCo v2's aug+ and SimSiam: crops of at least 20 %.
    "mocov2_imagenet": ViewSet((dataclasses.replace(_SYM_IMAGENET, min_scale=0.2),) * 2),
    # MoCo v3 (main_moco.py --crop-min=.2): BYOL's views, crops of at least 20 %.
    "mocov3_imagenet": ViewSet(_asymmetric(224, 0.2)),
    "symmetric_cifar": ViewSet((_SYM_SMALL, _SYM_SMALL)),
    # W-MSE's CIFAR defaults (htdt/self-supervised cfg.py): crops 0.2-1, grey 0.1.
    "wmse_cifar": ViewSet((dataclasses.replace(_SYM_SMALL, min_scale=0.2, gray_prob=0.1),) * 2),
    "sce_imagenet": ViewSet((_SCE_STRONG, _SCE_WEAK)),
    "sce_cifar": ViewSet((dataclasses.replace(_SCE_STRONG, size=32),
                          dataclasses.replace(_SCE_WEAK, size=32))),
    "sce_stl10": ViewSet((dataclasses.replace(_SCE_STRONG, size=96),
                          dataclasses.replace(_SCE_WEAK, size=96))),
    "sce_tiny_imagenet": ViewSet((dataclasses.replace(_SCE_STRONG, size=64),
                                  dataclasses.replace(_SCE_WEAK, size=64))),
    # ReSSL (solo-learn augmentations/ressl.yaml): a strong view (jitter
    # (0.4, 0.4, 0.2, 0.1) p 0.8, grey 0.2, blur 0.5) and the teacher's weak one
    # (crop and flip only).
    "ressl_cifar": ViewSet((ViewSpec(size=32, blur_prob=0.5),
                            ViewSpec(size=32, jitter_prob=0.0, gray_prob=0.0))),
    # VIbCReg (solo-learn vibcreg.yaml): crops 0.2-1, solarize 0.1, no blur.
    "vibcreg_cifar": ViewSet((ViewSpec(size=32, min_scale=0.2, solarize_prob=0.1),) * 2),
    "mio_cifar": ViewSet((_MIO, _MIO)),
    "mio_cifar_table3": ViewSet((dataclasses.replace(_MIO, solarize_prob=0.2),) * 2),
    "mio_stl10": ViewSet((dataclasses.replace(_MIO, size=96, blur_prob=0.5,
                                              solarize_prob=0.2),) * 2),
    # MAE (main_pretrain.py): one crop (20-100 %, bicubic there) and flip.
    "mae_imagenet": _crop_and_flip(224, min_scale=0.2),
    "mae_synthetic": _crop_and_flip(24, min_scale=0.35),
    "synthetic": ViewSet((_SYNTHETIC, dataclasses.replace(_SYNTHETIC, solarize_prob=0.2))),
    # ReSSL's pair at the same crops: the student's strong view, the teacher's
    # crop-and-flip view.
    "synthetic_weak_teacher": ViewSet((_SYNTHETIC, dataclasses.replace(
        _SYNTHETIC, jitter_prob=0.0, gray_prob=0.0))),
    # One view for supervised training on top of a pretrained backbone.
    "linear_imagenet": _crop_and_flip(224),
    "linear_cifar": _crop_and_flip(32),
    "linear_stl10": _crop_and_flip(96),
    # miossl's linear classifier: crops of 80-100 %, no flip.
    "linear_mio_cifar": _crop_and_flip(32, min_scale=0.8, flip_prob=0.0),
    "linear_mio_stl10": _crop_and_flip(96, min_scale=0.8, flip_prob=0.0),
    "linear_synthetic": _crop_and_flip(24, min_scale=0.35),
})


def views_of(data_config) -> ViewSet:
  """The views ``config.data`` asks for: the preset ``data.views`` at
  ``data.view_size``, cut on the accelerator from ``data.crop_canvas``
  (keys absent in older configs and in the evaluation jobs' mean None)."""
  views = VIEW_PRESETS.lookup(data_config.views, "data.views").resized(
      data_config.get("view_size"))
  return dataclasses.replace(views, canvas=data_config.get("crop_canvas"))
