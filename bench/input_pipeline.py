"""Host input-pipeline throughput per view preset, per host core.

    python bench/input_pipeline.py [--quick] [--cores=1] [--presets=a,b]

Runs the real training pipeline (``ssl_jax.data.pipeline.train_batches``)
pinned to ``--cores`` CPU cores and prints, per view preset, training
examples (all their views) per second and per core.  Presets of 32 and 96
px read in-memory uint8 images of that size (the CIFAR and STL-10 path).
Presets of 224 px read 500x375 JPEG files written here (ImageNet's typical
size) in four variants, timed in alternation (best of ``--repeats``):

- ``per-view``: each view decoding its own crop window of the JPEG
  (``tf.image.decode_and_crop_jpeg``), the pipeline before decode-once;
- ``raw``: the pipeline as it is, every view cut from one decode;
- ``prep 320`` / ``prep 256``: the same images through
  ``python -m ssl_jax.prepare --max_side=320`` / ``256`` (the default cap,
  500, keeps these files byte for byte: it reads like ``raw``);
- ``canvas``: ``--config.data.crop_canvas=512``, the host only decodes
  each image (at the DCT scale its windows allow) onto a 512 px canvas and
  the accelerator cuts the views; ``cut GFLOP`` is that cut's cost per
  example in the step (XLA's count), to set beside the step's own.

Photometric augmentation runs on the accelerator inside the step and is
not counted.  The last columns: cores needed to feed one accelerator that
trains ``--step_images_per_s`` two-view examples a second (measure it with
bench/train_step.py), scaled for presets with more pixels per example by
their pixel count (ResNet FLOPs grow with pixels; an EMA teacher's extra
forward is not counted): raw, at the smallest cap, and with the canvas.
"""
import argparse
import dataclasses
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

from ssl_jax import prepare  # pylint: disable=g-import-not-at-top,wrong-import-position
from ssl_jax.data import augment_host, pipeline, prepared  # pylint: disable=g-import-not-at-top,wrong-import-position
from ssl_jax.data.folder import ImageFiles  # pylint: disable=g-import-not-at-top,wrong-import-position
from ssl_jax.data.sources import ArraySplit  # pylint: disable=g-import-not-at-top,wrong-import-position
from ssl_jax.data.views import VIEW_PRESETS  # pylint: disable=g-import-not-at-top,wrong-import-position
from ssl_jax.train import augment  # pylint: disable=g-import-not-at-top,wrong-import-position

CAPS = (320, 256)
CANVAS = 512
# ResNet-50, two 224 px views, batch 256, bf16 on one H200 (bench/README.md).
H200_TWO_VIEW_IMAGES_PER_S = 2732.0


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


def prepared_files(raw, directory, max_side):
  prepare.write_split(raw, directory, max_side, quality=90)
  return prepared.read_split(os.path.dirname(directory), os.path.basename(directory))


def per_view_decode(encoded, seeds, specs):
  """The views as the pipeline cut them before decode-once: each view's
  crop window decoded on its own (JPEG only, as the bench's files are)."""
  views = []
  for v, spec in enumerate(specs):
    crop_seed, flip_seed = tf.unstack(tf.random.experimental.stateless_split(seeds[v], 2))
    shape = tf.image.extract_jpeg_shape(encoded)
    begin, size = augment_host.sample_crop_window(shape, crop_seed, spec.min_scale,
                                                  spec.max_scale)
    window = tf.stack([begin[0], begin[1], size[0], size[1]])
    view = augment_host.to_uint8(tf.image.resize(
        tf.image.decode_and_crop_jpeg(encoded, window, channels=3), (spec.size, spec.size),
        method="bicubic", antialias=True))
    views.append(augment_host.random_flip(view, flip_seed, spec.flip_prob))
  return tuple(views)


def enlarged_share(views, max_side, height=375, width=500, draws=500):
  """The share of the views' crop windows of a height x width image whose
  shorter side is below its view's size (the view is enlarged from fewer
  pixels than it has) once the image is capped to ``max_side``."""
  scale = min(1.0, max_side / max(height, width))
  shape = tf.constant([height, width, 3])
  enlarged = []
  for i in range(draws):
    for v, spec in enumerate(views.views):
      _, size = augment_host.sample_crop_window(shape, tf.constant([i, v]), spec.min_scale,
                                                spec.max_scale)
      enlarged.append(min(int(size[0]), int(size[1])) * scale < spec.size)
  return float(np.mean(enlarged))


def cut_gflop_per_example(views):
  """XLA's FLOP count of cutting ``views`` from canvases on the accelerator."""
  import jax  # pylint: disable=g-import-not-at-top
  n = 8
  canvases = {"canvas": jax.ShapeDtypeStruct((n, CANVAS, CANVAS, 3), np.uint8),
              "windows": jax.ShapeDtypeStruct((n, len(views), 4), np.float32),
              "flip": jax.ShapeDtypeStruct((n, len(views)), np.bool_)}
  cut = jax.jit(lambda c: augment.cut_views(c, views.views)).lower(canvases).compile()
  return cut.cost_analysis()["flops"] / n / 1e9


