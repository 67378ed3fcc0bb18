"""iBOT's official training loop for the fixture generator (generate.py --ibot=DIR).

main_ibot.py's ``train_one_epoch`` runs as written on iBOT's own
``VisionTransformer`` (a micro one: patch 8, width 16, one block, the
224 px base grid, so the 32 px global crops' position embeddings are
interpolated) in ``MultiCropWrapper`` with ``iBOTHead`` (shared head, no
BatchNorm, last layer weight-normalised with a trained gain: the recipes'
``--norm_last_layer false``), ``iBOTLoss`` with both
teacher-temperature warm-ups and centres, AdamW on ``get_params_groups``
with the per-iteration lr and weight-decay schedules, ``clip_gradients``,
the last layer's gradients cancelled in epoch 0 and the teacher's EMA after
the update.  Epochs of 2 iterations, so the third step is the last layer's
first update.

The masks: the official loader draws them on the host, ssl_jax inside the
step from the step's key, so the fixture's masks are the ones ssl_jax's
step draws (``masks_of_step``, ssl_jax's model applied with the keys the
step derives; tests/test_official_steps.py checks they still are) and the
official loop is given them.  Its loader's own draw is compared in
distribution, not value (tests/test_block_masking.py).

Stand-ins: a data loader of stored batches, a wrapper with ``.module`` in
place of DistributedDataParallel, a one-process gloo group for the centres'
all-reduce and the accuracy's all-gather, no CUDA, ``eval_pred`` (NMI of
the epoch's predictions, logged only) returning zeros, log meters not
averaged across processes (that builds a CUDA tensor), and timm's
``register_model`` (the only name vision_transformer.py takes from timm) as
the identity.  The teacher has no mask token there (ssl_jax's keeps an
unused EMA of the student's), so the fixture's teacher starts with the
student's and is not compared.
"""
import importlib
import sys
import types

import jax
import jax.numpy as jnp
import numpy as np
import torch
from torch import nn

import generate
import official_runs
import torch_tiny
from ssl_jax.models import SSLModel, VisionTransformer
from ssl_jax.models.block_masking import BlockMaskSpec
from ssl_jax.models.heads import HeadSpec, MLPSpec, PrototypeSpec
from ssl_jax.models.timm_names import from_timm, to_timm
from ssl_jax.train.step import group_rngs

STEPS_PER_EPOCH = 2
EPOCHS = 3
SIZES = (32, 32, 16, 16)
K, HIDDEN, BOTTLENECK = 20, 32, 16
VIT = dict(patch=8, dim=16, depth=1, heads=2)
RATIOS, RATIO_VARS = (0.0, 0.4), (0.0, 0.2)


class ModuleHolder(nn.Module):
  """DistributedDataParallel's interface the loop uses (``.module``, a
  forward with keyword arguments)."""

  def __init__(self, module):
    super().__init__()
    self.module = module

  def forward(self, x, **kwargs):
    return self.module(x, **kwargs)


def masks_of_step(step, batch):
  """bool [2, N, 4, 4]: the masks ssl_jax's step ``step`` draws for its two
  global crops under the key ``jax.random.key(0)`` (the online network's
  key ``fold_in(fold_in(key, step), 1)``, its group 0: the masked crops)."""
  spec = HeadSpec(projector=MLPSpec(HIDDEN, BOTTLENECK, 3, hidden_bn=False, activation="gelu"),
                  prototypes=PrototypeSpec(K), patch_masks=BlockMaskSpec(RATIOS, RATIO_VARS))
  model = SSLModel(VisionTransformer(**VIT), spec)
  x = jnp.zeros((2, batch, SIZES[0], SIZES[0], 3))
  variables = model.init(jax.random.key(0), x, train=True)
  online = jax.random.fold_in(jax.random.fold_in(jax.random.key(0), step), 1)
  out = model.apply(variables, x, train=True, mask_patches=True, rngs=group_rngs(online, 0))
  grid = SIZES[0] // VIT["patch"]
  return np.asarray(out["mask"]).reshape(2, batch, grid, grid) > 0


def _backbone_shapes():
  vit = VisionTransformer(**VIT)
  x = jnp.zeros((1, 1, SIZES[0], SIZES[0], 3))
  return jax.eval_shape(lambda: vit.init(jax.random.key(0), x, train=False))["params"]


def _flat(tree, prefix):
  out = {}
  for key, value in tree.items():
    if isinstance(value, dict):
      out.update(_flat(value, f"{prefix}{key}/"))
    else:
      out[prefix + key] = np.asarray(value, np.float32)
  return out


