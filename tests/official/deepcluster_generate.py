"""Fixture: DeepCluster v2's clustering and loss by the official code, in float64.

    python tests/official/deepcluster_generate.py --swav=DIR

DIR is a checkout of facebookresearch/swav (made from commit
06b1b7cbaf6ba2a792300d79c7299db98b93b7f9, with torch 2.14.1, numpy 2.4.6,
and scipy and pandas, which the official modules import).  ``main_deepclusterv2.py``'s
``cluster_memory`` runs as written on the CPU, in a one-process gloo group
(``Tensor.cuda`` returns the tensor itself; ``apex``, which the module
imports for its optimiser, is given as an empty module).  Its memory bank
holds 240 unit vectors drawn around 12 directions for 2 crops (each row
twice, so some initial centroids coincide and their clusters go empty), as examples
of a 300-example dataset in a shuffled order, so 60 examples have no
assignment; three heads of 30, 20 and 45 centroids.  The fixture keeps the
bank, the memory index, each head's random initial rows (the rows of the
official ``torch.randperm`` under the same seed), the centroids it copies
into the prototypes and the assignments.  It also keeps the official
loss: ``nn.CrossEntropyLoss(ignore_index=-100)`` over the crops'
concatenated scores, averaged over the heads, for a batch of 2 + 3 crops
of 16 examples with some targets unassigned.
"""
import argparse
import os
import sys
import types

import numpy as np
import torch
import torch.distributed as dist

HERE = os.path.dirname(os.path.abspath(__file__))
DATASET, BANK, DIM, HEADS, SEED = 300, 240, 8, (30, 20, 45), 3


def load_official(swav):
  for name in ("apex", "apex.parallel", "apex.parallel.LARC"):
    sys.modules[name] = types.ModuleType(name)
  sys.modules["apex.parallel.LARC"].LARC = None
  sys.path.insert(0, swav)
  import main_deepclusterv2
  from src.resnet50 import MultiPrototypes
  return main_deepclusterv2, MultiPrototypes


def clustered_bank(rng):
  directions = rng.normal(size=(12, DIM))
  centres = directions[rng.integers(0, 12, size=(2, BANK))]
  bank = centres + 0.35 * rng.normal(size=(2, BANK, DIM))
  # Rows repeated exactly: two equal initial centroids tie, the first takes
  # every point and the other stays empty, keeping its centroid.
  bank[:, BANK // 2:] = bank[:, :BANK // 2]
  return bank / np.linalg.norm(bank, axis=-1, keepdims=True)


def cluster(official, prototypes_cls, bank, memory_index):
  official.args = argparse.Namespace(nmb_prototypes=list(HEADS), feat_dim=DIM,
                                     crops_for_assign=[0, 1], rank=0, world_size=1)
  model = types.SimpleNamespace(
      module=types.SimpleNamespace(prototypes=prototypes_cls(DIM, list(HEADS))))
  torch.manual_seed(SEED)
  assignments = official.cluster_memory(model, torch.from_numpy(memory_index),
                                        torch.from_numpy(bank), DATASET)
  torch.manual_seed(SEED)  # the rows cluster_memory's randperm drew, head after head
  init_rows = [torch.randperm(BANK)[:k].numpy() for k in HEADS]
  centroids = [getattr(model.module.prototypes, f"prototypes{h}").weight.detach().numpy()
               for h in range(len(HEADS))]
  return assignments.numpy(), init_rows, centroids


def official_loss(rng, assignments):
  """The loss lines of main_deepclusterv2.train for one batch."""
  crops, batch, temperature = 5, 16, 0.1
  idx = rng.choice(DATASET, size=batch, replace=False)
  scores = [rng.normal(size=(crops * batch, k)) for k in HEADS]
  cross_entropy = torch.nn.CrossEntropyLoss(ignore_index=-100)
  loss = 0
  for h in range(len(HEADS)):
    targets = torch.from_numpy(assignments[h][idx]).repeat(crops)
    loss += cross_entropy(torch.from_numpy(scores[h]) / temperature, targets)
  loss /= len(HEADS)
  return idx, scores, float(loss)


def main():
  parser = argparse.ArgumentParser()
  parser.add_argument("--swav", required=True)
  args = parser.parse_args()
  official, prototypes_cls = load_official(args.swav)
  torch.set_default_dtype(torch.float64)
  torch.Tensor.cuda = lambda self, *a, **k: self
  os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT="29533")
  dist.init_process_group("gloo", rank=0, world_size=1)
  rng = np.random.default_rng(0)
  bank = clustered_bank(rng)
  memory_index = rng.permutation(DATASET)[:BANK]
  assignments, init_rows, centroids = cluster(official, prototypes_cls, bank, memory_index)
  idx, scores, loss = official_loss(rng, assignments)
  dist.destroy_process_group()
  empty = [int(k - len(np.unique(a[a >= 0]))) for k, a in zip(HEADS, assignments)]
  print("empty clusters per head:", empty, "loss:", loss)
  out = dict(bank=bank, memory_index=memory_index, assignments=assignments,
             loss_index=idx, loss=np.float64(loss), heads=np.asarray(HEADS))
  for h in range(len(HEADS)):
    out.update({f"init_rows{h}": init_rows[h], f"centroids{h}": centroids[h],
                f"scores{h}": scores[h]})
  np.savez(os.path.join(HERE, "deepcluster", "cluster_memory.npz"), **out)


if __name__ == "__main__":
  main()
