"""DeepCluster v2 (Caron et al. 2020, facebookresearch/swav main_deepclusterv2.py).

A memory bank holds the unit-norm embedding of every example's two global
crops as last seen.  At the start of each epoch, head h runs spherical
k-means (``kernels.spherical_kmeans``: K random bank rows, 10 M-steps, a
final E-step) on the bank of crop h mod 2, over the examples seen in the
epoch before; its centroids become the head's prototypes and its
assignments the examples' targets for the epoch.  Every crop is trained to
put its example in its cluster: cross-entropy of
``<normalize(z), c_k> / T`` with the assigned k, averaged over the heads.
The prototypes are never trained (the official scripts freeze them for
longer than the run), so they live in the method state, not in the
parameters.  As in SwAV's model, which DeepCluster v2 shares, the crops of
one resolution share the backbone's BatchNorm statistics and all crops
share the projection head's (``bn_pooling = "all"``).

The method state (bank, centroids, assignments) is replicated like the
rest of the state: on ImageNet with the paper's 128-d embedding the bank
takes 1.3 GB on every device, and each device runs the epoch's k-means
(3 heads x 11 scorings of 1.28M rows against 3000 centroids, about 32
TFLOP in float32).

From the bank the official ``init_memory`` leaves, one and three steps
(clustering at each, a one-step epoch) equal main_deepclusterv2.py's
``train``: parameters, BatchNorm statistics and the bank
(tests/test_official_steps.py; plain SGD on both sides, as apex's LARC is
not installable there).

Kept different, with the reason:
- The official code fills the bank in a pass without updates before epoch
  0.  Here epoch 0 is that pass: the loss is 0 and every parameter group is
  frozen (no update, no decay, optimiser state kept) while BatchNorm's
  running statistics move, as in the official train-mode pass.  The
  learning-rate schedule starts after it (``idle_steps``), so epoch e + 1
  here is the official epoch e, and a run of E epochs trains E - 1.  A
  separate pass would need the job to know the method.
- The filling epoch runs the training step's forward pass (every crop, the
  backbone's BatchNorm statistics pooled per crop size), where the
  official ``init_memory`` runs each of the two assigned crops alone, so
  the running statistics and the bank it leaves differ (in the test's tiny
  network by 1-7 % in the running means and 30 % in the bank).  The step
  encodes the same views in every step; a pass of its own would need the
  job to know the method.
- The bank is indexed by the example's index in the split, not by the order
  of arrival; the examples clustered are those seen in the epoch before, as
  in the official bank of one epoch.  The random initial rows are drawn
  from those examples, not from rank 0's share of them.
"""
import dataclasses
from typing import Tuple

import jax
import jax.numpy as jnp

from ssl_jax.kernels.kmeans import IGNORE, deepcluster_loss, spherical_kmeans
from ssl_jax.kernels.similarity import l2_normalize
from ssl_jax.methods.base import HeadSpec, LossAux, Method, mlp_spec, require_positive

_ASSIGN_CROPS = 2  # the official crops_for_assign 0 1: the two global crops


