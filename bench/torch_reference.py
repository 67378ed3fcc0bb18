"""The same SSL train steps in PyTorch, written as a user would at their best.

    python bench/torch_reference.py [--methods=simclr,intl,mira] [--recipes=imagenet]
        [--model=resnet50] [--size=224] [--batch=256] [--steps=10]
        [--precision=bfloat16] [--no_compile]

A benchmark reference, not a dependency: it needs torch and torchvision
(``bench/gpu_side_by_side.py`` times it beside ours).  For each method the
config ``bench/train_step.py`` reads (``--recipes``: the quickstart's or the
ImageNet config's heads, loss hyper-parameters, optimiser and view preset)
builds one step: uint8 views of the preset's sizes on the device, the
photometric augmentation there (per-sample jitter factors in one order
per batch, grey, blur, solarise), torchvision's ResNet in channels_last, the
views of one size in one forward pass, bf16 autocast, ``torch.compile``
of forward and loss, the loss as ours computes it (``kernels``), backward,
fused SGD or a foreach LARS, and for MIRA the EMA teacher.  Columns as
``train_step.py``: ms/step (median after warm-up), images/s, compile s,
peak memory (torch's allocator), GFLOP/step counted by
``torch.utils.flop_counter`` and MFU against ``--peak_tflops`` if given.
"""
import argparse
import copy
import dataclasses
import importlib
import importlib.util
import os
import statistics
import sys
import time
import types

import torch
import torch.nn.functional as F
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bench.torch_augment import augment  # pylint: disable=g-import-not-at-top,wrong-import-position
from bench import torch_losses  # pylint: disable=g-import-not-at-top,wrong-import-position
from ssl_jax.data.views import VIEW_PRESETS  # pylint: disable=g-import-not-at-top,wrong-import-position

METHODS = ("simclr", "intl", "mira")
MEAN, STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)


def recipe_config(method, recipes):
  """The config both sides build the step from: the quickstart's recipe or
  ``configs/<method>_imagenet.py``."""
  if recipes == "quickstart":
    from configs import quickstart  # pylint: disable=g-import-not-at-top
    return quickstart.get_config(method)
  return importlib.import_module(f"configs.{method}_imagenet").get_config()


def torchvision_resnets():
  """torchvision.models.resnet; where the package's native ops (detection
  only) do not load with this torch, its pure-Python model code alone."""
  try:
    from torchvision.models import resnet  # pylint: disable=g-import-not-at-top
    return resnet
  except (RuntimeError, OSError):
    spec = importlib.util.find_spec("torchvision")
    for name in [m for m in sys.modules if m == "torchvision" or m.startswith("torchvision.")]:
      del sys.modules[name]
    package = types.ModuleType("torchvision")
    package.__path__ = list(spec.submodule_search_locations)
    sys.modules["torchvision"] = package
    from torchvision.models import resnet  # pylint: disable=g-import-not-at-top
    return resnet


def mlp(spec, in_dim):
  """ssl_jax's MLPSpec in torch: [Linear -> BN -> ReLU] x (L - 1) -> Linear [-> BN]."""
  if spec.get("activation", "relu") != "relu" or spec.get("last_iternorm_groups", 0):
    raise ValueError(f"the PyTorch reference builds ReLU heads without IterNorm, got {spec}")
  layers, dim = [], in_dim
  for _ in range(spec["num_layers"] - 1):
    layers += [nn.Linear(dim, spec["hidden_dim"], bias=not spec.get("hidden_bn", True))]
    if spec.get("hidden_bn", True):
      layers.append(nn.BatchNorm1d(spec["hidden_dim"]))
    layers.append(nn.ReLU(inplace=True))
    dim = spec["hidden_dim"]
  last_bn = spec.get("last_bn", False)
  layers.append(nn.Linear(dim, spec["out_dim"], bias=spec.get("last_bias", True) and not last_bn))
  if last_bn:
    bn = nn.BatchNorm1d(spec["out_dim"], affine=spec.get("last_bn_affine", True))
    if bn.affine and not spec.get("last_bias", True):
      bn.register_parameter("bias", None)  # a scale without a shift (SimCLR's center=False)
    layers.append(bn)
  return nn.Sequential(*layers)


