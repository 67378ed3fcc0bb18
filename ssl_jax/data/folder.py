"""A user's own images: ``root/<split>/<class>/*.{jpg,jpeg,png}``, or any
tree of images without labels (``load_unlabelled``).

The layout is tfds's ``ImageFolder`` one (class = sub-folder name, labels in
sorted class order).  Files are listed once and checked once by decoding
them in parallel: unreadable or corrupt files are left out and counted, so a
broken file found on day one never stops a run on day three, and the split
that remains is a fixed list, which keeps batches a pure function of
(seed, step).  ``root`` may be a URL (``gs://``): listing and reading go
through ``ssl_jax.storage``.
"""
import dataclasses
from typing import Dict, Tuple

from absl import logging
import numpy as np
import tensorflow as tf

from ssl_jax import storage
from ssl_jax.registry import ConfigError

EXTENSIONS = (".jpg", ".jpeg", ".png")
# Names of the held-out split, in order of preference.
TEST_SPLITS = ("test", "val", "validation")


class FolderError(ConfigError):
  """A folder dataset that cannot be used as it stands (one line: what to fix)."""


@dataclasses.dataclass(frozen=True)
class ImageFiles:
  """Readable images of one split: paths [n] (str), labels int32 [n]."""
  paths: np.ndarray
  labels: np.ndarray
  skipped: Tuple[str, ...] = ()

  def __len__(self):
    return len(self.labels)


def byte_reader(paths):
  """A function from a path (tf.string scalar) to the file's bytes, for the
  files ``paths`` (one root, so the first decides): TensorFlow's reader for
  local files, ``ssl_jax.storage`` for URLs (TensorFlow's own GCS client
  reaches only Google's endpoint with its own credentials, so a ``gs://``
  root would read differently from the run's other files)."""
  if not any(storage.is_url(str(p)) for p in paths[:1]):
    return tf.io.read_file

  def read_url(path):
    return storage.path(path.numpy().decode()).read_bytes()

  return lambda path: tf.ensure_shape(tf.py_function(read_url, [path], tf.string), [])


def list_classes(split_dir) -> Tuple[str, ...]:
  split_dir = storage.path(split_dir)
  return tuple(sorted(d.name for d in split_dir.iterdir() if d.is_dir()))


def list_images(split_dir, classes) -> Tuple[list, list]:
  """Image paths under ``split_dir/<class>/`` (sorted) and their labels."""
  paths, labels = [], []
  for label, name in enumerate(classes):
    class_dir = storage.path(split_dir) / name
    if not class_dir.is_dir():
      continue
    files = [f for f in sorted(class_dir.iterdir(), key=lambda f: f.name)
             if f.name.lower().endswith(EXTENSIONS)]
    if not files:
      logging.warning("%s has no images: class %r (label %d) has no examples in %s",
                      class_dir, name, label, storage.path(split_dir).name)
    paths.extend(str(f) for f in files)
    labels.extend([label] * len(files))
  return paths, labels


def readable(paths) -> np.ndarray:
  """bool [n]: which files read and decode as 3-channel images."""
  read = byte_reader(paths)

  def check(index, path):
    image = tf.io.decode_image(read(path), channels=3, expand_animations=False)
    return index, tf.shape(image)  # the shape keeps the decode from being pruned

  ds = tf.data.Dataset.from_tensor_slices((np.arange(len(paths)), np.asarray(paths)))
  ds = ds.map(check, num_parallel_calls=tf.data.AUTOTUNE).ignore_errors()
  ok = np.zeros(len(paths), bool)
  for index, _ in ds.batch(4096).as_numpy_iterator():
    ok[index] = True
  return ok


def load_split(split_dir, classes) -> ImageFiles:
  """The readable images of one split; logs how many were skipped and which."""
  paths, labels = list_images(split_dir, classes)
  if not paths:
    raise FolderError(f"no {'/'.join(EXTENSIONS)} images under {split_dir}/<class>/")
  ok = readable(paths)
  skipped = tuple(p for p, good in zip(paths, ok) if not good)
  if not ok.any():
    raise FolderError(f"none of the {len(paths)} image files under {split_dir} could be "
                      f"decoded (e.g. {skipped[0]})")
  if skipped:
    logging.warning("%s: skipped %d unreadable or corrupt image file(s) of %d, e.g. %s",
                    split_dir, len(skipped), len(paths), ", ".join(skipped[:5]))
  return ImageFiles(np.asarray(paths)[ok], np.asarray(labels, np.int32)[ok], skipped)


def load_folder(root: str) -> Tuple[Tuple[str, ...], Dict[str, ImageFiles]]:
  """Class names (from ``root/train``) and the ``train`` and test splits.

  The test split is the first of ``test``, ``val``, ``validation`` present.
  """
  layout = ("the folder dataset needs images in ROOT/train/<class>/*.jpg and "
            "ROOT/test/<class>/*.jpg")
  if not root:
    raise FolderError(f"{layout}: pass --config.data.root=ROOT")
  if not storage.path(root).is_dir():
    raise FolderError(f"data.root={root} does not exist ({layout})")
  if not (storage.path(root) / "train").is_dir():
    raise FolderError(f"{root} has no train/ folder ({layout})")
  root = storage.path(root)
  classes = list_classes(root / "train")
  if not classes:
    raise FolderError(f"{root}/train has no class folders ({layout})")
  test = next((s for s in TEST_SPLITS if (root / s).is_dir()), None)
  if test is None:
    raise FolderError(f"no held-out split in {root}: expected one of "
                      f"{', '.join(TEST_SPLITS)} beside train/")
  unknown = set(list_classes(root / test)) - set(classes)
  if unknown:
    raise FolderError(f"{root}/{test} has classes that train/ lacks: {sorted(unknown)}")
  return classes, {"train": load_split(root / "train", classes),
                   "test": load_split(root / test, classes)}


def _image_tree(root) -> list:
  """Every image file under ``root`` at any depth, sorted by path."""
  found, todo = [], [storage.path(root)]
  while todo:
    for entry in sorted(todo.pop().iterdir(), key=lambda e: e.name):
      if entry.is_dir():
        todo.append(entry)
      elif entry.name.lower().endswith(EXTENSIONS):
        found.append(str(entry))
  return sorted(found)


def load_unlabelled(root: str) -> ImageFiles:
  """The readable images anywhere under ``root`` (flat or nested; folder
  names mean nothing), with label 0."""
  if not root:
    raise FolderError("the images dataset needs --config.data.root=FOLDER (images at any "
                      "depth below it)")
  if not storage.path(root).is_dir():
    raise FolderError(f"data.root={root} does not exist")
  paths = _image_tree(root)
  if not paths:
    raise FolderError(f"no {'/'.join(EXTENSIONS)} images under {root}")
  ok = readable(paths)
  if not ok.any():
    raise FolderError(f"none of the {len(paths)} image files under {root} could be decoded")
  skipped = tuple(p for p, good in zip(paths, ok) if not good)
  if skipped:
    logging.warning("%s: skipped %d unreadable or corrupt image file(s) of %d, e.g. %s",
                    root, len(skipped), len(paths), ", ".join(skipped[:5]))
  kept = np.asarray(paths)[ok]
  return ImageFiles(kept, np.zeros(len(kept), np.int32), skipped)