@dataclasses.dataclass(frozen=True)
class DeepClusterV2(Method):
  collapse_hint = ("a temperature too low for the network (the first clusters, of a random "
                   "network's embeddings, are hard to predict, and the cheapest loss is one "
                   "embedding for all: the quickstart's narrow ResNet collapses at 0.1, not "
                   "at 0.3), or more prototypes than the data has structure for")
  uses_example_index = True
  bn_pooling = "all"

  num_prototypes: Tuple[int, ...] = (3000, 3000, 3000)
  temperature: float = 0.1
  kmeans_iters: int = 10
  num_examples: int = 1_281_167  # the run's training split (the job sets it); ImageNet's
  steps_per_epoch: int = 1
  total_steps: int = 2

  def __post_init__(self):
    super().__post_init__()
    require_positive(self, "temperature", "kmeans_iters", "num_examples", "steps_per_epoch")
    if not self.num_prototypes or min(self.num_prototypes) < 1:
      raise ValueError(f"num_prototypes must be positive counts, got {self.num_prototypes}")
    if max(self.num_prototypes) > self.num_examples:
      raise ValueError(f"{max(self.num_prototypes)} prototypes but only {self.num_examples} "
                       "examples to cluster: use fewer prototypes")
    if self.total_steps <= self.steps_per_epoch:
      raise ValueError(f"a run of {self.total_steps} steps ends within DeepCluster v2's "
                       f"first epoch ({self.steps_per_epoch} steps), which only fills the "
                       "memory bank: train longer")
    if self.head.projector is None:
      raise ValueError("DeepClusterV2 needs a projector")

  def online_views(self, num_views, num_global):
    if num_global < _ASSIGN_CROPS:
      raise ValueError("DeepClusterV2 needs two global crops for its memory bank")
    return super().online_views(num_views, num_global)

  @property
  def idle_steps(self):
    return self.steps_per_epoch

  def frozen_parts(self, step):
    filling = step < self.idle_steps
    return {"backbone": filling, "projector": filling}

  def init_state(self, rng, dim):
    del rng
    heads = len(self.num_prototypes)
    return {
        "bank": jnp.zeros((_ASSIGN_CROPS, self.num_examples, dim), jnp.float32),
        "seen_epoch": jnp.full((self.num_examples,), -1, jnp.int32),
        "centroids": tuple(jnp.zeros((k, dim), jnp.float32) for k in self.num_prototypes),
        "assignments": jnp.full((heads, self.num_examples), IGNORE, jnp.int32),
    }

  def cluster(self, state, epoch, rng):
    """The centroids and assignments of ``epoch``: k-means per head on the
    bank of the examples seen in ``epoch - 1``."""
    valid = state["seen_epoch"] == epoch - 1
    centroids, assignments = [], []
    for h, k in enumerate(self.num_prototypes):
      bank = state["bank"][h % _ASSIGN_CROPS]
      score = jnp.where(valid, jax.random.uniform(jax.random.fold_in(rng, h), valid.shape), -1.0)
      init = bank[jax.lax.top_k(score, k)[1]]
      c, a = spherical_kmeans(bank, valid, init, self.kmeans_iters)
      centroids.append(c)
      assignments.append(a)
    return {**state, "centroids": tuple(centroids), "assignments": jnp.stack(assignments)}

  def loss(self, online, target, state, step, rng, index=None):
    del target
    if index is None:
      raise ValueError("DeepClusterV2 needs the examples' indices in the batch")
    epoch = step // self.steps_per_epoch
    recluster = (step % self.steps_per_epoch == 0) & (epoch > 0)
    state = jax.lax.cond(recluster, lambda s: self.cluster(s, epoch, rng), lambda s: s, state)
    z = l2_normalize(online["projection"])
    loss = 0.0
    for h, centroids in enumerate(state["centroids"]):
      logits = jnp.einsum("vnd,kd->vnk", z, centroids.astype(z.dtype)) / self.temperature
      loss = loss + deepcluster_loss(logits, state["assignments"][h, index])
    loss = loss / len(self.num_prototypes)
    kept = jax.lax.stop_gradient(z[:_ASSIGN_CROPS]).astype(jnp.float32)
    state = {**state, "bank": state["bank"].at[:, index].set(kept),
             "seen_epoch": state["seen_epoch"].at[index].set(epoch)}
    assigned = jnp.mean((state["assignments"][0, index] != IGNORE).astype(jnp.float32))
    return loss, LossAux(state, {"assigned_fraction": assigned})


def make(projector, num_prototypes=(3000, 3000, 3000), temperature=0.1, kmeans_iters=10,
         num_examples=0, steps_per_epoch=1, total_steps=2):
  return DeepClusterV2(head=HeadSpec(projector=mlp_spec(projector)),
                       num_prototypes=tuple(num_prototypes), temperature=temperature,
                       kmeans_iters=kmeans_iters, num_examples=num_examples,
                       steps_per_epoch=steps_per_epoch, total_steps=total_steps)


