"""DINO's official training loop for the fixture generator (generate.py --dino=DIR).

main_dino.py's ``train_one_epoch`` runs as written: a student and a teacher
``MultiCropWrapper(TinyResNet, DINOHead)`` (no BN in the head, last layer
weight-normalised with g = 1), ``DINOLoss`` with its teacher-temperature
warm-up and centre, AdamW on ``utils.get_params_groups`` with the
per-iteration lr and weight-decay schedules of ``utils.cosine_scheduler``,
``clip_gradients``, the last layer's gradients cancelled in epoch 0, and
the teacher's EMA after the update.  Epochs of 2 iterations, so the third
step is the last layer's first update.  Stand-ins: a data loader of stored
batches, a wrapper with ``.module`` in place of DistributedDataParallel,
``dist`` of one process for the centre's all-reduce, no CUDA synchronise.
"""
import importlib
import sys
import types

import numpy as np
import torch
from torch import nn

import generate
import official_runs
import torch_tiny

STEPS_PER_EPOCH = 2
EPOCHS = 3
SIZES = (16, 16, 8, 8)
K, HIDDEN, BOTTLENECK = 20, 32, 16


class ModuleHolder(nn.Module):
  """DistributedDataParallel's interface the loop uses: ``.module`` and a
  forward; parameter names gain the ``module.`` prefix as under DDP."""

  def __init__(self, module):
    super().__init__()
    self.module = module

  def forward(self, x):
    return self.module(x)


def _mapping(student, teacher):
  m = torch_tiny.Mapping()
  for prefix, net in (("", student), ("ema_", teacher)):
    m.add_module(net.backbone, "backbone", prefix)
    m.add_module(net.head.mlp, "projector", prefix)
    m.add_tensor(net.head.last_layer.weight_v, prefix + "params/prototypes/kernel")
  return m


def _import_official(root):
  sys.path.insert(0, root)
  official_runs.cpu_only()
  official_runs.fake_torchvision()
  torch.cuda.synchronize = lambda *a, **k: None
  main_dino = importlib.import_module("main_dino")
  # The centre's all-reduce over one process is the identity.
  main_dino.dist = types.SimpleNamespace(all_reduce=lambda t: t, get_world_size=lambda: 1)
  return main_dino


def run_dino(root):
  torch.manual_seed(0)
  main_dino = _import_official(root)
  utils, vits = main_dino.utils, main_dino.vits
  args = types.SimpleNamespace(epochs=EPOCHS, clip_grad=0.3, freeze_last_layer=1)
  lr = 0.05 * generate.BATCH / 256  # AdamW moves each weight by ~lr: a few % of it
  lrs = utils.cosine_scheduler(lr, 1e-3, EPOCHS, STEPS_PER_EPOCH, warmup_epochs=1,
                               start_warmup_value=0.1 * lr)
  wds = utils.cosine_scheduler(0.04, 0.4, EPOCHS, STEPS_PER_EPOCH)
  moms = utils.cosine_scheduler(0.9, 1.0, EPOCHS, STEPS_PER_EPOCH)
  views = generate.make_views(0, SIZES, 3)

  def build():
    nets = [main_dino.utils.MultiCropWrapper(
        official_runs.tiny_trunk(),
        vits.DINOHead(torch_tiny.TinyResNet().fc.in_features, K, use_bn=False,
                      norm_last_layer=True, hidden_dim=HIDDEN, bottleneck_dim=BOTTLENECK))
            for _ in range(2)]
    loss = main_dino.DINOLoss(K, len(SIZES), 0.04, 0.07, 2, EPOCHS)
    return nets[0], nets[1], loss

  init = torch_tiny.randomize(_mapping(*build()[:2]), seed=1)
  # The centre is reassigned (not updated in place) by DINOLoss: set and read directly.
  init["method_state/center"] = np.random.default_rng(2).normal(0, 0.1, K).astype(np.float32)
  runs = {}
  for k in (1, 3):
    student, teacher, loss = build()
    mapping = _mapping(student, teacher)
    mapping.load(init)
    loss.center = torch.from_numpy(init["method_state/center"][None].copy())
    for p in teacher.parameters():
      p.requires_grad = False
    holder = ModuleHolder(student)
    optimizer = torch.optim.AdamW(utils.get_params_groups(holder))
    records = {"loss": [], "lr": [], "weight_decay": [], "teacher_temp": [],
               "ema_momentum": [moms[0]]}
    forward = loss.forward

    def recorded(s_out, t_out, epoch, forward=forward, records=records):
      value = forward(s_out, t_out, epoch)
      records["loss"].append(float(value))
      records["teacher_temp"].append(float(loss.teacher_temp_schedule[epoch]))
      return value

    loss.forward = recorded
    batches = [(generate.to_torch(v), torch.zeros(generate.BATCH)) for v in views[:k]]
    for epoch in range((k + STEPS_PER_EPOCH - 1) // STEPS_PER_EPOCH):
      chunk = batches[epoch * STEPS_PER_EPOCH:(epoch + 1) * STEPS_PER_EPOCH]
      main_dino.train_one_epoch(holder, teacher, teacher, loss,
                                official_runs.FixedLoader(chunk, STEPS_PER_EPOCH), optimizer,
                                lrs, wds, moms, epoch, None, args)
    for it in range(k):
      records["lr"].append(lrs[it])
      records["weight_decay"].append(wds[it])
      records["ema_momentum"].append(moms[it])  # after step it: the step's s + 1 entry
    values = mapping.export()
    values["method_state/center"] = loss.center.numpy().astype(np.float32)[0]
    runs[k] = (values, records)
  meta = dict(sizes=SIZES, num_global=2, steps_per_epoch=STEPS_PER_EPOCH,
              total_steps=EPOCHS * STEPS_PER_EPOCH, optimizer="adamw", weight_decay=0.04,
              weight_decay_end=0.4, clip_grad=0.3, momentum=0.9,
              method=dict(name="dino", projector=dict(hidden_dim=HIDDEN, out_dim=BOTTLENECK,
                                                      num_layers=3, hidden_bn=False,
                                                      activation="gelu"),
                          num_prototypes=K, student_temp=0.1, teacher_temp=0.07,
                          warmup_teacher_temp=0.04, warmup_teacher_temp_epochs=2,
                          center_momentum=0.9, freeze_prototypes_epochs=1.0,
                          ema_momentum=0.9))
  return meta, views, init, runs
