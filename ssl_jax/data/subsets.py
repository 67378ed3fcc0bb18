"""Label-fraction subsets of a labelled split (semi-supervised protocols).

``labelled_subset(split, 0.01)`` keeps about 1 % of each class, chosen by a
seeded permutation, so the subset is class-balanced and the same on every
host and every run.  ImageNet's official 1 % / 10 % lists (SimCLR's, used by
MIRA and INTL) are the datasets ``imagenet2012_1pct`` / ``imagenet2012_10pct``.
"""
import dataclasses
from typing import Optional

import numpy as np

from ssl_jax.data.folder import ImageFiles
from ssl_jax.data.sources import ArraySplit, Split, TfdsSplit
from ssl_jax.registry import ConfigError


def class_balanced_indices(labels, fraction: float, seed: int) -> np.ndarray:
  """Sorted indices: max(1, round(fraction * n_c)) random examples of each class c."""
  if not 0 < fraction <= 1:
    raise ConfigError(f"a label fraction must be in (0, 1], got {fraction}")
  labels = np.asarray(labels)
  rng = np.random.default_rng(seed)
  keep = []
  for c in np.unique(labels):
    members = np.flatnonzero(labels == c)
    count = max(1, int(round(fraction * len(members))))
    keep.append(rng.permutation(members)[:count])
  return np.sort(np.concatenate(keep))


def labelled_subset(split: Split, fraction: Optional[float], seed: int = 0) -> Split:
  """``split`` restricted to ``fraction`` of its labels per class (None or 1: all)."""
  if fraction is None or fraction == 1:
    return split
  if isinstance(split, TfdsSplit):
    raise ConfigError(
        "a label fraction of a streamed tfds split is not supported: use an in-memory "
        "or folder dataset, or data.name=imagenet2012_1pct / imagenet2012_10pct for "
        "ImageNet's standard subsets")
  keep = class_balanced_indices(split.labels, fraction, seed)
  if isinstance(split, ArraySplit):
    return ArraySplit(split.images[keep], split.labels[keep])
  assert isinstance(split, ImageFiles)
  return dataclasses.replace(split, paths=split.paths[keep], labels=split.labels[keep])
