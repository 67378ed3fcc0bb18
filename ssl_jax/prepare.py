"""Rewrites a dataset once into the prepared format (``ssl_jax.data.prepared``).

    python -m ssl_jax.prepare --source=imagenet2012 --root=TFDS_DIR --out=DIR [--max_side=500]

then train with ``--config.data.prepared=DIR`` (same ``data.name``).  Any
source ``--config.data.name`` accepts: tfds datasets, ``folder`` and
``images`` trees, the built-in ones; ``--root`` and ``--out`` may be URLs.
Rerunning on the same ``--out`` after an interruption finishes the work:
finished shards are kept and skipped.
"""
import argparse
import concurrent.futures
import io

from absl import logging
import ml_collections
import numpy as np
import tensorflow as tf

from ssl_jax import storage
from ssl_jax.data import prepared, sources
from ssl_jax.data.folder import ImageFiles, byte_reader
from ssl_jax.data.pipeline import select_classes
from ssl_jax.data.sources import ArraySplit, TfdsSplit

# Longest side kept as it is: ImageNet's typical images (500 x 375, 500 x 333)
# stay byte for byte, so a 224 px recipe sees the views it sees on the raw files.
DEFAULT_MAX_SIDE = 500
_WRITERS = 32


def _encoded_stream(split):
  """tf.data of (encoded image, label) in the split's own order, and whether
  its images come encoded (they may then be kept as they are)."""
  if isinstance(split, ArraySplit):
    ds = tf.data.Dataset.from_tensor_slices((split.images, split.labels))
    return ds.map(lambda image, label: (tf.io.encode_png(image), label)), False
  if isinstance(split, ImageFiles):
    read = byte_reader(split.paths)
    ds = tf.data.Dataset.from_tensor_slices((split.paths, split.labels))
    return ds.map(lambda path, label: (read(path), label)), True
  import tensorflow_datasets as tfds  # pylint: disable=g-import-not-at-top
  ds = split.builder.as_dataset(split=split.split, shuffle_files=False,
                                decoders={"image": tfds.decode.SkipDecoding()})
  ds = select_classes(ds, split)
  return ds.map(lambda ex: (ex["image"], tf.cast(ex["label"], tf.int32))), True


def _finished_shards(split_dir, count):
  done_dir = split_dir / "done"
  shards = -(-count // prepared.SHARD_SIZE)
  finished = np.zeros(shards, bool)
  if done_dir.is_dir():
    for marker in done_dir.iterdir():
      if marker.name.isdigit() and int(marker.name) < shards:
        finished[int(marker.name)] = True
  return finished


def write_split(split, split_dir, max_side: int, quality: int) -> int:
  """Writes one split; returns how many examples it holds."""
  split_dir = storage.path(split_dir)
  count = len(split)
  finished = _finished_shards(split_dir, count)
  ds, encoded = _encoded_stream(split)
  skip = tf.constant(finished)

  def store(index, example):
    image, label = example
    keep = tf.gather(skip, index // prepared.SHARD_SIZE)
    stored = image if not encoded else tf.cond(
        keep, lambda: tf.constant(b""), lambda: prepared.capped(image, max_side, quality))
    return index, stored, label

  ds = ds.enumerate().map(store, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
  paths = prepared.example_paths(split_dir, count)
  labels = np.zeros(count, np.int32)
  seen = 0
  with concurrent.futures.ThreadPoolExecutor(_WRITERS) as pool:
    pending = []
    for index, data, label in ds.prefetch(tf.data.AUTOTUNE).as_numpy_iterator():
      labels[index], seen = label, seen + 1
      shard, last = divmod(index, prepared.SHARD_SIZE)
      if not finished[shard]:
        pending.append(pool.submit(storage.write_bytes, paths[index], data))
      if last == prepared.SHARD_SIZE - 1 or index == count - 1:
        for future in pending:
          future.result()
        pending = []
        if not finished[shard]:
          storage.write_bytes(split_dir / "done" / str(shard), b"")
          logging.info("%s: shard %d of %d written", split_dir, shard + 1, len(finished))
  if seen != count:
    raise RuntimeError(f"{split_dir}: the source yielded {seen} examples, expected {count}")
  buffer = io.BytesIO()
  np.save(buffer, labels)
  storage.write_bytes(split_dir / "labels.npy", buffer.getvalue())
  return count


def prepare(data_config, out, max_side=DEFAULT_MAX_SIDE, quality=90) -> prepared.Manifest:
  """Writes every split of ``data_config``'s dataset under ``out``."""
  if max_side < 1:
    raise ValueError(f"--max_side must be >= 1, got {max_side}")
  dataset = sources.load_dataset(data_config)
  roles = {"train": dataset.train, "bank": dataset.bank, "test": dataset.test}
  splits, sizes, stored = {}, {}, {}
  for role, split in roles.items():
    name = next((n for n, s in stored.items() if s is split), role)
    if name == role:
      stored[name] = split
      sizes[name] = write_split(split, storage.path(out) / name, max_side, quality)
    splits[role] = name
  manifest = prepared.Manifest(
      source=dataset.name, max_side=max_side, quality=quality,
      num_classes=dataset.num_classes, mean=tuple(dataset.mean), std=tuple(dataset.std),
      eval_crop_fraction=dataset.eval_crop_fraction, train_labelled=dataset.train_labelled,
      splits=splits, sizes=sizes)
  manifest.write(out)
  return manifest


def main(argv=None):
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--source", required=True, help="a dataset name (as data.name)")
  parser.add_argument("--out", required=True, help="the prepared directory to write")
  parser.add_argument("--root", default=None, help="the source's data.root")
  parser.add_argument("--eval_root", default=None, help="images only: data.eval_root")
  parser.add_argument("--max_side", type=int, default=DEFAULT_MAX_SIDE,
                      help="longest side kept; larger images are resized to it")
  parser.add_argument("--quality", type=int, default=90, help="JPEG quality of resized images")
  parser.add_argument("--image_size", type=int, default=32, help="built-in datasets only")
  parser.add_argument("--num_examples", type=int, default=None, help="built-in datasets only")
  args = parser.parse_args(argv)
  tf.config.set_visible_devices([], "GPU")
  data_config = ml_collections.ConfigDict({
      "name": args.source, "root": args.root, "eval_root": args.eval_root,
      "image_size": args.image_size, "seed": 0, "num_examples": args.num_examples})
  manifest = prepare(data_config, args.out, args.max_side, args.quality)
  print(f"prepared {manifest.source} in {args.out}: "
        + ", ".join(f"{name} {size}" for name, size in manifest.sizes.items())
        + f" examples, longest side <= {manifest.max_side}")


if __name__ == "__main__":
  main()