class SSLNet(nn.Module):
  """Backbone, projector and (MIRA) weight-normalised prototypes."""

  def __init__(self, model, method_config):
    super().__init__()
    self.backbone = getattr(torchvision_resnets(), model)()
    features = self.backbone.fc.in_features
    self.backbone.fc = nn.Identity()
    projector = method_config.projector.to_dict()
    self.projector = mlp(projector, features)
    num = method_config.get("num_prototypes")
    self.prototypes = (nn.Parameter(torch.randn(num, projector["out_dim"]) * 0.01)
                       if num else None)

  def forward(self, x):
    z = self.projector(self.backbone(x))
    if self.prototypes is None:
      return z
    return F.normalize(z.float(), dim=-1) @ F.normalize(self.prototypes, dim=-1).T


@dataclasses.dataclass
class Step:
  """One method's compiled step on fixed inputs."""
  run: callable       # () -> None, one optimiser step (synchronised)
  flops: float        # per step, counted by torch.utils.flop_counter
  memory: int         # bytes, peak of torch's allocator (0 on CPU)
  compile_s: float
  sizes: tuple
  model: nn.Module    # the online network the step trains


def _sync(device):
  if device.type == "cuda":
    torch.cuda.synchronize()


def _param_groups(model):
  """Weight decay and LARS adaptation on weights only (ndim >= 2), as ours."""
  decay = [p for p in model.parameters() if p.ndim >= 2]
  rest = [p for p in model.parameters() if p.ndim < 2]
  return decay, rest


def make_optimizer(model, optim_config, lr, device):
  """Fused SGD, or LARS written with foreach ops (torch has none)."""
  decay, rest = _param_groups(model)
  groups = [{"params": decay, "weight_decay": optim_config.weight_decay},
            {"params": rest, "weight_decay": 0.0}]
  fused = device.type == "cuda"
  sgd = torch.optim.SGD(groups, lr=lr, momentum=optim_config.momentum, fused=fused)
  if optim_config.name != "lars":
    return sgd.step
  eta = optim_config.trust_coefficient
  buffers = [torch.zeros_like(p) for p in decay]
  rest_buffers = [torch.zeros_like(p) for p in rest]

  @torch.no_grad()
  def lars_step():
    grads = [p.grad for p in decay]
    torch._foreach_add_(grads, decay, alpha=optim_config.weight_decay)
    p_norms = torch._foreach_norm(decay)
    g_norms = torch._foreach_norm(grads)
    ratios = [torch.where((pn > 0) & (gn > 0), eta * pn / gn, torch.ones_like(pn))
              for pn, gn in zip(p_norms, g_norms)]
    torch._foreach_mul_(grads, ratios)
    torch._foreach_mul_(buffers, optim_config.momentum)
    torch._foreach_add_(buffers, grads)
    torch._foreach_add_(decay, buffers, alpha=-lr)
    # Biases and BatchNorm: momentum SGD without decay or trust ratio.
    torch._foreach_mul_(rest_buffers, optim_config.momentum)
    torch._foreach_add_(rest_buffers, [p.grad for p in rest])
    torch._foreach_add_(rest, rest_buffers, alpha=-lr)
  return lars_step


def _loss_fn(name, config):
  method = config.method
  if name == "simclr":
    return lambda outs: torch_losses.simclr(torch.stack(outs[:2]).float(), method.temperature)
  if name == "intl":
    return lambda outs: torch_losses.intl(torch.stack(outs[:2]).float(), method.iters)
  if name == "mira":
    def loss(outs, targets):
      return torch_losses.mira(torch.stack(outs).float(), targets.float(), method.tau_s,
                               method.tau_t, method.beta_start, method.iters)
    return loss
  raise ValueError(f"no PyTorch reference for {name!r}; choose from {METHODS}")


