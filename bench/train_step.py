"""Train-step speed per method: images/s, compile time, memory, MFU, method overhead.

    python bench/train_step.py [--quick] [--methods=intl,simclr] [--model=resnet18]
        [--width=0.125] [--stem=cifar] [--patch_stem=conv] [--size=24] [--batch=128] [--steps=10]
        [--precision=float32] [--crop_canvas=N] [--recipes=imagenet]

For each method, its quickstart config (``configs/quickstart.py:METHOD``;
with ``--recipes=imagenet`` its ``configs/METHOD_imagenet.py``: the paper's
heads and views) with the backbone, resolution and batch given here, the real jitted step
(on-device augmentation, forward, loss, update, EMA) runs on random uint8
views of the preset's sizes: TensorFlow is not needed (input speed is
``bench/input_pipeline.py``'s).  With ``--crop_canvas=N`` the step gets
random N px canvases and crop windows instead, and cuts the views itself
(``--config.data.crop_canvas``).  Columns:

- ms/step (median after one warm-up step), images/s, compile s;
- memory: XLA's buffer plan of the compiled step (arguments, outputs and
  temporaries, donated buffers counted once);
- GFLOP/step from XLA's cost analysis of the lowered step (the same count on
  every backend; a GPU's compiled step hides its convolutions in cuDNN), and MFU =
  FLOP/step x steps/s / peak FLOP/s, the peak measured in the same run as the
  best of large float32 matmuls (bf16 for ``--precision=bfloat16``);
- overhead: the step's time over a plain step on two views (the same
  augmentation, forward and backward of backbone and projector, its loss a
  sum of squares): what the method's teacher pass, queue, whitening or
  clustering, and the optimiser update cost;
- teacher fwd and local crops fwd+bwd: two parts timed alone as shares of
  the step, on views augmented beforehand: the EMA teacher's forward pass
  over its views, and the forward and backward of the local crops (a sum of
  squares as the loss); "-" where the method has none.
"""
import argparse
import dataclasses
import functools
import importlib
import os
import statistics
import sys
import time
from typing import Any, Callable

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import jax  # pylint: disable=g-import-not-at-top,wrong-import-position
import jax.numpy as jnp  # pylint: disable=g-import-not-at-top,wrong-import-position

from bench.timing import median_seconds  # pylint: disable=g-import-not-at-top,wrong-import-position
from configs import common, quickstart  # pylint: disable=g-import-not-at-top,wrong-import-position
from ssl_jax.train.augment import ViewAugmenter, augment_views  # pylint: disable=g-import-not-at-top,wrong-import-position
from ssl_jax import sharding  # pylint: disable=g-import-not-at-top,wrong-import-position
from ssl_jax.data.views import VIEW_PRESETS  # pylint: disable=g-import-not-at-top,wrong-import-position
from ssl_jax.methods import build_method  # pylint: disable=g-import-not-at-top,wrong-import-position
from ssl_jax.models import VITS, build_model  # pylint: disable=g-import-not-at-top,wrong-import-position
from ssl_jax.models.inputs import Normalization  # pylint: disable=g-import-not-at-top,wrong-import-position
from ssl_jax.models.vit import PATCH_STEMS  # pylint: disable=g-import-not-at-top,wrong-import-position
from ssl_jax.train.optim import make_optimizer  # pylint: disable=g-import-not-at-top,wrong-import-position
from ssl_jax.kernels.schedules import ema_momentum, warmup_cosine  # pylint: disable=g-import-not-at-top,wrong-import-position
from ssl_jax.train.state import init_train_state  # pylint: disable=g-import-not-at-top,wrong-import-position
from ssl_jax.train.step import Schedules, encode_views, make_train_step  # pylint: disable=g-import-not-at-top,wrong-import-position

DTYPES = {"float32": jnp.float32, "bfloat16": jnp.bfloat16}
# --quick: one method per family of extra work (whitening, contrastive,
# teacher + predictor, Sinkhorn, MIRA fixed point, Cholesky, queue).
QUICK_METHODS = "intl,simclr,byol,swav,mira,wmse,sce"
_NORMALIZATION = Normalization((0.5,) * 3, (0.25,) * 3)


