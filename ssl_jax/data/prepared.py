"""The prepared format: a dataset's splits rewritten once as size-capped
images addressed by index (``python -m ssl_jax.prepare``).

Layout of a prepared directory (local or a URL):

    prepared.json               what it holds (see ``Manifest``); written last
    <split>/labels.npy          int32 [n]
    <split>/<shard>/<index>     example ``index`` of the split: its image file
    <split>/done/<shard>        marks a finished shard of SHARD_SIZE examples

Example i of a split is the i-th of the source split in the source's own
order, so a prepared run reads the same examples at the same positions and
(through the indexed pipeline) in the same order as a run on the source's
files.  An image whose longest side is at most ``max_side`` is kept byte
for byte (its views are exactly those of the source); a larger one is
resized to fit (bicubic, antialiased) and re-encoded as JPEG: most of a
decode's cost is in pixels that the crops then throw away.  In-memory
sources (CIFAR, ``synthetic``) are stored as lossless PNG.
"""
import dataclasses
import io
import json
from typing import Dict, Optional, Tuple

import numpy as np
import tensorflow as tf

from ssl_jax import storage
from ssl_jax.data.augment_host import to_uint8
from ssl_jax.data.folder import ImageFiles
from ssl_jax.registry import ConfigError

MANIFEST = "prepared.json"
SHARD_SIZE = 1000
FORMAT_VERSION = 1


@dataclasses.dataclass(frozen=True)
class Manifest:
  """What a prepared directory holds: the source dataset and its facts.

  ``splits`` maps the dataset's roles (train, bank, test) to stored split
  names (a bank that is the train split is stored once) and ``sizes`` each
  stored split to its number of examples.
  """
  source: str
  max_side: int
  quality: int
  num_classes: int
  mean: Tuple[float, ...]
  std: Tuple[float, ...]
  eval_crop_fraction: float
  train_labelled: bool
  splits: Dict[str, str]
  sizes: Dict[str, int]
  format: int = FORMAT_VERSION

  @classmethod
  def read(cls, directory) -> "Manifest":
    text = storage.read_text(storage.path(directory) / MANIFEST)
    if text is None:
      raise ConfigError(f"data.prepared={directory} holds no {MANIFEST}: it is not a "
                        "prepared dataset, or its preparation has not finished (rerun "
                        "python -m ssl_jax.prepare with the same --out to complete it)")
    fields = json.loads(text)
    if fields.get("format") != FORMAT_VERSION:
      raise ConfigError(f"{directory} is in prepared format {fields.get('format')}; this "
                        f"version reads format {FORMAT_VERSION}: prepare it again")
    return cls(**{**fields, "mean": tuple(fields["mean"]), "std": tuple(fields["std"])})

  def write(self, directory):
    storage.write_text(storage.path(directory) / MANIFEST,
                       json.dumps(dataclasses.asdict(self), indent=1))


def example_paths(split_dir, count: int) -> np.ndarray:
  """str [count]: the files of examples 0..count-1 of a stored split."""
  index = np.arange(count)
  names = np.char.add(np.char.add(np.char.zfill((index // SHARD_SIZE).astype(str), 5), "/"),
                      np.char.zfill(index.astype(str), 9))
  return np.char.add(str(split_dir).rstrip("/") + "/", names)


def read_split(directory, name: str) -> ImageFiles:
  """A stored split as image files (the indexed pipeline reads it)."""
  split_dir = storage.path(directory) / name
  labels = np.load(io.BytesIO((split_dir / "labels.npy").read_bytes()))
  return ImageFiles(example_paths(split_dir, len(labels)), labels.astype(np.int32))


def check_source(manifest: Manifest, directory, data_name: Optional[str]):
  if data_name is not None and data_name != manifest.source:
    raise ConfigError(f"data.prepared={directory} was prepared from {manifest.source!r}, "
                      f"but data.name={data_name!r}")


def capped(encoded, max_side: int, quality: int):
  """tf.string scalar -> the stored bytes: unchanged if the image's longest
  side is at most ``max_side``, else resized to fit and JPEG-encoded."""
  decode = lambda: tf.io.decode_image(encoded, channels=3, expand_animations=False)
  # A JPEG's size is in its header: only the images that shrink are decoded.
  shape = tf.cond(tf.io.is_jpeg(encoded), lambda: tf.image.extract_jpeg_shape(encoded),
                  lambda: tf.shape(decode()))
  longest = tf.maximum(shape[0], shape[1])

  def shrink():
    image = decode()
    scale = max_side / tf.cast(longest, tf.float32)
    size = tf.maximum(1, tf.cast(tf.round(tf.cast(shape[:2], tf.float32) * scale), tf.int32))
    small = tf.image.resize(image, size, method="bicubic", antialias=True)
    return tf.io.encode_jpeg(to_uint8(small), quality=quality)

  return tf.cond(longest > max_side, shrink, lambda: encoded)
