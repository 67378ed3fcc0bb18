"""Where a step's device time goes: kernel times of ours and of PyTorch's.

Used by ``bench/gpu_side_by_side.py --profile_dir=DIR``: each side runs a few
steps under its own profiler (``jax.profiler`` / ``torch.profiler``), and the
device kernels' times are summed per kind (convolution, matrix product,
normalisation, layout, the rest) and per kernel name.  The kinds come from
the kernel names, so they are a reading aid, not a measurement of their own:
the top-kernel list beside them says what each kind holds.
"""
import collections
import glob
import os
import re
import time

import jax

# First match wins: cuDNN / CUTLASS convolutions before plain matrix products.
_KINDS = (
    ("convolution", re.compile(r"conv|xmma|implicit|dgrad|wgrad|fprop|cudnn", re.I)),
    ("matmul", re.compile(r"gemm|cublas|nvjet|cutlass|sm90_|matmul|dot", re.I)),
    ("normalisation", re.compile(r"batch_norm|batchnorm|welford|bn_", re.I)),
    ("layout / copy", re.compile(r"transpose|copy|memcpy|memset|nchw|nhwc", re.I)),
)


def kind(name: str) -> str:
  if name.startswith("triton_"):  # Inductor's fusions name every op they fused
    return "normalisation" if "batch_norm" in name else "elementwise / reduction / other"
  for label, pattern in _KINDS:
    if pattern.search(name):
      return label
  return "elementwise / reduction / other"


def table(times_ns: dict, steps: int, wall_s: float, top: int = 12) -> str:
  """Markdown: ms per step by kind, then the ``top`` kernels by time."""
  total = sum(times_ns.values())
  by_kind = collections.Counter()
  for name, ns in times_ns.items():
    by_kind[kind(name)] += ns
  ms = lambda ns: ns / 1e6 / steps
  lines = [f"kernels {ms(total):.1f} ms/step of {wall_s * 1e3 / steps:.1f} ms/step wall "
           f"({len(times_ns)} distinct kernels)", "", "| kind | ms/step | share |", "|---|---|---|"]
  lines += [f"| {k} | {ms(ns):.2f} | {100 * ns / max(total, 1):.0f} % |"
            for k, ns in by_kind.most_common()]
  lines += ["", "| kernel | kind | ms/step |", "|---|---|---|"]
  lines += [f"| {name[:90]} | {kind(name)} | {ms(ns):.2f} |"
            for name, ns in collections.Counter(times_ns).most_common(top)]
  return "\n".join(lines)


def _device_kernels(xplane_path: str) -> dict:
  """Total ns per kernel name on the device planes' stream lines (a GPU's
  kernels); on a host-only backend, the XLA ops of the host's threads."""
  data = jax.profiler.ProfileData.from_file(xplane_path)
  lines = [l for p in data.planes if p.name.startswith("/device:") for l in p.lines
           if l.name.startswith("Stream")]
  if not lines:
    lines = [l for p in data.planes if p.name == "/host:CPU" for l in p.lines
             if l.name.startswith("tf_XLA")]
  times = collections.Counter()
  for line in lines:
    for event in line.events:
      times[event.name] += event.duration_ns
  return dict(times)


def profile_jax(run, steps: int, trace_dir: str) -> str:
  """Kernel table of ``steps`` calls of ``run`` (each blocks until done)."""
  jax.profiler.start_trace(trace_dir)
  start = time.perf_counter()
  for _ in range(steps):
    run()
  wall = time.perf_counter() - start
  jax.profiler.stop_trace()
  path = max(glob.glob(os.path.join(trace_dir, "**", "*.xplane.pb"), recursive=True),
             key=os.path.getmtime)
  return table(_device_kernels(path), steps, wall)


def profile_torch(run, steps: int, device) -> str:
  """Kernel table of ``steps`` calls of ``run`` under torch.profiler."""
  import torch  # pylint: disable=g-import-not-at-top
  activities = [torch.profiler.ProfilerActivity.CPU]
  if device.type == "cuda":
    activities.append(torch.profiler.ProfilerActivity.CUDA)
  with torch.profiler.profile(activities=activities) as prof:
    start = time.perf_counter()
    for _ in range(steps):
      run()
    wall = time.perf_counter() - start
  times = collections.Counter()
  for event in prof.events():
    # Kernels are the events on the device; on a CPU the top-level ops stand in.
    on_device = event.device_type != torch.autograd.DeviceType.CPU
    if on_device or (device.type != "cuda" and event.cpu_parent is None):
      times[event.name] += int(event.time_range.elapsed_us() * 1e3)
  return table(dict(times), steps, wall)