def _nested(flat, prefix):
  out = {}
  for key, value in flat.items():
    if key.startswith(prefix):
      node = out
      *parents, leaf = key[len(prefix):].split("/")
      for p in parents:
        node = node.setdefault(p, {})
      node[leaf] = value
  return out


class _ViTMapping(torch_tiny.Mapping):
  """torch_tiny.Mapping plus the ViT backbones, through ssl_jax's timm names."""

  def __init__(self, student, teacher):
    super().__init__()
    self.nets = {"": student, "ema_": teacher}
    for prefix, net in self.nets.items():
      self.add_module(net.head.mlp, "projector", prefix)
      self.add_tensor(net.head.last_layer.weight_v, prefix + "params/prototypes/kernel")
      self.add_tensor(net.head.last_layer.weight_g, prefix + "params/prototypes/gain")
    self.add_tensor(student.backbone.masked_embed, "params/backbone/mask_token",
                    lambda t: t.detach().numpy().astype(np.float32),
                    lambda x: torch.from_numpy(np.asarray(x, np.float32).copy()))

  def export(self):
    out = super().export()
    for prefix, net in self.nets.items():
      state = {k: v.detach().numpy() for k, v in net.backbone.state_dict().items()
               if k != "masked_embed"}
      out.update(_flat(from_timm(state, _backbone_shapes()), prefix + "params/backbone/"))
    return out

  @torch.no_grad()
  def load(self, values):
    super().load(values)
    for prefix, net in self.nets.items():
      params = _nested(values, prefix + "params/backbone/")
      params.pop("mask_token", None)
      state = net.backbone.state_dict()
      for name, value in to_timm(params).items():
        state[name].copy_(torch.from_numpy(value))


class ImageFolder:
  """torchvision's ImageFolder as ImageFolderMask uses it: the transform of
  an image (here none: the transform makes the crops) and a label."""

  def __init__(self, root, transform=None, **_):
    self.root, self.transform = root, transform

  def __getitem__(self, index):
    return self.transform(index), 0


def _import_official(root):
  sys.path.insert(0, root)
  official_runs.cpu_only()
  official_runs.fake_torchvision()
  official_runs.stub_module("torchvision.datasets", ImageFolder=ImageFolder)
  official_runs.stub_module("tensorboardX", SummaryWriter=None)
  official_runs.stub_module("timm")
  official_runs.stub_module("timm.models")
  official_runs.stub_module("timm.models.registry", register_model=lambda f: f)
  official_runs.stub_module("timm.models.layers", DropPath=None, to_2tuple=None,
                            trunc_normal_=None)
  for name in ("evaluation", "evaluation.unsupervised"):
    official_runs.stub_module(name)
  official_runs.stub_module("evaluation.unsupervised.unsup_cls",
                            eval_pred=lambda *a, **k: (0.0, 0.0, 0.0, 0.0))
  torch.cuda.synchronize = lambda *a, **k: None
  official_runs.process_group()
  main_ibot = importlib.import_module("main_ibot")
  # The log meters' average across processes builds a CUDA tensor.
  main_ibot.utils.SmoothedValue.synchronize_between_processes = lambda self: None
  return main_ibot