def peak_flops(dtype, quick):
  """Best FLOP/s of square matmuls on the first device (the roofline's top)."""
  best = 0.0
  for n in ((1024, 2048) if quick else (2048, 4096, 8192)):
    # Random operands: constant ones or zeros multiply faster than real data.
    a = jax.random.normal(jax.random.key(n), (n, n), dtype)
    matmul = jax.jit(lambda x: x @ x)
    # Ten repeats: an idle GPU's clocks take a few products to ramp up.
    seconds = median_seconds(lambda: matmul(a), 3 if quick else 10)
    best = max(best, 2 * n ** 3 / seconds)
  return best


def _config(method, args):
  """The method's quickstart config, or with ``--recipes=imagenet`` its
  ImageNet config (heads, loss, optimiser, views), at the backbone, batch
  and precision given here."""
  if args.recipes == "imagenet":
    c = importlib.import_module(f"configs.{method}_imagenet").get_config().unlock()
  else:
    c = quickstart.get_config(method).unlock()
  c.model.name = args.model
  if args.model in VITS:  # a ResNet recipe's width and stem do not apply
    base = common.base_config().model
    c.model.width, c.model.stem = base.width, base.stem
  else:
    c.model.width, c.model.stem = args.width, args.stem
  if args.patch_stem:
    c.model.patch_stem = args.patch_stem
  c.train.batch_size = args.batch
  c.train.precision = args.precision
  return c


def _parts(config, args):
  views = VIEW_PRESETS.lookup(config.data.views).resized(args.size)
  views = dataclasses.replace(views, canvas=args.crop_canvas)
  # An epoch of 100 steps: DeepCluster v2's timed steps are its first epoch's
  # (the k-means runs once an epoch, at the next one's first step).
  method = build_method(config.method, total_steps=1000, steps_per_epoch=100,
                        num_examples=100 * args.batch)
  dtype = DTYPES[args.precision]
  model = build_model(config.model, method.head, dtype)
  lr = warmup_cosine(0.1, 10, 1000)
  tx = make_optimizer(config.optim, lr)
  ema = ema_momentum(method.ema_momentum, 1000) if method.uses_target else None
  return views, method, model, tx, Schedules(lr, ema), dtype


def _views(view_set, size, batch, mesh):
  """Random uint8 views at the preset's sizes, scaled to ``size`` for the
  first, or canvases to cut them from (``view_set.canvas``), with zero
  labels and the indices 0..batch-1."""
  rng = np.random.default_rng(0)
  shapes = [v.size for v in view_set.views]
  if view_set.canvas is None:
    views = tuple(rng.integers(0, 256, (batch, s, s, 3), np.uint8) for s in shapes)
  else:  # windows of 30-100 % of the canvas's side, anywhere on it
    c, n = view_set.canvas, len(shapes)
    sides = rng.uniform(0.3, 1.0, (batch, n, 2)) * c
    corners = rng.uniform(0.0, 1.0, (batch, n, 2)) * (c - sides)
    views = {"canvas": rng.integers(0, 256, (batch, c, c, 3), np.uint8),
             "windows": np.concatenate([corners, sides], -1).astype(np.float32),
             "flip": rng.uniform(size=(batch, n)) < 0.5}
  labels = np.zeros(batch, np.int32)
  index = np.arange(batch, dtype=np.int32)  # as an indexed split's batches carry
  return sharding.to_global({"views": views, "label": labels, "index": index}, mesh), shapes


def _compile(fn, *args):
  start = time.perf_counter()
  lowered = fn.lower(*args)
  compiled = lowered.compile()
  return lowered, compiled, time.perf_counter() - start


def _memory(compiled):
  """XLA's buffer plan of the step: arguments + outputs + temporaries - donated.

  The same figure on every backend; a device's own peak counter would carry
  the previous methods' peaks within one process.
  """
  m = compiled.memory_analysis()
  return (m.argument_size_in_bytes + m.output_size_in_bytes + m.temp_size_in_bytes
          - m.alias_size_in_bytes)


