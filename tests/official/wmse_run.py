"""W-MSE's official training loop for the fixture generator
(generate.py --wmse=DIR, a checkout of htdt/self-supervised).

train.py's ``__main__`` runs as written (``runpy``): ``WMSE`` from
methods/w_mse.py on ``model.get_model``'s backbone (here ``TinyResNet``,
run once per view) and ``get_head`` (Linear, BatchNorm1d, ReLU, Linear on
the views concatenated), ``Whitening2d`` and ``norm_mse_loss``, PyTorch's
Adam with L2 weight decay on every parameter, and the loop's linear
500-iteration warm-up of the learning rate.  The initial weights arrive
through its own ``--fname``.  One whitening split of the whole batch
(``--w_size`` = ``--bs``): the split's random permutation then only
reorders the rows it whitens, so ssl_jax's step, which draws its own
permutation, computes the same loss.  Stand-ins: wandb, a dataset of
stored batches for ``datasets.get_ds``, CPU for CUDA.
"""
import os
import runpy
import sys
import tempfile

import numpy as np
import torch

import generate
import official_runs
import torch_tiny

SIZES = (16, 16)
EMB, HEAD = 8, 32
LR, L2 = 1e-3, 1e-6


# The head's first Linear has a bias in front of BatchNorm, which ssl_jax's
# MLP leaves out: in training mode BatchNorm subtracts it again, so it gets
# no gradient, but it enters the running mean.  It starts at 0 here, which
# makes the two parametrisations the same function with the same
# statistics; Adam then moves it only by its normalised rounding noise (at
# most the learning rate a step: 2e-6 at the first), 1e-5 of the running
# means.  The last Linear's bias is rounding noise on both sides too (the
# whitening subtracts the mean), named in the fixture's ``noise_slices``.
PRE_BN_BIAS = "params/projector/linear1/bias"


def _export(method, lrs):
  values = _mapping(method).export()
  moved = np.abs(values.pop(PRE_BN_BIAS)).max()
  assert moved <= sum(lrs), f"the pre-BatchNorm bias moved by {moved}"
  return values


def _mapping(method):
  m = torch_tiny.Mapping()
  m.add_module(method.model.module, "backbone")  # under nn.DataParallel
  m.add_module(method.head, "projector")
  return m


class _Recorder(torch.optim.Adam):
  """The loop's Adam, recording the learning rate of every step."""
  lrs = []

  def step(self, closure=None):
    _Recorder.lrs.append(self.param_groups[0]["lr"])
    return super().step(closure)


def _argv(fname):
  """One epoch of the stored batches."""
  return ["train.py", "--method", "w_mse", "--dataset", "imagenet", "--arch", "tiny_resnet",
          "--bs", str(generate.BATCH), "--w_size", str(generate.BATCH), "--w_iter", "1",
          "--emb", str(EMB), "--head_size", str(HEAD), "--head_layers", "2",
          "--lr", str(LR), "--adam_l2", str(L2), "--lr_step", "none",
          "--epoch", "1", "--eval_every", "1000", "--num_workers", "0",
          "--fname", fname]


def run_wmse(root):
  torch.manual_seed(0)
  sys.path.insert(0, root)
  official_runs.cpu_only()
  official_runs.stub_module("wandb", init=lambda **_: None, log=lambda *_, **__: None)
  # cfg.py offers as --arch the torchvision.models names containing "resn".
  official_runs.fake_torchvision(tiny_resnet=lambda pretrained=False: torch_tiny.TinyResNet())
  datasets = official_runs.stub_module("datasets", DS_LIST=["imagenet"])
  import cfg as official_cfg  # pylint: disable=import-outside-toplevel
  from methods import get_method  # pylint: disable=import-outside-toplevel
  views = generate.make_views(4, SIZES, max(official_runs.STEPS))
  torch.optim.Adam = _Recorder  # train.py calls optim.Adam, this module

  sys.argv = _argv("unused")
  start = get_method("w_mse")(official_cfg.get_cfg())
  init = torch_tiny.randomize(_mapping(start), seed=5)
  init[PRE_BN_BIAS] = np.zeros_like(init[PRE_BN_BIAS])
  _mapping(start).load(init)
  runs = {}
  with tempfile.TemporaryDirectory() as tmp:
    fname = os.path.join(tmp, "init.pt")
    torch.save(start.state_dict(), fname)
    del init[PRE_BN_BIAS]
    for k in official_runs.STEPS:
      batches = [(generate.to_torch(v), torch.zeros(generate.BATCH)) for v in views[:k]]
      loader = official_runs.FixedLoader(batches, k)
      datasets.get_ds = lambda name, loader=loader: (
          lambda bs, cfg, workers: type("DS", (), {"train": loader})())
      losses, forward = [], sys.modules["methods.w_mse"].WMSE.forward

      def recorded(self, samples, forward=forward, losses=losses):
        loss = forward(self, samples)
        losses.append(float(loss))
        return loss

      sys.modules["methods.w_mse"].WMSE.forward = recorded
      _Recorder.lrs = []
      torch.manual_seed(0)  # the same permutations (and so roundings) in both runs
      sys.argv = _argv(fname)
      loop = runpy.run_path(os.path.join(root, "train.py"), run_name="__main__")
      sys.modules["methods.w_mse"].WMSE.forward = forward
      lrs = list(_Recorder.lrs)
      runs[k] = (_export(loop["model"], lrs), {"loss": losses, "lr": lrs})
  meta = dict(sizes=SIZES, num_global=2, steps_per_epoch=3, total_steps=3, optimizer="adam",
              weight_decay=L2, momentum=0.9, exclude_bias_and_norm=False,
              noise_slices={"projector/linear2/bias": [0, EMB]},
              method=dict(name="wmse", projector=dict(hidden_dim=HEAD, out_dim=EMB,
                                                      num_layers=2),
                          whiten_size=None, whiten_iters=1, eps=0.0))
  return meta, views, init, runs
