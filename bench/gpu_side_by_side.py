"""Ours against the PyTorch reference, one process, timed in alternation.

    python bench/gpu_side_by_side.py          # an H200: ResNet-50, batch 256, bf16,
                                              # SimCLR, INTL, MIRA multi-crop (< 8 min)
    python bench/gpu_side_by_side.py --model=resnet18 --stem=imagenet --size=16 \\
        --batch=8 --steps=2 --rounds=2 --recipes=quickstart --precision=float32 \\
        --no_compile                          # the CPU check the tests run

For each method both sides build the step from the same config
(``--recipes``: ``configs/<method>_imagenet.py`` by default) at the same
backbone, views and batch: ours is ``bench/train_step.py``'s jitted step,
PyTorch's ``bench/torch_reference.py``'s.  After both compiled, ``--rounds``
rounds each time ``--steps`` steps of ours then of PyTorch, so a busy
device slows both.  JAX is told not to preallocate (PyTorch's allocator
shares the device).  One table: ms/step and examples/s of each,
speed-up (PyTorch's time over ours), MFU of each from its own FLOP count
(ours: XLA's cost analysis of the lowered step; PyTorch's:
``torch.utils.flop_counter``) against the matmul peak measured first
(``train_step.peak_flops``), compile seconds and memory (ours: XLA's buffer
plan; PyTorch's: its allocator's peak).  Record it, with the date and
versions printed above it, in bench/README.md.
"""
import argparse
import os
import statistics
import sys
import time

os.environ.setdefault("XLA_PYTHON_CLIENT_PREALLOCATE", "false")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import jax  # pylint: disable=g-import-not-at-top,wrong-import-position
import torch  # pylint: disable=g-import-not-at-top,wrong-import-position

from bench import kernel_profile, torch_reference, train_step  # pylint: disable=g-import-not-at-top,wrong-import-position
from ssl_jax import sharding  # pylint: disable=g-import-not-at-top,wrong-import-position

METHODS = "simclr,intl,mira"
_START = time.perf_counter()


def _seconds(run, steps):
  times = []
  for _ in range(steps):
    start = time.perf_counter()
    run()
    times.append(time.perf_counter() - start)
  return times


def _progress(text):
  """A line on stderr, so that a run cut short by a lease still says how far it got."""
  print(f"[{time.perf_counter() - _START:.0f} s] {text}", file=sys.stderr, flush=True)


def compare(name, args, mesh, device, peak):
  """One row: both steps built, then timed in alternating rounds."""
  ours = train_step.prepare(name, args, mesh)
  _progress(f"{name}: ours compiled in {ours.compile_s:.0f} s")
  theirs = torch_reference.build_step(name, args, device)
  _progress(f"{name}: PyTorch compiled in {theirs.compile_s:.0f} s")
  ours.run()
  theirs.run()
  times_ours, times_theirs = [], []
  for _ in range(args.rounds):
    times_ours += _seconds(ours.run, args.steps)
    times_theirs += _seconds(theirs.run, args.steps)
  a, b = statistics.median(times_ours), statistics.median(times_theirs)
  mfu = lambda flops, s: f"{100 * flops / s / peak:.1f} %"
  row = (f"| {name} | {'+'.join(map(str, ours.shapes))} | {a * 1e3:.1f} | {b * 1e3:.1f} | "
         f"{args.batch / a:.0f} | {args.batch / b:.0f} | {b / a:.2f} | "
         f"{mfu(ours.flops, a)} | {mfu(theirs.flops, b)} | "
         f"{ours.compile_s:.0f} / {theirs.compile_s:.0f} | "
         f"{ours.memory / 2 ** 30:.1f} / {theirs.memory / 2 ** 30:.1f} GiB |")
  if args.shares:
    _progress(f"{name}: {row}")  # the row so far, before three more compiles
    row += f" {train_step.share_cells(ours, a, args.steps)} |"
  if args.profile_dir:
    _profile(name, ours, theirs, args, device)
  return row


def _profile(name, ours, theirs, args, device):
  """Kernel tables of both sides (``bench/kernel_profile.py``), printed
  under the method's name; a profiler that fails says so and the run goes on."""
  for side, profile in (
      ("ours", lambda: kernel_profile.profile_jax(
          ours.run, args.steps, os.path.join(args.profile_dir, f"jax_{name}"))),
      ("PyTorch", lambda: kernel_profile.profile_torch(theirs.run, args.steps, device))):
    try:
      text = profile()
    except Exception as e:  # pylint: disable=broad-except
      text = f"profiler failed: {type(e).__name__}: {e}"
    print(f"\n{name}, {side}: {text}\n", file=sys.stderr, flush=True)


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--methods", default=METHODS)
  train_step.add_arguments(parser)
  parser.add_argument("--rounds", type=int, default=5)
  parser.add_argument("--no_compile", action="store_true", help="eager PyTorch")
  parser.add_argument("--shares", action="store_true",
                      help="add ours' overhead over a plain step and the teacher's and "
                           "local crops' shares (train_step.py's last columns)")
  parser.add_argument("--profile_dir", default="",
                      help="profile --steps steps of each side after timing; kernel "
                           "tables to stderr, our trace under this folder")
  parser.set_defaults(recipes="imagenet", model="resnet50", width=1.0, stem="imagenet",
                      size=224, batch=256, precision="bfloat16", steps=5)
  args = parser.parse_args()
  if args.width != 1.0:
    parser.error("--width must be 1: torchvision's ResNets have no width multiplier")
  mesh = sharding.make_mesh(jax.devices()[:1])
  device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
  peak = train_step.peak_flops(train_step.DTYPES[args.precision], quick=device.type != "cuda")
  kind = jax.devices()[0].device_kind
  print(f"{kind} ({jax.devices()[0].platform}), jax {jax.__version__}, torch "
        f"{torch.__version__}, {time.strftime('%Y-%m-%d')}: {args.model} x{args.width}, "
        f"batch {args.batch}, {args.precision}, {args.recipes} recipes, torch.compile "
        f"{not args.no_compile}; measured matmul peak {peak / 1e12:.1f} TFLOP/s\n")
  columns = ["method", "views (px)", "ours ms/step", "PyTorch ms/step", "ours ex/s",
             "PyTorch ex/s", "speed-up", "ours MFU", "PyTorch MFU",
             "compile s (ours / PyTorch)", "memory"]
  if args.shares:
    columns += ["ours overhead vs plain fwd+bwd", "teacher fwd", "local crops fwd+bwd"]
  print("| " + " | ".join(columns) + " |")
  print("|---" * len(columns) + "|")
  for name in args.methods.split(","):
    print(compare(name, args, mesh, device, peak), flush=True)


if __name__ == "__main__":
  main()