def _flops(lowered, fn, *args):
  """FLOPs of the step as written (the lowered, unoptimised HLO): the same
  count on every backend.  The compiled step's own analysis misses whatever
  the backend hands to a library: on a GPU, every convolution (cuDNN).  Where
  the backend's lowering has no cost analysis (jax 0.11.2's CUDA build
  returns None), the same step lowered for the CPU is counted."""
  cost = lowered.cost_analysis()
  if cost is None:
    try:
      cost = fn.trace(*args).lower(lowering_platforms=("cpu",)).cost_analysis()
    except Exception as e:  # pylint: disable=broad-except
      print(f"no FLOP count for the step ({type(e).__name__}: {e}); MFU reads nan",
            file=sys.stderr)
      return float("nan")
  cost = cost[0] if isinstance(cost, (list, tuple)) else cost
  return float(cost.get("flops", 0.0))


def _plain_step_seconds(model, views, state, batch, dtype, steps):
  """Augmentation, forward and backward of backbone and projector on the first
  two views, loss = Σ z²: a step without the method's extra work."""
  specs = views.views[:2]

  def loss(params, images, rng):
    x = augment_views(images, rng, specs, _NORMALIZATION, dtype)
    out, _ = encode_views(model, params, state.batch_stats, list(x))
    return jnp.sum(jnp.square(out["projection"].astype(jnp.float32)))

  grad = jax.jit(jax.grad(loss))
  key = jax.random.key(2)
  images = batch["views"]
  if views.canvas is None:
    images = images[:2]
  else:
    images = {**images, "windows": images["windows"][:, :2], "flip": images["flip"][:, :2]}
  return median_seconds(lambda: grad(state.params, images, key), steps)


@dataclasses.dataclass
class Prepared:
  """One method's compiled step on fixed inputs (``prepare``)."""
  run: Callable       # () -> None: one step, blocked until done
  flops: float        # of the lowered step
  memory: int         # XLA's buffer plan, bytes
  compile_s: float
  shapes: tuple       # the views' sides
  plain_seconds: Callable  # (repeats) -> seconds of a plain fwd+bwd step
  part_seconds: Callable   # (repeats) -> {"teacher", "local"}: seconds or None
  compiled: Any            # the compiled step (its per-device cost and HLO)


def prepare(name, args, mesh):
  """Compiles ``name``'s step (``_config``) on random uint8 views."""
  config = _config(name, args)
  views, method, model, tx, schedules, dtype = _parts(config, args)
  batch, shapes = _views(views, args.size, args.batch, mesh)
  repl = sharding.replicated(mesh)
  init = jax.jit(lambda r: init_train_state(r, model, method, tx, shapes[0]),
                 out_shardings=repl)
  step = make_train_step(model, method, tx, schedules,
                         ViewAugmenter(views, _NORMALIZATION, dtype))
  jitted = sharding.jit_train_step(step, mesh)
  rng = jax.device_put(jax.random.key(1), repl)
  holder = {"state": init(jax.random.key(0))}
  lowered, compiled, compile_s = _compile(jitted, holder["state"], batch, rng)

  def run():
    holder["state"], metrics = compiled(holder["state"], batch, rng)
    jax.block_until_ready(metrics)

  plain = lambda repeats: _plain_step_seconds(model, views, holder["state"], batch, dtype,
                                              repeats)
  parts = lambda repeats: _part_seconds(model, method, views, holder["state"], batch, dtype,
                                        repeats)
  flops = _flops(lowered, jitted, holder["state"], batch, rng)
  return Prepared(run, flops, _memory(compiled), compile_s, tuple(shapes), plain,
                  parts, compiled)


def _part_seconds(model, method, views, state, batch, dtype, repeats):
  """Seconds of two parts of the step on pre-augmented views: the EMA
  teacher's forward pass over its views, and the forward and backward of the
  local crops (loss Σ z²); None where the method has no such part."""
  xs = jax.jit(lambda images: augment_views(images, jax.random.key(3), views.views,
                                            _NORMALIZATION, dtype))(batch["views"])
  encode = functools.partial(encode_views, model, bn_pooling=method.bn_pooling)
  out = {"teacher": None, "local": None}
  if method.uses_target:
    targets = method.target_views(views.num_global)
    teacher = jax.jit(lambda p, s, x: encode(p, s, [x[i] for i in targets],
                                             method=type(model).project)[0])
    out["teacher"] = median_seconds(
        lambda: teacher(state.ema_params, state.ema_batch_stats, xs), repeats)
  local = [i for i in method.online_views(len(views), views.num_global)
           if i >= views.num_global]
  if local:
    def loss(params):
      z = encode(params, state.batch_stats, [xs[i] for i in local])[0]["projection"]
      return jnp.sum(jnp.square(z.astype(jnp.float32)))
    grad = jax.jit(jax.grad(loss))
    out["local"] = median_seconds(lambda: grad(state.params), repeats)
  return out


