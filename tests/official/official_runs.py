"""Drives each official training loop for the fixture generator (generate.py).

Every ``run_<method>(checkout)`` returns ``(meta, views, init, runs)``: the
hyper-parameters ssl_jax needs to build the same step (meta), the stored
uint8 views, the initial variables and, for k in (1, 3), the variables
after k official steps with the per-step records.  Variables are flat
{"params/backbone/...": array} in ssl_jax's layout; a teacher's are under
"ema_params/" and "ema_batch_stats/", a queue under "method_state/".
"""
import importlib
import importlib.machinery
import os
import socket
import sys
import types

import numpy as np
import torch
from torch import nn

import generate
import torch_tiny

STEPS = (1, 3)


# ----------------------------------------------------------------- stand-ins

def stub_module(name, **attrs):
  """Registers a module the official code imports but the step never uses."""
  module = types.ModuleType(name)
  module.__spec__ = importlib.machinery.ModuleSpec(name, None)
  module.__dict__.update(attrs)
  sys.modules[name] = module
  parent, _, child = name.rpartition(".")
  if parent and parent in sys.modules:
    setattr(sys.modules[parent], child, module)
  return module


def bare_package(name, path):
  """A package whose __init__ is skipped (it imports unrelated subpackages)."""
  module = types.ModuleType(name)
  module.__path__ = [path]
  sys.modules[name] = module
  return module


def cpu_only():
  """The official code places tensors and modules on 'cuda' (this is a CPU)."""
  tensor_to, module_to = torch.Tensor.to, nn.Module.to

  def on_cpu(args):
    d = args[0] if args else None
    if (isinstance(d, int) and not isinstance(d, bool)) or (
        isinstance(d, str) and d.startswith("cuda")):
      return ("cpu",) + tuple(args[1:])
    return args

  torch.Tensor.cuda = lambda self, *a, **k: self
  nn.Module.cuda = lambda self, *a, **k: self
  torch.Tensor.to = lambda self, *a, **k: tensor_to(self, *on_cpu(a), **k)
  nn.Module.to = lambda self, *a, **k: module_to(self, *on_cpu(a), **k)


def process_group():
  """A one-process gloo group: the official code all-reduces and gathers."""
  import torch.distributed as dist  # pylint: disable=import-outside-toplevel
  with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
  os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
  dist.init_process_group("gloo", rank=0, world_size=1)


def fake_torchvision(**builders):
  tv = stub_module("torchvision")
  stub_module("torchvision.models", **builders)
  stub_module("torchvision.transforms")
  stub_module("torchvision.datasets")
  return tv


def tiny_backbone(zero_init_residual=False, **_):
  return torch_tiny.TinyResNet(zero_init_residual=zero_init_residual)


def tiny_trunk(zero_init_residual=False):
  """A backbone whose forward returns the pooled features (no classifier)."""
  net = tiny_backbone(zero_init_residual)
  net.fc = nn.Identity()
  return net


class FixedLoader:
  """A data loader of stored batches that reports the epoch's length."""

  def __init__(self, batches, length):
    self.batches, self.length = batches, length

  def __iter__(self):
    return iter(self.batches)

  def __len__(self):
    return self.length


# ---------------------------------------------------------------------- MIRA

MIRA_STEPS_PER_EPOCH = 2
MIRA_SIZES = (16, 16, 8, 8)


def _mira_mapping(model):
  m = torch_tiny.Mapping()
  for prefix, nets in (("", model.model), ("ema_", model.ema_model)):
    m.add_module(nets["encoder"], "backbone", prefix)
    m.add_module(nets["projector"], "projector", prefix)
    m.add_tensor(nets["head"].weight_v, prefix + "params/prototypes/kernel")
  return m


