"""The view's Gaussian blur as two matrix products against it as a convolution.

    python bench/blur.py [--step_methods=simclr]

Each image draws its own sigma, so as a convolution (dm-pix's separable
depthwise ``gaussian_blur``, which ssl_jax used before) a batch is one
convolution group per image and channel: cuDNN runs it with its slow
grouped direct kernel (11.5 ms of a 106 ms ResNet-50 step on an H200,
bench/README.md), XLA:CPU as many small convolutions.  ``gaussian_blur`` now
multiplies by a [H, H] and a [W, W] blur matrix instead.  Printed, timed in
alternation: the blur alone on a batch of images per size (and the largest
difference between the two), then the whole train step of each method of
``--step_methods`` with its ImageNet recipe's views (which blur) compiled
once with each blur.
"""
import argparse
import math
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import dm_pix as pix  # pylint: disable=g-import-not-at-top,wrong-import-position
import jax  # pylint: disable=g-import-not-at-top,wrong-import-position
import jax.numpy as jnp  # pylint: disable=g-import-not-at-top,wrong-import-position

from bench import train_step  # pylint: disable=g-import-not-at-top,wrong-import-position
from bench.timing import paired_median_seconds  # pylint: disable=g-import-not-at-top,wrong-import-position
from ssl_jax import sharding  # pylint: disable=g-import-not-at-top,wrong-import-position
from ssl_jax.train import augment  # pylint: disable=g-import-not-at-top,wrong-import-position

SIGMA = (0.1, 2.0)  # the presets' range


def conv_blur(image, key, sigma_range):
  """The blur as a convolution: edge-padded, dm-pix's separable Gaussian."""
  sigma = jax.random.uniform(key, (), minval=sigma_range[0], maxval=sigma_range[1])
  radius = int(math.ceil(3 * sigma_range[1]))
  padded = jnp.pad(image, ((radius, radius), (radius, radius), (0, 0)), mode="edge")
  return pix.gaussian_blur(padded, sigma, 2 * radius + 1, padding="VALID")


def blur_row(size, batch, repeats):
  images = jax.random.uniform(jax.random.key(0), (batch, size, size, 3))
  keys = jax.random.split(jax.random.key(1), batch)
  conv = jax.jit(jax.vmap(lambda x, k: conv_blur(x, k, SIGMA)))
  matmul = jax.jit(jax.vmap(lambda x, k: augment.gaussian_blur(x, k, SIGMA)))
  diff = float(jnp.max(jnp.abs(conv(images, keys) - matmul(images, keys))))
  a, b = paired_median_seconds(lambda: conv(images, keys), lambda: matmul(images, keys), repeats)
  return (f"| blur alone | {size} px x {batch} | {a * 1e3:.1f} | {b * 1e3:.1f} | "
          f"{a / b:.2f}x | {diff:.1e} |")


def step_row(method, args, repeats):
  """The method's step compiled with each blur (the module's function is
  swapped while the step traces)."""
  mesh = sharding.make_mesh(jax.devices()[:1])
  matmul_blur = augment.gaussian_blur
  try:
    augment.gaussian_blur = conv_blur
    conv = train_step.prepare(method, args, mesh)
  finally:
    augment.gaussian_blur = matmul_blur
  matmul = train_step.prepare(method, args, mesh)
  a, b = paired_median_seconds(conv.run, matmul.run, repeats)
  return (f"| {method} step, {args.model} | {args.size} px x {args.batch} | {a * 1e3:.1f} | "
          f"{b * 1e3:.1f} | {a / b:.2f}x | |")


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--sizes", default="24,96,224")
  parser.add_argument("--blur_batch", type=int, default=32)
  parser.add_argument("--step_methods", default="simclr")
  parser.add_argument("--repeats", type=int, default=10)
  train_step.add_arguments(parser)
  parser.set_defaults(recipes="imagenet", stem="imagenet", size=96, batch=32)
  args = parser.parse_args()
  print(f"{jax.devices()[0].device_kind}, jax {jax.__version__}\n")
  print("| what | images | convolution ms | matrix products ms | speed-up | max diff |")
  print("|---|---|---|---|---|---|")
  for size in map(int, args.sizes.split(",")):
    print(blur_row(size, args.blur_batch, args.repeats), flush=True)
  for method in filter(None, args.step_methods.split(",")):
    print(step_row(method, args, args.repeats), flush=True)


if __name__ == "__main__":
  main()