def examples_per_second(split, views, batch, steps):
  batches = pipeline.train_batches(split, views, batch, seed=0)
  # Warm-up: graph building, and the batches made ahead meanwhile drained.
  for _ in range(4):
    next(batches)
  start = time.perf_counter()
  for _ in range(steps):
    next(batches)
  return steps * batch / (time.perf_counter() - start)


def _timed(variants, preset, batch, steps, repeats):
  """{variant: best examples/s}, the variants timed in alternation; a
  variant is (split, per-view cut or None, canvas or None)."""
  best = {name: 0.0 for name in variants}
  decode_once = pipeline.decode_views
  for _ in range(repeats):
    for name, (split, cut, canvas) in variants.items():
      pipeline.decode_views = cut or decode_once
      views = dataclasses.replace(VIEW_PRESETS.lookup(preset), canvas=canvas)
      try:
        best[name] = max(best[name], examples_per_second(split, views, batch, steps))
      finally:
        pipeline.decode_views = decode_once
  return best


def _pixels(views):
  return sum(v.size ** 2 for v in views.views)


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--quick", action="store_true", help="fewer batches per preset")
  parser.add_argument("--cores", type=int, default=1, help="CPU cores to pin to")
  parser.add_argument("--repeats", type=int, default=2, help="alternating rounds")
  parser.add_argument("--presets", default="", help="comma-separated; default: all")
  parser.add_argument("--step_images_per_s", type=float, default=H200_TWO_VIEW_IMAGES_PER_S,
                      help="the accelerator's two-view 224 px train-step rate, examples/s")
  args = parser.parse_args()
  cores = sorted(os.sched_getaffinity(0))[:args.cores]
  os.sched_setaffinity(0, cores)
  steps = 4 if args.quick else 10
  presets = args.presets.split(",") if args.presets else list(VIEW_PRESETS)
  two_view_pixels = 2 * 224 ** 2
  in_memory = {s: ArraySplit(smooth_images(2048, s, s), np.zeros(2048, np.int32))
               for s in (32, 96)}
  print("share of views enlarged from fewer pixels than they have, 500x375 images, by cap:")
  print("| preset | raw | " + " | ".join(f"cap {c}" for c in CAPS) + " |")
  print("|---|---|" + "---|" * len(CAPS))
  for preset in presets:
    views = VIEW_PRESETS.lookup(preset)
    if max(v.size for v in views.views) > 96:
      print(f"| {preset} | " + " | ".join(
          f"{enlarged_share(views, c):.0%}" for c in (500,) + CAPS) + " |", flush=True)
  print(f"host input pipeline on {len(cores)} core(s); {steps} batches of 128 per variant, "
        f"best of {args.repeats} alternating rounds; examples/s per core")
  print("| preset | view sizes | source | per-view | raw | " + " | ".join(
      f"prep {c}" for c in CAPS) + " | canvas | cut GFLOP | step rate | cores raw | "
        "cores prep | cores canvas |")
  print("|---|---|---|---|---|" + "---|" * len(CAPS) + "---|---|---|---|---|---|")
  with tempfile.TemporaryDirectory() as tmp:
    raw = jpeg_files(os.path.join(tmp, "raw"), 256 if args.quick else 1024)
    ready = {c: prepared_files(raw, os.path.join(tmp, f"prep{c}", "train"), c) for c in CAPS}
    for preset in presets:
      views = VIEW_PRESETS.lookup(preset)
      sizes = [v.size for v in views.views]
      rate = args.step_images_per_s * two_view_pixels / _pixels(views)
      small = 32 if max(sizes) <= 32 else 96 if max(sizes) <= 96 else None
      if small:
        got = _timed({"raw": (in_memory[small], None, None)}, preset, 128, steps, 1)
        per_core = got["raw"] / len(cores)
        print(f"| {preset} | {'+'.join(map(str, sizes))} | uint8 {small}x{small} | | "
              f"{per_core:.0f} |" + " |" * len(CAPS) + " | | | | | |", flush=True)
        continue
      variants = {"per-view": (raw, per_view_decode, None), "raw": (raw, None, None),
                  **{f"prep {c}": (ready[c], None, None) for c in CAPS},
                  "canvas": (raw, None, CANVAS)}
      got = {k: v / len(cores) for k, v in
             _timed(variants, preset, 128, steps, args.repeats).items()}
      print(f"| {preset} | {'+'.join(map(str, sizes))} | JPEG 500x375 | "
            + " | ".join(f"{got[name]:.0f}" for name in variants)
            + f" | {cut_gflop_per_example(views):.2f} | {rate:.0f} | "
              f"{math.ceil(rate / got['raw'])} | {math.ceil(rate / got[f'prep {CAPS[-1]}'])} | "
              f"{math.ceil(rate / got['canvas'])} |", flush=True)


if __name__ == "__main__":
  main()
