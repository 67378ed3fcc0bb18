"""DeepCluster v2's official training loop for the fixture generator
(generate.py --swav=DIR).

main_deepclusterv2.py's ``init_memory`` fills the memory bank and its
``train`` runs two epochs of one step (``cluster_memory`` at each start),
as written, on swav's own model code: ``src.resnet50.ResNet``'s
``forward`` (the backbone once per crop size, the projection head once on
every crop) and ``forward_head`` (L2 normalisation, ``MultiPrototypes``)
around ``TinyResNet``.  16 examples, one batch an epoch, 16 centroids: the
k-means then returns the bank's rows in the order of its random draw, and
the loss does not depend on that order, so ssl_jax's own draw gives the
same steps.  Stand-ins: a data loader of stored batches, a wrapper with
``.module`` in place of DistributedDataParallel, a one-process ``dist``,
and plain SGD (momentum 0.9, no weight decay) in place of apex's LARC,
which is not installable here (its ``optim`` attribute is what ``train``
reads for its log line); the projection head's first bias is held at 0
(ssl_jax's has none: BatchNorm follows it, which makes its gradient 0).
Our first epoch fills the bank too, but with the training step's forward
pass (every crop, the backbone's statistics pooled per size), where
``init_memory`` runs each of the two assigned crops alone; so the fixture
starts after ``init_memory`` (its BatchNorm statistics and bank; our step
1, all examples seen in epoch 0), and our steps 1-3 are the official
epochs 0-2, one step each.
"""
import argparse
import sys

import numpy as np
import torch
from torch import nn

import generate
import torch_tiny
from official_runs import FixedLoader, cpu_only, process_group, stub_module

SIZES = (16, 16, 8, 8)
HIDDEN, DIM, TEMPERATURE, LR = 32, 16, 0.1, 0.5


class _Loader(FixedLoader):
  """Batches of (index, crops) over a dataset of one batch."""

  def __init__(self, batches):
    super().__init__(batches, len(batches))
    self.dataset = range(generate.BATCH)


class _Parallel(nn.Module):
  def __init__(self, module):
    super().__init__()
    self.module = module

  def forward(self, x):
    return self.module(x)


class _Optimizer:
  """SGD where ``train`` expects apex's LARC (``.optim``)."""

  def __init__(self, params):
    self.optim = torch.optim.SGD(params, lr=LR, momentum=0.9, weight_decay=0.0)
    self.param_groups = self.optim.param_groups

  def zero_grad(self):
    self.optim.zero_grad()

  def step(self):
    self.optim.step()


def _model(resnet_models):
  class TinySwav(nn.Module):
    forward = resnet_models.ResNet.forward
    forward_head = resnet_models.ResNet.forward_head

    def __init__(self):
      super().__init__()
      self.trunk = torch_tiny.TinyResNet()  # 8 features
      self.trunk.fc = nn.Identity()
      self.projection_head = nn.Sequential(
          nn.Linear(8, HIDDEN), nn.BatchNorm1d(HIDDEN),
          nn.ReLU(inplace=True), nn.Linear(HIDDEN, DIM))
      self.l2norm = True
      self.prototypes = resnet_models.MultiPrototypes(DIM, [generate.BATCH])

    def forward_backbone(self, x):
      return self.trunk(x)
  return TinySwav()


def _mapping(model):
  m = torch_tiny.Mapping()
  m.add_module(model.trunk, "backbone")
  m.add_module(model.projection_head, "projector")
  m.entries = [e for e in m.entries if e[1] != "params/projector/linear1/bias"]
  return m


def _with_bank(values, memory_index, bank):
  order = np.argsort(memory_index.numpy())
  return {**values, "method_state/bank": bank.detach().numpy()[:, order].astype(np.float32)}


def run_deepclusterv2(root):
  torch.manual_seed(0)
  sys.path.insert(0, root)
  cpu_only()
  for name in ("apex", "apex.parallel"):
    stub_module(name)
  stub_module("apex.parallel.LARC", LARC=None)
  import main_deepclusterv2 as official  # pylint: disable=import-outside-toplevel
  import src.resnet50 as resnet_models  # pylint: disable=import-outside-toplevel
  process_group()
  official.args = argparse.Namespace(
      nmb_prototypes=[generate.BATCH], temperature=TEMPERATURE, feat_dim=DIM,
      crops_for_assign=[0, 1], nmb_crops=[2, 2], freeze_prototypes_niters=1e10,
      batch_size=generate.BATCH, rank=0, world_size=1)
  views = generate.make_views(0, SIZES, 4)
  index = torch.arange(generate.BATCH)
  batches = [(index, generate.to_torch(v)) for v in views]
  weights = torch_tiny.randomize(_mapping(_model(resnet_models)), seed=1)
  lrs = np.array([LR, LR * 0.9, LR * 0.8], np.float64)
  init, runs = None, {}
  for k in (1, 3):
    model = _model(resnet_models)
    mapping = _mapping(model)
    mapping.load(weights)
    with torch.no_grad():
      model.projection_head[0].bias.zero_()
    wrapped = _Parallel(model)
    memory_index, bank = official.init_memory(_Loader(batches[:1]), wrapped)
    if init is None:
      init = _with_bank(mapping.export(), memory_index, bank)
      init["method_state/seen_epoch"] = np.zeros(generate.BATCH, np.int32)
    records = {"loss": [], "lr": []}
    optimizer = _Optimizer(model.parameters())
    for epoch in range(k):
      scores, memory_index, bank = official.train(
          _Loader(batches[epoch + 1:epoch + 2]), wrapped, optimizer, epoch, lrs,
          memory_index, bank)
      records["loss"].append(scores[1])
      records["lr"].append(lrs[epoch])
    runs[k] = (_with_bank(mapping.export(), memory_index, bank), records)
  meta = dict(sizes=SIZES, num_global=2, steps_per_epoch=1, total_steps=4, start_step=1,
              num_examples=generate.BATCH, optimizer="sgd", weight_decay=0.0, momentum=0.9,
              method=dict(name="deepclusterv2",
                          projector=dict(hidden_dim=HIDDEN, out_dim=DIM, num_layers=2),
                          num_prototypes=[generate.BATCH], temperature=TEMPERATURE,
                          kmeans_iters=10))
  return meta, views[1:], init, runs  # views[0] filled the bank
