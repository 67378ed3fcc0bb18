"""A user's own images: ``root/<split>/<class>/*.{jpg,jpeg,png}``.

The layout is tfds's ``ImageFolder`` one (class = sub-folder name, labels in
sorted class order).  Files are listed once and checked once by decoding
them in parallel: unreadable or corrupt files are left out and counted, so a
broken file found on day one never stops a run on day three, and the split
that remains is a fixed list, which keeps batches a pure function of
(seed, step).
"""
import dataclasses
import os
from typing import Dict, Tuple

from absl import logging
import numpy as np
import tensorflow as tf

EXTENSIONS = (".jpg", ".jpeg", ".png")
# Names of the held-out split, in order of preference.
TEST_SPLITS = ("test", "val", "validation")


@dataclasses.dataclass(frozen=True)
class ImageFiles:
  """Readable images of one split: paths [n] (str), labels int32 [n]."""
  paths: np.ndarray
  labels: np.ndarray
  skipped: Tuple[str, ...] = ()

  def __len__(self):
    return len(self.labels)


def list_classes(split_dir: str) -> Tuple[str, ...]:
  return tuple(sorted(d for d in os.listdir(split_dir)
                      if os.path.isdir(os.path.join(split_dir, d))))


def list_images(split_dir: str, classes) -> Tuple[list, list]:
  """Image paths under ``split_dir/<class>/`` (sorted) and their labels."""
  paths, labels = [], []
  for label, name in enumerate(classes):
    class_dir = os.path.join(split_dir, name)
    if not os.path.isdir(class_dir):
      continue
    for file in sorted(os.listdir(class_dir)):
      if file.lower().endswith(EXTENSIONS):
        paths.append(os.path.join(class_dir, file))
        labels.append(label)
  return paths, labels


def readable(paths) -> np.ndarray:
  """bool [n]: which files read and decode as 3-channel images."""
  def check(index, path):
    image = tf.io.decode_image(tf.io.read_file(path), channels=3, expand_animations=False)
    return index, tf.shape(image)  # the shape keeps the decode from being pruned

  ds = tf.data.Dataset.from_tensor_slices((np.arange(len(paths)), np.asarray(paths)))
  ds = ds.map(check, num_parallel_calls=tf.data.AUTOTUNE).ignore_errors()
  ok = np.zeros(len(paths), bool)
  for index, _ in ds.batch(4096).as_numpy_iterator():
    ok[index] = True
  return ok


def load_split(split_dir: str, classes) -> ImageFiles:
  """The readable images of one split; logs how many were skipped and which."""
  paths, labels = list_images(split_dir, classes)
  if not paths:
    raise FileNotFoundError(f"no {'/'.join(EXTENSIONS)} images under {split_dir}/<class>/")
  ok = readable(paths)
  skipped = tuple(p for p, good in zip(paths, ok) if not good)
  if skipped:
    logging.warning("%s: skipped %d unreadable or corrupt image file(s) of %d, e.g. %s",
                    split_dir, len(skipped), len(paths), ", ".join(skipped[:5]))
  return ImageFiles(np.asarray(paths)[ok], np.asarray(labels, np.int32)[ok], skipped)


def load_folder(root: str) -> Tuple[Tuple[str, ...], Dict[str, ImageFiles]]:
  """Class names (from ``root/train``) and the ``train`` and test splits.

  The test split is the first of ``test``, ``val``, ``validation`` present.
  """
  if not root or not os.path.isdir(os.path.join(root, "train")):
    raise FileNotFoundError(
        f"the folder dataset needs images in ROOT/train/<class>/*.jpg (and "
        f"ROOT/test/<class>/ for evaluation); no {os.path.join(str(root), 'train')} "
        f"found. Pass --config.data.root=ROOT.")
  classes = list_classes(os.path.join(root, "train"))
  test = next((s for s in TEST_SPLITS if os.path.isdir(os.path.join(root, s))), None)
  if test is None:
    raise FileNotFoundError(f"no held-out split in {root}: expected one of "
                            f"{', '.join(TEST_SPLITS)} beside train/")
  unknown = set(list_classes(os.path.join(root, test))) - set(classes)
  if unknown:
    raise ValueError(f"{root}/{test} has classes that train/ lacks: {sorted(unknown)}")
  return classes, {"train": load_split(os.path.join(root, "train"), classes),
                   "test": load_split(os.path.join(root, test), classes)}