def run_ibot(root):
  torch.manual_seed(0)
  main_ibot = _import_official(root)
  utils = main_ibot.utils
  vits = importlib.import_module("models.vision_transformer")
  args = types.SimpleNamespace(epochs=EPOCHS, clip_grad=0.3, freeze_last_layer=1,
                               global_crops_number=2, use_masked_im_modeling=True)
  lr = 0.05 * generate.BATCH / 256
  lrs = utils.cosine_scheduler(lr, 1e-3, EPOCHS, STEPS_PER_EPOCH, warmup_epochs=1,
                               start_warmup_value=0.1 * lr)
  wds = utils.cosine_scheduler(0.04, 0.4, EPOCHS, STEPS_PER_EPOCH)
  moms = utils.cosine_scheduler(0.9, 1.0, EPOCHS, STEPS_PER_EPOCH)
  views = generate.make_views(0, SIZES, 3)
  masks = [masks_of_step(s, generate.BATCH) for s in range(3)]

  def build():
    nets = []
    for masked in (True, False):
      backbone = vits.VisionTransformer(
          patch_size=VIT["patch"], embed_dim=VIT["dim"], depth=VIT["depth"],
          num_heads=VIT["heads"], mlp_ratio=4, qkv_bias=True, return_all_tokens=True,
          masked_im_modeling=masked)
      # The recipes' --norm_last_layer false reaches the student only, as in
      # train_ibot; the teacher's gain is an EMA of the student's all the same.
      head = main_ibot.iBOTHead(VIT["dim"], K, patch_out_dim=K, norm=None, act="gelu",
                                norm_last_layer=not masked, shared_head=True,
                                hidden_dim=HIDDEN, bottleneck_dim=BOTTLENECK)
      nets.append(utils.MultiCropWrapper(backbone, head))
    loss = main_ibot.iBOTLoss(K, K, 2, len(SIZES) - 2, 0.04, 0.07, 0.04, 0.09, 2, EPOCHS)
    return nets[0], nets[1], loss

  init = torch_tiny.randomize(_ViTMapping(*build()[:2]), seed=1)
  rng = np.random.default_rng(2)
  init["params/backbone/mask_token"] = rng.normal(0, 0.5, (1, VIT["dim"])).astype(np.float32)
  init["ema_params/backbone/mask_token"] = init["params/backbone/mask_token"]
  init["method_state/center"] = rng.normal(0, 0.1, K).astype(np.float32)
  init["method_state/patch_center"] = rng.normal(0, 0.1, K).astype(np.float32)
  init["params/prototypes/gain"] = rng.uniform(0.5, 1.5, (K, 1)).astype(np.float32)
  init["ema_params/prototypes/gain"] = init["params/prototypes/gain"]
  runs = {}
  for k in (1, 3):
    student, teacher, loss = build()
    mapping = _ViTMapping(student, teacher)
    mapping.load(init)
    loss.center = torch.from_numpy(init["method_state/center"][None].copy())
    loss.center2 = torch.from_numpy(init["method_state/patch_center"][None, None].copy())
    for p in teacher.parameters():
      p.requires_grad = False
    holder = ModuleHolder(student)
    optimizer = torch.optim.AdamW(utils.get_params_groups(holder))
    records = {"loss": [], "lr": [], "weight_decay": [], "teacher_temp": [],
               "teacher_patch_temp": [], "ema_momentum": [moms[0]]}
    forward = loss.forward

    def recorded(*a, forward=forward, records=records, loss=loss):
      epoch = a[-1]
      value = forward(*a)
      records["loss"].append(float(value["loss"].detach()))
      records["teacher_temp"].append(float(loss.teacher_temp_schedule[epoch]))
      records["teacher_patch_temp"].append(float(loss.teacher_temp2_schedule[epoch]))
      return value

    loss.forward = recorded
    unmasked = torch.zeros((generate.BATCH, 2, 2), dtype=torch.bool)  # local crops'
    batches = [(generate.to_torch(v), torch.zeros(generate.BATCH),
                [torch.from_numpy(m) for m in masks[b]] + [unmasked, unmasked])
               for b, v in enumerate(views[:k])]
    for epoch in range((k + STEPS_PER_EPOCH - 1) // STEPS_PER_EPOCH):
      chunk = batches[epoch * STEPS_PER_EPOCH:(epoch + 1) * STEPS_PER_EPOCH]
      main_ibot.train_one_epoch(holder, teacher, teacher, loss,
                                official_runs.FixedLoader(chunk, STEPS_PER_EPOCH), optimizer,
                                lrs, wds, moms, epoch, None, args)
    for it in range(k):
      records["lr"].append(lrs[it])
      records["weight_decay"].append(wds[it])
      records["ema_momentum"].append(moms[it])
    values = mapping.export()
    values["method_state/center"] = loss.center.numpy().astype(np.float32)[0]
    values["method_state/patch_center"] = loss.center2.numpy().astype(np.float32)[0, 0]
    runs[k] = (values, records)
  meta = dict(sizes=SIZES, num_global=2, steps_per_epoch=STEPS_PER_EPOCH,
              total_steps=EPOCHS * STEPS_PER_EPOCH, optimizer="adamw", weight_decay=0.04,
              weight_decay_end=0.4, clip_grad=0.3, momentum=0.9, vit=VIT,
              noise_slices={"backbone/block1/qkv/bias": [VIT["dim"], 2 * VIT["dim"]]},
              rtol=[1e-5, 3e-4],
              masks=[m.tolist() for m in masks],
              method=dict(name="ibot", projector=dict(hidden_dim=HIDDEN, out_dim=BOTTLENECK,
                                                      num_layers=3, hidden_bn=False,
                                                      activation="gelu"),
                          num_prototypes=K, student_temp=0.1, teacher_temp=0.07,
                          warmup_teacher_temp=0.04, teacher_patch_temp=0.09,
                          warmup_teacher_patch_temp=0.04, warmup_teacher_temp_epochs=2,
                          center_momentum=0.9, patch_center_momentum=0.9,
                          pred_ratio=RATIOS, pred_ratio_var=RATIO_VARS,
                          freeze_prototypes_epochs=1.0, ema_momentum=0.9,
                          norm_last_layer=False))
  return meta, views, init, runs
