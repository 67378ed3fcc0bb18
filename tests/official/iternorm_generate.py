"""Fixture: solo-learn's IterNorm layer (VIbCReg's projector end) in float64.

    python tests/official/iternorm_generate.py --solo=DIR

DIR is a checkout of vturrisi/solo-learn (made from commit
9187ea39c2c3f43c455ab06664d2b019a9802954's ``solo/utils/whitening.py``; only
that file is loaded).  Two 16 x 24 views go through ``IterNorm(24,
num_groups=4, T=5)`` in training mode, one after the other (the running
mean and whitening matrix fold both in), a third in evaluation mode; the
fixture holds the inputs, the affine parameters, every output, the running
statistics and the gradient of sum(y0 * r) with respect to the first view
(solo-learn's hand-written backward).
"""
import argparse
import importlib.util
import os

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))


def load_whitening(solo):
  path = os.path.join(solo, "solo", "utils", "whitening.py")
  spec = importlib.util.spec_from_file_location("solo_whitening", path)
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  return module


def main():
  parser = argparse.ArgumentParser()
  parser.add_argument("--solo", required=True)
  args = parser.parse_args()
  whitening = load_whitening(args.solo)
  torch.set_default_dtype(torch.float64)
  rng = np.random.default_rng(0)
  layer = whitening.IterNorm(24, num_groups=4, T=5, dim=2)
  scale, bias = rng.uniform(0.5, 1.5, 24), rng.normal(size=24) * 0.1
  with torch.no_grad():
    layer.weight.copy_(torch.from_numpy(scale).view(1, 24))
    layer.bias.copy_(torch.from_numpy(bias).view(1, 24))
  # Correlated features: a random mixing of a few strong directions.
  views = [rng.normal(size=(16, 24)) @ rng.normal(size=(24, 24)) + rng.normal(size=24)
           for _ in range(3)]
  weights = rng.normal(size=(16, 24))
  layer.train()
  x0 = torch.tensor(views[0], requires_grad=True)
  y0 = layer(x0)
  (y0 * torch.from_numpy(weights)).sum().backward()
  y1 = layer(torch.tensor(views[1]))
  layer.eval()
  y2 = layer(torch.tensor(views[2]))
  np.savez(os.path.join(HERE, "iternorm", "solo_iternorm.npz"),
           views=np.stack(views), scale=scale, bias=bias, weights=weights,
           train0=y0.detach().numpy(), train1=y1.detach().numpy(), eval2=y2.detach().numpy(),
           running_mean=layer.running_mean.numpy()[..., 0],
           running_wm=layer.running_wm.numpy(), grad0=x0.grad.numpy(),
           channels=np.int64(layer.num_channels))


if __name__ == "__main__":
  main()