def build_step(name, args, device):
  """The step of ``name`` at ``args``' model, size, batch and precision."""
  config = recipe_config(name, args.recipes)
  views = VIEW_PRESETS.lookup(config.data.views).resized(args.size)
  specs = views.views if name == "mira" else views.views[:2]
  torch.manual_seed(0)
  model = SSLNet(args.model, config.method).to(device).to(memory_format=torch.channels_last)
  teacher = copy.deepcopy(model).requires_grad_(False) if name == "mira" else None
  step_opt = make_optimizer(model, config.optim, 0.1, device)
  loss_fn = _loss_fn(name, config)
  dtype = torch.bfloat16 if args.precision == "bfloat16" else None
  mean = torch.tensor(MEAN, device=device).view(1, 3, 1, 1)
  std = torch.tensor(STD, device=device).view(1, 3, 1, 1)
  gen = torch.Generator(device="cpu").manual_seed(0)
  inputs = [torch.randint(0, 256, (args.batch, s.size, s.size, 3), generator=gen,
                          dtype=torch.uint8).to(device) for s in specs]

  def forward(net, images):
    """One pass per view size: the views of one size concatenated."""
    outs, by_size = [None] * len(images), {}
    for i, x in enumerate(images):
      by_size.setdefault(x.shape[-1], []).append(i)
    for idx in by_size.values():
      x = torch.cat([images[i] for i in idx]).contiguous(memory_format=torch.channels_last)
      with torch.autocast(device.type, dtype=dtype, enabled=dtype is not None):
        out = net(x)
      for j, i in enumerate(idx):
        outs[i] = out[j * args.batch:(j + 1) * args.batch]
    return outs

  def objective(images):
    x = [(augment(v, spec) - mean) / std for v, spec in zip(images, specs)]
    outs = forward(model, x)
    if teacher is None:
      return loss_fn(outs)
    with torch.no_grad():
      targets = torch.stack(forward(teacher, x[:2]))
    return loss_fn(outs, targets)

  compiled = objective if args.no_compile else torch.compile(objective)

  def run():
    loss = compiled(inputs)
    loss.backward()
    step_opt()
    model.zero_grad(set_to_none=True)
    if teacher is not None:
      with torch.no_grad():
        torch._foreach_lerp_(list(teacher.parameters()), list(model.parameters()), 0.01)
    _sync(device)

  start = time.perf_counter()
  run()  # compiles
  compile_s = time.perf_counter() - start
  from torch.utils.flop_counter import FlopCounterMode  # pylint: disable=g-import-not-at-top
  with FlopCounterMode(display=False) as counter:
    loss = objective(inputs)
    loss.backward()
  model.zero_grad(set_to_none=True)
  if device.type == "cuda":
    torch.cuda.reset_peak_memory_stats()
  run()
  memory = torch.cuda.max_memory_allocated() if device.type == "cuda" else 0
  return Step(run, float(counter.get_total_flops()), memory, compile_s,
              tuple(s.size for s in specs), model)


def time_step(step, steps):
  times = []
  for _ in range(steps):
    start = time.perf_counter()
    step.run()
    times.append(time.perf_counter() - start)
  return statistics.median(times)


def row(name, step, seconds, batch, peak):
  mfu = f"{100 * step.flops / seconds / peak:.1f} %" if peak else "-"
  return (f"| {name} | {'+'.join(map(str, step.sizes))} | {seconds * 1e3:.1f} | "
          f"{batch / seconds:.0f} | {step.compile_s:.1f} | {step.memory / 2 ** 20:.0f} MiB | "
          f"{step.flops / 1e9:.1f} | {mfu} |")


def add_arguments(parser):
  parser.add_argument("--methods", default=",".join(METHODS))
  parser.add_argument("--recipes", default="imagenet", choices=("quickstart", "imagenet"))
  parser.add_argument("--model", default="resnet50")
  parser.add_argument("--size", type=int, default=224, help="side of the first view")
  parser.add_argument("--batch", type=int, default=256)
  parser.add_argument("--steps", type=int, default=10)
  parser.add_argument("--precision", default="bfloat16", choices=("float32", "bfloat16"))
  parser.add_argument("--no_compile", action="store_true", help="eager PyTorch")


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  add_arguments(parser)
  parser.add_argument("--peak_tflops", type=float, default=0.0,
                      help="the device's measured peak, for the MFU column")
  args = parser.parse_args()
  device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
  name = torch.cuda.get_device_name() if device.type == "cuda" else "cpu"
  print(f"{name}, torch {torch.__version__}, {time.strftime('%Y-%m-%d')}: {args.model}, "
        f"batch {args.batch}, {args.precision}, compile {not args.no_compile}\n")
  print("| method | views (px) | ms/step | images/s | compile (s) | memory | GFLOP/step | MFU |")
  print("|---|---|---|---|---|---|---|---|")
  for method in args.methods.split(","):
    step = build_step(method, args, device)
    print(row(method, step, time_step(step, args.steps), args.batch,
              args.peak_tflops * 1e12), flush=True)


if __name__ == "__main__":
  main()
