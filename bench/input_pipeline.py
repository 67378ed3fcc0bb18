"""Host input-pipeline throughput per view preset, per host core.

    python bench/input_pipeline.py [--quick] [--cores=1] [--step_images_per_s=2500]

Runs the real training pipeline (``ssl_jax.data.pipeline.train_batches``)
pinned to ``--cores`` CPU cores and prints, for each view preset, the
training examples (all their views) per second and per core.  Presets of
32 and 96 px read in-memory uint8 images of that size (the CIFAR and STL-10
path); 224 px presets read JPEG files
written here (500x375, ImageNet's typical size), decoded with the fused
decode-and-crop of the streamed and folder sources.  Photometric
augmentation runs on the accelerator inside the step and is not counted.

The last column is the number of host cores needed to feed one accelerator
that trains at ``--step_images_per_s`` examples per second (measure it with
bench/train_step.py on that accelerator).
"""
import argparse
import math
import os
import sys
import tempfile
import time

os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")  # TF on the host only
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # pylint: disable=g-import-not-at-top,wrong-import-position
import tensorflow as tf  # pylint: disable=g-import-not-at-top,wrong-import-position

from ssl_jax.data import pipeline  # pylint: disable=g-import-not-at-top,wrong-import-position
from ssl_jax.data.folder import ImageFiles  # pylint: disable=g-import-not-at-top,wrong-import-position
from ssl_jax.data.sources import ArraySplit  # pylint: disable=g-import-not-at-top,wrong-import-position
from ssl_jax.data.views import VIEW_PRESETS  # pylint: disable=g-import-not-at-top,wrong-import-position


def smooth_images(n, height, width, seed=0):
  """Natural-looking uint8 images (low-frequency colour fields plus noise), so
  that JPEG sizes and decode costs are realistic."""
  rng = np.random.default_rng(seed)
  coarse = rng.uniform(0, 255, (n, 6, 8, 3)).astype(np.float32)
  images = tf.image.resize(coarse, (height, width), method="bicubic").numpy()
  images += rng.normal(0, 12, images.shape)
  return np.clip(images, 0, 255).astype(np.uint8)


def jpeg_files(directory, n):
  paths = []
  for i, image in enumerate(smooth_images(n, 375, 500)):
    path = os.path.join(directory, f"{i}.jpg")
    tf.io.write_file(path, tf.io.encode_jpeg(image, quality=90))
    paths.append(path)
  return ImageFiles(np.asarray(paths), np.zeros(n, np.int32))


def examples_per_second(split, preset, batch, steps):
  batches = pipeline.train_batches(split, VIEW_PRESETS.lookup(preset), batch, seed=0)
  for _ in range(2):  # warm-up: graph building and the first prefetches
    next(batches)
  start = time.perf_counter()
  for _ in range(steps):
    next(batches)
  return steps * batch / (time.perf_counter() - start)


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--quick", action="store_true", help="fewer batches per preset")
  parser.add_argument("--cores", type=int, default=1, help="CPU cores to pin to")
  parser.add_argument("--step_images_per_s", type=float, default=2500.0,
                      help="the accelerator's train-step rate, examples/s")
  args = parser.parse_args()
  cores = sorted(os.sched_getaffinity(0))[:args.cores]
  os.sched_setaffinity(0, cores)
  steps = 5 if args.quick else 20
  in_memory = {s: ArraySplit(smooth_images(2048, s, s), np.zeros(2048, np.int32))
               for s in (32, 96)}
  print(f"host input pipeline on {len(cores)} core(s); {steps} batches of 128 per preset")
  print("| preset | view sizes | source | examples/s | per core | cores for "
        f"{args.step_images_per_s:.0f}/s |")
  print("|---|---|---|---|---|---|")
  with tempfile.TemporaryDirectory() as tmp:
    large = jpeg_files(tmp, 256 if args.quick else 1024)
    for preset in VIEW_PRESETS:
      views = VIEW_PRESETS.lookup(preset)
      sizes = [v.size for v in views.views]
      size = 32 if max(sizes) <= 32 else 96 if max(sizes) <= 96 else None
      split = in_memory[size] if size else large
      rate = examples_per_second(split, preset, 128, steps)
      per_core = rate / len(cores)
      source = f"uint8 {size}x{size}" if size else "JPEG 500x375"
      print(f"| {preset} | {'+'.join(map(str, sizes))} | {source} | {rate:.0f} | {per_core:.0f} | "
            f"{math.ceil(args.step_images_per_s / per_core)} |", flush=True)


if __name__ == "__main__":
  main()
