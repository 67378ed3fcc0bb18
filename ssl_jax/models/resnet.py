"""ResNet-18/50 backbones (He et al. 2016, torchvision layout) in Flax.

Inputs are [G, N, H, W, 3] (see ``batchnorm.py`` for the group axis) and the
output is the global-average-pooled feature [G, N, C].  In between the
activations are [N, G, H, W, C], example-major, so the convolutions merge
the two batch axes without gathering a batch split over devices
(``batch_axes``).  Two stems:
``"imagenet"`` (7x7/2 conv + 3x3/2 max-pool) and ``"cifar"`` (3x3/1 conv, no
pool), as in the INTL and solo-learn code for 32 px images.  Padding is
explicit so shapes and receptive fields match PyTorch exactly.
"""
import functools
from typing import Any, Sequence

import flax.linen as nn
import jax.numpy as jnp

from ssl_jax.models import batch_axes
from ssl_jax.models.batchnorm import BatchNorm

STEMS = ("imagenet", "cifar")

# torchvision: kaiming_normal_(mode="fan_out", nonlinearity="relu"), untruncated.
conv_init = nn.initializers.variance_scaling(2.0, "fan_out", "normal")


def _conv(features, kernel, stride=1, dtype=jnp.float32, name=None):
  pad = kernel // 2
  return nn.Conv(features, (kernel, kernel), (stride, stride),
                 padding=((pad, pad), (pad, pad)), use_bias=False,
                 kernel_init=conv_init, dtype=dtype, name=name)


def _last_norm_init(zero_init_residual):
  """The residual branch's last BatchNorm scale: 0 with torchvision's
  ``zero_init_residual`` (each block starts as the identity), else 1."""
  return nn.initializers.zeros if zero_init_residual else nn.initializers.ones


class BasicBlock(nn.Module):
  """Two 3x3 convs; ResNet-18/34.  [N, G, H, W, C] -> [N, G, H', W', C']."""
  features: int
  stride: int = 1
  dtype: Any = jnp.float32
  zero_init_residual: bool = False
  expansion = 1

  @nn.compact
  def __call__(self, x, train):
    norm = functools.partial(BatchNorm, dtype=self.dtype, group_axis=1)
    y = _conv(self.features, 3, self.stride, self.dtype)(x)
    y = nn.relu(norm()(y, train))
    y = _conv(self.features, 3, 1, self.dtype)(y)
    y = norm(scale_init=_last_norm_init(self.zero_init_residual))(y, train)
    if x.shape != y.shape:
      x = norm()(_conv(self.features, 1, self.stride, self.dtype)(x), train)
    return nn.relu(x + y)


class BottleneckBlock(nn.Module):
  """1x1 - 3x3 (strided, torchvision v1.5) - 1x1 x4; ResNet-50.
  [N, G, H, W, C] -> [N, G, H', W', 4 * features]."""
  features: int
  stride: int = 1
  dtype: Any = jnp.float32
  zero_init_residual: bool = False
  expansion = 4

  @nn.compact
  def __call__(self, x, train):
    norm = functools.partial(BatchNorm, dtype=self.dtype, group_axis=1)
    y = nn.relu(norm()(_conv(self.features, 1, 1, self.dtype)(x), train))
    y = nn.relu(norm()(_conv(self.features, 3, self.stride, self.dtype)(y), train))
    last_norm = norm(scale_init=_last_norm_init(self.zero_init_residual))
    y = last_norm(_conv(self.features * 4, 1, 1, self.dtype)(y), train)
    if x.shape != y.shape:
      x = norm()(_conv(self.features * 4, 1, self.stride, self.dtype)(x), train)
    return nn.relu(x + y)


class ResNet(nn.Module):
  """ResNet backbone returning pooled features.

  Attributes:
    stage_sizes: blocks per stage, e.g. (2, 2, 2, 2) for ResNet-18.
    block: BasicBlock or BottleneckBlock.
    width: width multiplier on the 64-channel base (0.125 gives 8 channels).
    stem: "imagenet" or "cifar".
    dtype: computation dtype of convolutions (parameters stay float32).
    zero_init_residual: start each residual branch's last BatchNorm scale
      at 0 (torchvision's option; MIRA's and INTL's ResNet-50 use it).
  """
  stage_sizes: Sequence[int]
  block: Any
  width: float = 1.0
  stem: str = "imagenet"
  dtype: Any = jnp.float32
  zero_init_residual: bool = False

  @property
  def num_features(self):
    return self.base_width * 2 ** (len(self.stage_sizes) - 1) * self.block.expansion

  @property
  def base_width(self):
    return max(1, int(round(64 * self.width)))

  @nn.compact
  def __call__(self, x, train: bool = True):
    """x: [G, N, H, W, 3] float -> [G, N, num_features] float32."""
    if self.stem not in STEMS:
      raise ValueError(f"unknown stem {self.stem!r}; valid stems: {', '.join(STEMS)}")
    if x.ndim != 5:
      raise ValueError(f"a ResNet takes [G, N, H, W, 3], got shape {x.shape}")
    x = batch_axes.examples_first(x.astype(self.dtype), 2)
    stem_bn = BatchNorm(dtype=self.dtype, group_axis=1, name="stem_bn")
    if self.stem == "imagenet":
      x = _conv(self.base_width, 7, 2, self.dtype, name="stem_conv")(x)
      x = nn.relu(stem_bn(x, train))
      lead = x.shape[:-3]  # nn.max_pool takes a single batch axis ([N, G]: example-major)
      x = nn.max_pool(x.reshape((-1,) + x.shape[-3:]), (3, 3), (2, 2),
                      padding=((1, 1), (1, 1)))
      x = x.reshape(lead + x.shape[1:])
    else:
      x = _conv(self.base_width, 3, 1, self.dtype, name="stem_conv")(x)
      x = nn.relu(stem_bn(x, train))
    for i, num_blocks in enumerate(self.stage_sizes):
      for j in range(num_blocks):
        stride = 2 if i > 0 and j == 0 else 1
        x = self.block(self.base_width * 2 ** i, stride, self.dtype,
                       self.zero_init_residual, name=f"stage{i + 1}_block{j + 1}")(x, train)
    return batch_axes.examples_back(jnp.mean(x.astype(jnp.float32), axis=(-3, -2)), 2)


# ResNet-10: one basic block per stage, the smallest of the family (tests, CPU demos).
ResNet10 = functools.partial(ResNet, stage_sizes=(1, 1, 1, 1), block=BasicBlock)
ResNet18 = functools.partial(ResNet, stage_sizes=(2, 2, 2, 2), block=BasicBlock)
ResNet50 = functools.partial(ResNet, stage_sizes=(3, 4, 6, 3), block=BottleneckBlock)

RESNETS = {"resnet10": ResNet10, "resnet18": ResNet18, "resnet50": ResNet50}