def run_mira(root):
  torch.manual_seed(0)
  sys.path.insert(0, root)
  cpu_only()
  stub_module("wandb")
  fake_torchvision(tiny=tiny_backbone)
  importlib.import_module("src")  # its package __init__ before the stub below
  stub_module("src.loader", prepare_imagenet_dataloader=None,
              prepare_imagenet_val_dataloader=None, DINOTransform=None)
  import train as official  # pylint: disable=import-outside-toplevel
  from src.logger import Logger  # pylint: disable=import-outside-toplevel
  process_group()
  argv = ["--arch", "tiny", "--out-dim", "16", "--proj-hidden-dim", "32",
          "--num-prototypes", "20", "--batch-size", str(generate.BATCH), "--epochs", "3",
          "--num-local-crops", "2", "--optimizer", "lars", "--lr", "16.0",
          "--weight-decay", "1e-4", "--warm-up-epochs", "1", "--warm-up-start-lr", "0.3",
          "--freeze-head-epochs", "1", "--ema-momentum", "0.9", "--distributed", "false"]
  views = generate.make_views(0, MIRA_SIZES, max(STEPS))
  trust = 0.02

  def build():
    t = official.Trainer.__new__(official.Trainer)
    t.args = official.Trainer.configure(official.Trainer.get_args_parser().parse_args(argv))
    t.args.iters_per_epoch = MIRA_STEPS_PER_EPOCH
    t.args.local_rank = 1  # no progress bar
    t._build_model()
    t._build_optimizer()
    for group in t.optimizer.param_groups:
      group["eta"] = trust
    t.logger = Logger(wandb_logger=None)
    return t

  init = torch_tiny.randomize(_mira_mapping(build().model), seed=1)
  runs = {}
  for k in STEPS:
    t = build()
    mapping = _mira_mapping(t.model)
    mapping.load(init)
    records = {"loss": [], "lr": [], "beta": [], "ema_momentum": []}
    step_fn = t._train_step

    def recorded(batch, epoch, t=t, step_fn=step_fn, records=records):
      records["lr"].append(t.optimizer.param_groups[0]["lr"])
      records["beta"].append(t.beta_momentum)
      records["ema_momentum"].append(t.ema_momentum)
      outs = step_fn(batch, epoch)
      records["loss"].append(float(outs["Train/loss"]))
      return outs

    t._train_step = recorded
    batches = [(generate.to_torch(v), torch.zeros(generate.BATCH)) for v in views[:k]]
    for epoch in range((k + MIRA_STEPS_PER_EPOCH - 1) // MIRA_STEPS_PER_EPOCH):
      chunk = batches[epoch * MIRA_STEPS_PER_EPOCH:(epoch + 1) * MIRA_STEPS_PER_EPOCH]
      t.train_loader = FixedLoader(chunk, MIRA_STEPS_PER_EPOCH)
      t.train_loop(epoch)
    # The teacher the next step would use (ssl_jax stores it after a step).
    records["ema_momentum"].append(t.ema_momentum)
    with torch.no_grad():
      t.model._update_ema_params(t.ema_momentum)
    runs[k] = (mapping.export(), records)
  meta = dict(sizes=MIRA_SIZES, num_global=2, steps_per_epoch=MIRA_STEPS_PER_EPOCH,
              total_steps=3 * MIRA_STEPS_PER_EPOCH, optimizer="lars", trust_coefficient=trust,
              weight_decay=1e-4, momentum=0.9,
              method=dict(name="mira", projector=dict(hidden_dim=32, out_dim=16, num_layers=3),
                          num_prototypes=20, tau_s=0.1, tau_t=0.225, beta_start=0.75,
                          beta_end=2.0 / 3.0, iters=30, ema_momentum=0.9,
                          freeze_prototypes_epochs=1.0))
  return meta, views, init, runs


# ---------------------------------------------------------------------- INTL

INTL_STEPS_PER_EPOCH = 5


def _intl_mapping(module, ema):
  m = torch_tiny.Mapping()
  m.add_module(module.backbone, "backbone")
  m.add_module(module.projection, "projector")
  if ema:
    m.add_module(module.momentum_backbone, "backbone", "ema_")
    m.add_module(module.momentum_projection, "projector", "ema_")
  return m


def _run_intl(root, ema):
  torch.manual_seed(0)
  sys.path.insert(0, root)
  cpu_only()
  stub_module("wandb")
  fake_torchvision()
  import src.resnet  # pylint: disable=import-outside-toplevel
  src.resnet.tiny = lambda zero_init_residual=False: (tiny_trunk(zero_init_residual), 8)
  stub_module("src.transform", Augmentations=None, ImageNetTransform=None, Multi_Crop=None)
  import cfg as official_cfg  # pylint: disable=import-outside-toplevel
  import main as official  # pylint: disable=import-outside-toplevel
  from methods import get_method  # pylint: disable=import-outside-toplevel
  process_group()
  sizes = (16, 16, 8) if ema else (16, 16)
  sys.argv = ["main.py", "--arch", "tiny", "--bs", str(generate.BATCH), "--lr", "4.0",
              "--epochs", "3", "--warmup_eps", "1", "--emb", "32", "--projection_size", "32",
              "--projection_layers", "3", "--axis", "0", "--iters", "4", "--m", "0.9",
              "--method", "intl_m" if ema else "intl", "--print-freq", "1000"]
  views = generate.make_views(2 if ema else 1, sizes, max(STEPS))

  def build():
    cfg = official_cfg.get_cfg()
    # main_worker's set-up (it spawns one process per GPU, so it is not called).
    model = get_method(cfg.method)(cfg)
    cfg.base_lr = cfg.lr * cfg.bs / 256
    model = torch.nn.parallel.DistributedDataParallel(model)
    biases = [p for p in model.parameters() if p.ndim == 1]
    weights = [p for p in model.parameters() if p.ndim != 1]
    optimizer = torch.optim.SGD([{"params": biases, "weight_decay": 0},
                                 {"params": weights, "weight_decay": cfg.weight_decay}],
                                lr=0, momentum=0.9)
    cfg.total_steps = cfg.epochs * INTL_STEPS_PER_EPOCH
    cfg.warmup_steps = cfg.warmup_eps * INTL_STEPS_PER_EPOCH
    return cfg, model, optimizer

  init = torch_tiny.randomize(_intl_mapping(build()[1].module, ema), seed=3)
  runs = {}
  for k in STEPS:
    config, model, optimizer = build()
    mapping = _intl_mapping(model.module, ema)
    mapping.load(init)
    records = {"loss": [], "lr": [], "ema_momentum": []}
    forward, opt_step = model.forward, optimizer.step

    def recorded_forward(*a, forward=forward, records=records, model=model, **kw):
      records["ema_momentum"].append(model.module.m)
      loss = forward(*a, **kw)
      records["loss"].append(float(loss))
      return loss

    def recorded_step(*a, opt_step=opt_step, records=records, optimizer=optimizer, **kw):
      records["lr"].append(optimizer.param_groups[0]["lr"])
      return opt_step(*a, **kw)

    model.forward, optimizer.step = recorded_forward, recorded_step
    batches = [(generate.to_torch(v), torch.zeros(generate.BATCH)) for v in views[:k]]
    scaler = torch.cuda.amp.GradScaler()
    official.train(FixedLoader(batches, INTL_STEPS_PER_EPOCH), model, optimizer, scaler, 0,
                   config)
    if ema:
      official.adjust_momentum(model, config, k)
      records["ema_momentum"].append(model.module.m)
      model.module._momentum_update_key_encoder(model.module.m)
    else:
      del records["ema_momentum"]
    runs[k] = (mapping.export(), records)
  meta = dict(sizes=sizes, num_global=2, steps_per_epoch=INTL_STEPS_PER_EPOCH,
              total_steps=3 * INTL_STEPS_PER_EPOCH, optimizer="sgd", weight_decay=1e-5,
              momentum=0.9,
              method=dict(name="intl", projector=dict(hidden_dim=32, out_dim=32, num_layers=3),
                          iters=4, axis="batch", trade_off=None,
                          ema_momentum=0.9 if ema else None))
  return meta, views, init, runs


def run_intl(root):
  return _run_intl(root, ema=False)


def run_intl_ema(root):
  return _run_intl(root, ema=True)


# ----------------------------------------------------------------------- SCE

SCE_STEPS_PER_EPOCH = 5
SCE_SIZES = (16, 16, 8, 8)


def _sce_mapping(model):
  m = torch_tiny.Mapping()
  m.add_module(model.trunk, "backbone")
  m.add_module(model.projector, "projector")
  m.add_module(model.predictor, "predictor")
  m.add_module(model.momentum_trunk, "backbone", "ema_")
  m.add_module(model.momentum_projector, "projector", "ema_")
  m.add_tensor(model.queue, "method_state/queue", lambda t: t.detach().numpy().T.copy(),
               lambda x: torch.from_numpy(np.ascontiguousarray(np.asarray(x).T)))
  m.add_tensor(model.queue_ptr, "method_state/ptr",
               lambda t: np.asarray(int(t[0]), np.int32),
               lambda x: torch.tensor([int(x)], dtype=torch.long))
  return m


def _sce_config(trust, lr, weight_decay):
  from omegaconf import OmegaConf  # pylint: disable=import-outside-toplevel
  mlp = dict(_target_="eztorch.models.heads.MLPHead", activation_inplace=True,
             activation_layer="relu", affine=True, bias=False, dropout=0.0,
             norm_layer="bn_1D", last_bias=False, hidden_dims=[32])
  return OmegaConf.create(dict(
      trunk=dict(_target_="official_runs.tiny_trunk"),
      projector=dict(mlp, input_dim=8, output_dim=16, num_layers=3, hidden_dims=[32, 32],
                     last_norm=True, last_affine=False),
      predictor=dict(mlp, input_dim=16, output_dim=16, num_layers=2, last_norm=False),
      optimizer=dict(
          _target_="eztorch.optimizers.optimizer_factory", _recursive_=False, name="lars",
          initial_lr=lr, batch_size=generate.BATCH, scaler="linear",
          exclude_wd_norm=False, exclude_wd_bias=False,
          params=dict(momentum=0.9, trust_coefficient=trust, weight_decay=weight_decay),
          scheduler=dict(_target_="eztorch.schedulers.scheduler_factory", _recursive_=False,
                         name="linear_warmup_cosine_annealing_lr", interval="step",
                         params=dict(max_epochs=3, warmup_epochs=1, warmup_start_lr=0.0,
                                     eta_min=0.0))),
      queue=dict(size=64, feature_dim=16)))


def run_sce(root, sym=True):
  """eztorch's SCEModel, symmetric (``sym``) or one-directional."""
  torch.manual_seed(0)
  sys.path.insert(0, root)
  for pkg in ("eztorch", "eztorch.models", "eztorch.models.siamese", "eztorch.losses"):
    bare_package(pkg, os.path.join(root, *pkg.split(".")))
  import lightning.pytorch as pl  # pylint: disable=import-outside-toplevel
  from eztorch.models.siamese.sce import SCEModel  # pylint: disable=import-outside-toplevel
  trust, lr, weight_decay = 0.02, 4.0, 1e-4
  cfg = _sce_config(trust, lr, weight_decay)
  views = generate.make_views(4, SCE_SIZES, SCE_STEPS_PER_EPOCH)

  def build():
    return SCEModel(trunk=cfg.trunk, optimizer=cfg.optimizer, projector=cfg.projector,
                    predictor=cfg.predictor, queue=cfg.queue, num_global_crops=2,
                    num_local_crops=2, initial_momentum=0.9, scheduler_momentum="cosine",
                    shuffle_bn=False, sym=sym, use_keys=False, temp=0.1, temp_m=0.07,
                    start_warmup_temp_m=0.2, warmup_epoch_temp_m=1,
                    warmup_scheduler_temp_m="cosine", coeff=0.5)

  class Data(pl.LightningDataModule):
    train_num_samples = SCE_STEPS_PER_EPOCH * generate.BATCH
    train_global_batch_size = train_local_batch_size = generate.BATCH

    def train_dataloader(self):
      batches = [{"input": generate.to_torch(v)} for v in views]
      return torch.utils.data.DataLoader(batches, batch_size=None, shuffle=False)

  class Recorder(pl.Callback):

    def __init__(self):
      self.records = {"loss": [], "lr": [], "tau_m": [], "ema_momentum": [0.9]}

    def on_train_batch_start(self, trainer, module, batch, batch_idx):
      self.records["lr"].append(trainer.optimizers[0].param_groups[0]["lr"])

    def on_train_batch_end(self, trainer, module, outputs, batch, batch_idx):
      # Runs before the module's own hook: the momentum it is about to use.
      self.records["loss"].append(float(outputs["loss"]))
      self.records["tau_m"].append(module.temp_m)
      self.records["ema_momentum"].append(module.current_momentum)

  init = torch_tiny.randomize(_sce_mapping(build()), seed=5)
  runs = {}
  for k in STEPS:
    model = build()
    mapping = _sce_mapping(model)
    mapping.load(init)
    recorder = Recorder()
    trainer = pl.Trainer(accelerator="cpu", devices=1, max_epochs=3, max_steps=k,
                         logger=False, enable_checkpointing=False, enable_progress_bar=False,
                         enable_model_summary=False, num_sanity_val_steps=0,
                         limit_val_batches=0, callbacks=[recorder])
    trainer.fit(model, datamodule=Data())
    runs[k] = (mapping.export(), recorder.records)
  meta = dict(sizes=SCE_SIZES, num_global=2, steps_per_epoch=SCE_STEPS_PER_EPOCH,
              total_steps=3 * SCE_STEPS_PER_EPOCH, optimizer="lars", trust_coefficient=trust,
              weight_decay=weight_decay, momentum=0.9,
              method=dict(name="sce",
                          projector=dict(hidden_dim=32, out_dim=16, num_layers=3, last_bn=True,
                                         last_bn_affine=False),
                          predictor=dict(hidden_dim=32, out_dim=16, num_layers=2,
                                         last_bias=False), lam=0.5,
                          temperature=0.1, temperature_m=0.07, temperature_m_start=0.2,
                          temperature_m_warmup_epochs=1.0, queue_size=64, ema_momentum=0.9,
                          symmetric=sym))
  return meta, views, init, runs


def run_sce_asym(root):
  return run_sce(root, sym=False)


# ----------------------------------------------------------------------- MIO

MIO_SIZES = (16, 16)


def _mio_mapping(model):
  m = torch_tiny.Mapping()
  m.add_module(model.net.base_encoder, "backbone")
  m.add_module(model.net.projector, "projector")
  return m


def run_mio(root):
  torch.manual_seed(0)
  sys.path.insert(0, root)
  cpu_only()
  fake_torchvision(resnet50=tiny_backbone)
  stub_module("sklearn")
  stub_module("sklearn.manifold", TSNE=None)
  stub_module("matplotlib")
  stub_module("matplotlib.pyplot")
  stub_module("torch.utils.tensorboard", SummaryWriter=None)
  # miossl passes LRScheduler a ``verbose`` argument (printing only) that
  # PyTorch 2.13 no longer takes.
  scheduler_init = torch.optim.lr_scheduler.LRScheduler.__init__
  torch.optim.lr_scheduler.LRScheduler.__init__ = (
      lambda self, optimizer, last_epoch=-1, verbose=None: scheduler_init(
          self, optimizer, last_epoch))
  importlib.import_module("miossl")  # the package before the stub of its submodule
  stub_module("miossl.perf_metrics", get_performance_metrics=None)
  import miossl.mio as official  # pylint: disable=import-outside-toplevel
  from miossl.trainer import Trainer  # pylint: disable=import-outside-toplevel
  trust, lr, weight_decay = 0.02, 0.5, 1e-4
  views = generate.make_views(6, MIO_SIZES, max(STEPS))

  def build():
    # '16x16' keeps our stem (miossl swaps in a 64-channel one at 32 px).
    model = official.MIOModel(optim="lars", data_dims="16x16", lr=lr, temperature=0.5,
                              lambda_loss=1.0, weight_decay=weight_decay, warmup_epochs=2,
                              max_epochs=10, warmup_start_lr=lr, eta_min=0.0,
                              pretrain_batch_size=generate.BATCH, proj_num_layers=2,
                              projector_hid_dim=32, projector_out_dim=16)
    model.optimizer.eeta = trust
    # miossl's LARS exempts parameters whose names contain 'bn' or 'bias';
    # torchvision names a downsampling BatchNorm 'downsample.1', so its scale
    # alone among the BatchNorms would be decayed and adapted.  ssl_jax
    # exempts every BatchNorm (MIO's docstring), and so does this fixture.
    for group in model.optimizer.param_groups:
      group["param_names"] = [n.replace("downsample.1.", "downsample.bn.")
                              for n in group["param_names"]]
    return model

  init = torch_tiny.randomize(_mio_mapping(build()), seed=7)
  runs = {}
  for k in STEPS:
    model = build()
    mapping = _mio_mapping(model)
    mapping.load(init)
    records = {"loss": [], "lr": []}
    step = model.step

    def recorded(stage, batch, idx, step=step, records=records, model=model):
      records["lr"].append(model.optimizer.param_groups[0]["lr"])
      loss = step(stage, batch, idx)
      records["loss"].append(float(loss))
      return loss

    model.step = recorded
    batches = [(*generate.to_torch(v), torch.zeros(generate.BATCH)) for v in views[:k]]
    Trainer.train_epoch(None, model, batches, model.optimizer)
    runs[k] = (mapping.export(), records)
  meta = dict(sizes=MIO_SIZES, num_global=2, steps_per_epoch=k, total_steps=10 * k,
              optimizer="lars", trust_coefficient=trust, weight_decay=weight_decay,
              momentum=0.9,
              method=dict(name="mio",
                          projector=dict(hidden_dim=32, out_dim=16, num_layers=2, last_bn=True),
                          temperature_pos=0.5, temperature_neg=0.5, lam=1.0, regularizer="mean"))
  return meta, views, init, runs


RUNS = {"mira": run_mira, "intl": run_intl, "intl_ema": run_intl_ema, "sce": run_sce,
        "sce_asym": run_sce_asym, "mio": run_mio}