def bench_method(name, args, mesh, peak):
  p = prepare(name, args, mesh)
  times = []
  for _ in range(args.steps + 1):
    start = time.perf_counter()
    p.run()
    times.append(time.perf_counter() - start)
  seconds = statistics.median(times[1:])
  print(f"| {name} | {'+'.join(map(str, p.shapes))} | {seconds * 1e3:.1f} | "
        f"{args.batch / seconds:.0f} | {p.compile_s:.1f} | {p.memory / 2 ** 20:.0f} MiB | "
        f"{p.flops / 1e9:.1f} | {100 * p.flops / seconds / peak:.1f} % | "
        f"{share_cells(p, seconds, max(2, args.steps // 2))} |", flush=True)


def share_cells(p, seconds, repeats):
  """'overhead | teacher | local': the step's time over a plain fwd+bwd step,
  and the teacher's and the local crops' parts as shares of ``seconds``."""
  plain = p.plain_seconds(repeats)
  parts = p.part_seconds(repeats)
  share = lambda part: "-" if parts[part] is None else f"{100 * parts[part] / seconds:.0f} %"
  return f"{100 * (seconds / plain - 1):+.0f} % | {share('teacher')} | {share('local')}"


def add_arguments(parser):
  """The flags that choose the step (shared with bench/gpu_side_by_side.py)."""
  parser.add_argument("--recipes", default="quickstart", choices=("quickstart", "imagenet"),
                      help="heads, loss and views of the quickstart or the ImageNet config")
  parser.add_argument("--model", default="resnet18")
  parser.add_argument("--width", type=float, default=0.125)
  parser.add_argument("--stem", default="cifar", choices=("cifar", "imagenet"))
  parser.add_argument("--patch_stem", default=None, choices=PATCH_STEMS,
                      help="a ViT's patch embedding; default the recipe's")
  parser.add_argument("--size", type=int, default=24, help="side of the first view")
  parser.add_argument("--batch", type=int, default=128, help="global batch")
  parser.add_argument("--steps", type=int, default=10)
  parser.add_argument("--precision", default="float32", choices=sorted(DTYPES))
  parser.add_argument("--crop_canvas", type=int, default=None,
                      help="cut the views in the step from canvases of this side")


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--methods", default=None,
                      help=f"comma-separated; default all (--quick: {QUICK_METHODS})")
  add_arguments(parser)
  parser.add_argument("--quick", action="store_true", help="fewer steps, smaller peak test")
  args = parser.parse_args()
  if args.quick:
    args.steps = min(args.steps, 4)
  methods = args.methods or (QUICK_METHODS if args.quick else ",".join(sorted(quickstart.METHODS)))
  mesh = sharding.make_mesh()
  peak = peak_flops(DTYPES[args.precision], args.quick)
  device = jax.devices()[0]
  print(f"{device.device_kind} x{jax.device_count()} ({device.platform}), jax "
        f"{jax.__version__}, {time.strftime('%Y-%m-%d')}: {args.model} x{args.width}"
        f"{f', patch stem {args.patch_stem}' if args.patch_stem else ''}, "
        f"batch {args.batch}, {args.precision}; measured matmul peak "
        f"{peak / 1e12:.3f} TFLOP/s\n")
  print("| method | views (px) | ms/step | images/s | compile (s) | memory | GFLOP/step | "
        "MFU | overhead vs plain fwd+bwd | teacher fwd | local crops fwd+bwd |")
  print("|---|---|---|---|---|---|---|---|---|---|---|")
  for name in methods.split(","):
    bench_method(name, args, mesh, peak)


if __name__ == "__main__":
  main()
