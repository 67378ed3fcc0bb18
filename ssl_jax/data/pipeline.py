"""tf.data pipelines, one per host: training views and padded eval batches.

Training batches are a pure function of (seed, step): for indexed splits
(in-memory arrays, image files, prepared copies) the example at position j
of epoch e is ``index_shuffle(j, seed=(seed, e))``, a stateless
permutation, and every view is cropped with a seed folded from the
example's global position.  Global batch s is the same set of examples in
the same order whatever the number of hosts; host p reads rows
[p*b, (p+1)*b) of it.  Resuming at step s therefore continues exactly.
The same batches can be built by tf.data service workers
(``ssl_jax.data.service``), one step per element, and put back in order.

Streamed (tfds) splits are read per host from ``tfds.even_splits`` with
per-epoch seeded file and buffer shuffles; resuming skips the consumed part
of the epoch before decoding.
"""
import dataclasses
import functools
import math
from typing import Iterator, Union

import jax
import tensorflow as tf

from ssl_jax import storage
from ssl_jax.data import service as data_service
from ssl_jax.data.augment_host import canvas_views, center_view, crop_views, decode_views
from ssl_jax.data.folder import ImageFiles, byte_reader
from ssl_jax.data.sources import ArraySplit, Split, TfdsSplit
from ssl_jax.registry import ConfigError

_FOREVER = 2 ** 62
_AUTOTUNE = tf.data.AUTOTUNE


@dataclasses.dataclass(frozen=True)
class HostShard:
  """This process's place among the processes that feed one global batch."""
  index: int = 0
  count: int = 1

  @classmethod
  def current(cls) -> "HostShard":
    """This process's shard of the running (multi-host) job."""
    return cls(jax.process_index(), jax.process_count())

  def batch(self, global_batch: int) -> int:
    if global_batch % self.count:
      raise ValueError(f"global batch {global_batch} is not divisible by the "
                       f"{self.count} processes")
    return global_batch // self.count


def steps_per_epoch(num_examples: int, global_batch: int) -> int:
  """Full global batches per epoch (the remainder is dropped, as in the references)."""
  steps = num_examples // global_batch
  if steps == 0:
    raise ConfigError(f"the training split has {num_examples} examples, fewer "
                      f"than one global batch of {global_batch}")
  return steps


def _example_seed(seed, sample):
  return tf.random.experimental.stateless_fold_in(
      tf.constant([seed, 0x55AA], tf.int64), sample)


def _views_of(stored, sample, seed, view_set, cut):
  """The views of one example; ``cut(stored, seeds [V, 2], specs)``."""
  seeds = tf.random.experimental.stateless_split(_example_seed(seed, sample),
                                                 len(view_set))
  return cut(stored, seeds, view_set.views)


def _cutter(view_set, host_cut):
  """How an example's views are made: ``host_cut(stored, seeds, specs)``,
  or, with ``view_set.canvas``, its canvas for the accelerator to cut."""
  if view_set.canvas is None:
    return host_cut
  return functools.partial(canvas_views, canvas=view_set.canvas)


def _options(ds):
  options = tf.data.Options()
  options.deterministic = True
  options.experimental_optimization.map_parallelization = True
  return ds.with_options(options)


def skip_unreadable(ds):
  """Drops (and logs) training examples whose image fails to read or decode.

  Folder splits are checked when listed; this catches what breaks later (a
  flaky network disk, a corrupt record in a tfds shard) so that a multi-day
  run goes on.  Each drop is logged by tf.data and, before a resume point,
  shifts the following batches by one example (``step_batches`` refills
  the batch instead).
  """
  return ds.ignore_errors(log_warning=True)


def _random_access(split):
  """(read, cut, decode) for a split addressed by index.

  ``read(index)`` gives the stored image (arrays) or its encoded bytes (files);
  ``cut`` makes an example's training views of what ``read`` gives (files:
  one decode for all views); ``decode`` turns it into a uint8 [H, W, 3] image.
  """
  if isinstance(split, ArraySplit):
    images = tf.constant(split.images)
    return (lambda i: tf.gather(images, i)), crop_views, (lambda image: image)
  paths, read = tf.constant(split.paths), byte_reader(split.paths)
  return ((lambda i: read(tf.gather(paths, i))), decode_views,
          lambda encoded: tf.io.decode_image(encoded, channels=3, expand_animations=False))


def _refill(batch, size):
  """A batch of ``size`` from a shorter one (examples dropped as unreadable):
  its examples repeated in order."""
  count = tf.shape(batch["label"])[0]
  take = tf.range(size) % count
  return tf.nest.map_structure(lambda x: tf.gather(x, take), batch)


def _indexed_examples(split: Union[ArraySplit, ImageFiles], view_set, global_batch, seed,
                      shard):
  """(examples_of_step, load, b): the examples of this host's share of a step
  (index in the split, global sample number) and an example's views and label.

  Global step s takes positions [s*B, (s+1)*B) of its epoch's permutation;
  this host its rows [p*b, (p+1)*b).
  """
  n = len(split)
  spe = steps_per_epoch(n, global_batch)
  b = shard.batch(global_batch)
  labels = tf.constant(split.labels)
  read, host_cut, _ = _random_access(split)
  cut = _cutter(view_set, host_cut)

  def examples_of_step(step):
    epoch = step // spe
    first = (step % spe) * global_batch + shard.index * b
    position = first + tf.range(b, dtype=tf.int64)
    epoch_seed = tf.random.experimental.stateless_fold_in(
        tf.constant([seed, 0x0E90C4], tf.int64), epoch)
    index = tf.random.experimental.index_shuffle(position, epoch_seed,
                                                 max_index=n - 1)
    sample = step * global_batch + shard.index * b + tf.range(b, dtype=tf.int64)
    return tf.data.Dataset.from_tensor_slices({"index": index, "sample": sample})

  def load(example):
    views = _views_of(read(example["index"]), example["sample"], seed, view_set, cut)
    return {"views": views, "label": tf.gather(labels, example["index"]),
            "index": tf.cast(example["index"], tf.int32)}

  return examples_of_step, load, b


def _indexed_train(split: Union[ArraySplit, ImageFiles], view_set, global_batch, seed,
                   start_step, shard):
  examples_of_step, load, b = _indexed_examples(split, view_set, global_batch, seed, shard)
  ds = tf.data.Dataset.range(start_step, _FOREVER).flat_map(examples_of_step)
  ds = skip_unreadable(ds.map(load, num_parallel_calls=_AUTOTUNE, deterministic=True))
  return _options(ds.batch(b, drop_remainder=True).prefetch(_AUTOTUNE))


class UnreadableStep(storage.DamagedFile):
  """No example of a step could be read: a served run cannot shift its
  batches past it as a local one does."""


def step_batches(split: Union[ArraySplit, ImageFiles], view_set, global_batch, seed,
                 start_step, shard, num_steps=None):
  """The batches of ``_indexed_train`` as one element per step, tagged with
  it (``step``: int64): a dataset whose elements may be produced out of
  order, on other machines, and put back in order by their tag.

  An example that fails to read is left out and its batch refilled from its
  other examples: one bad file changes one batch (in ``_indexed_train`` it
  shifts the batches after it by one example).  A step none of whose
  examples can be read has no element.  ``num_steps``: None, forever.
  """
  examples_of_step, load, b = _indexed_examples(split, view_set, global_batch, seed, shard)

  def batch_of(step):
    ds = examples_of_step(step).map(load, num_parallel_calls=b, deterministic=True)
    return skip_unreadable(ds).batch(b).map(lambda batch: {**_refill(batch, b), "step": step})

  end = _FOREVER if num_steps is None else start_step + num_steps
  return _options(tf.data.Dataset.range(start_step, end).flat_map(batch_of))


def select_classes(ds, split: TfdsSplit):
  """Keeps ``split.classes`` and relabels them 0..k-1 (identity if None)."""
  if split.classes is None:
    return ds
  num_labels = split.builder.info.features["label"].num_classes
  mapping = [-1] * num_labels
  for new, old in enumerate(split.classes):
    mapping[old] = new
  table = tf.constant(mapping, tf.int64)
  relabel = lambda ex: {**ex, "label": tf.gather(table, tf.cast(ex["label"], tf.int64))}
  return ds.map(relabel).filter(lambda ex: ex["label"] >= 0)


def _tfds_epoch(split: TfdsSplit, epoch, seed, shard, shuffle_buffer):
  import tensorflow_datasets as tfds  # pylint: disable=g-import-not-at-top
  host_split = tfds.even_splits(split.split, n=shard.count)[shard.index]
  read_config = tfds.ReadConfig(shuffle_seed=seed * 100003 + epoch,
                                skip_prefetch=True)
  ds = split.builder.as_dataset(split=host_split, shuffle_files=True,
                                read_config=read_config,
                                decoders={"image": tfds.decode.SkipDecoding()})
  ds = select_classes(ds, split).shuffle(shuffle_buffer, seed=seed * 100019 + epoch)
  # A class subset's share per host is not known exactly: never run short.
  return ds if split.classes is None else ds.repeat()


def _tfds_train(split: TfdsSplit, view_set, global_batch, seed, start_step, shard,
                shuffle_buffer):
  spe = steps_per_epoch(len(split), global_batch)
  b = shard.batch(global_batch)
  epoch, offset = divmod(start_step, spe)
  while True:
    base = epoch * spe * global_batch + shard.index * spe * b

    def load(position, example, base=base):
      views = _views_of(example["image"], base + position, seed, view_set,
                        _cutter(view_set, decode_views))
      return {"views": views, "label": tf.cast(example["label"], tf.int32)}

    ds = _tfds_epoch(split, epoch, seed, shard, shuffle_buffer).take(spe * b)
    ds = ds.enumerate().skip(offset * b)
    ds = skip_unreadable(ds.map(load, num_parallel_calls=_AUTOTUNE, deterministic=True))
    yield from _options(ds.batch(b, drop_remainder=True).prefetch(_AUTOTUNE)).as_numpy_iterator()
    epoch, offset = epoch + 1, 0


def _served(split, view_set, global_batch, seed, start_step, shard, address):
  if isinstance(split, TfdsSplit):
    raise ConfigError("data.service builds batches by step from a split addressed by "
                      "index: write the tfds dataset once with python -m ssl_jax.prepare "
                      "and train with --config.data.prepared=DIR")
  if isinstance(split, ImageFiles) and storage.is_url(str(split.paths[0])):
    raise ConfigError("data.service workers read files with TensorFlow's own file "
                      "system: copy the data from its URL to a disk they share")

  def steps_from(step, num_steps=None):
    return step_batches(split, view_set, global_batch, seed, step, shard, num_steps)

  def rebuild(step):
    batch = next(steps_from(step, 1).as_numpy_iterator(), None)
    if batch is None:
      raise UnreadableStep(f"step {step}: none of its {shard.batch(global_batch)} examples "
                           "could be read (the warnings above name them); the last "
                           "checkpoint is kept")
    batch.pop("step")
    return batch

  elements = data_service.distributed(steps_from(start_step), address)
  return data_service.in_order(elements.as_numpy_iterator(), start_step, rebuild)


def train_batches(split: Split, view_set, global_batch: int, seed: int,
                  start_step: int = 0, shard: HostShard = HostShard(),
                  shuffle_buffer: int = 16384, service: str = None) -> Iterator[dict]:
  """This host's training batches from ``start_step`` on, forever.

  Yields dicts of NumPy arrays: ``views`` (tuple of uint8 [b, S_v, S_v, 3],
  one per ``ViewSpec``; with ``view_set.canvas`` instead the batched
  ``augment_host.canvas_views``: canvas, windows, flip) and ``label``
  (int32 [b]), b = global_batch / hosts; from an indexed split (arrays or
  files) also ``index`` (int32 [b]), each example's index in the split.
  ``service``: grpc://HOST:PORT of a tf.data service dispatcher whose workers
  build the batches (``ssl_jax.data.service``; indexed splits only).
  """
  if service:
    return _served(split, view_set, global_batch, seed, start_step, shard, service)
  if not isinstance(split, TfdsSplit):
    return _indexed_train(split, view_set, global_batch, seed, start_step,
                          shard).as_numpy_iterator()
  return _tfds_train(split, view_set, global_batch, seed, start_step, shard,
                     shuffle_buffer)


def num_eval_batches(num_examples: int, global_batch: int, shard: HostShard) -> int:
  """Batches every host runs so that the largest host shard is covered."""
  per_host_examples = math.ceil(num_examples / shard.count)
  return math.ceil(per_host_examples / shard.batch(global_batch))


def _indexed_eval(split: Union[ArraySplit, ImageFiles], size, crop_fraction, global_batch,
                  shard):
  n = len(split)
  b = shard.batch(global_batch)
  labels = tf.constant(split.labels)
  read, _, decode = _random_access(split)
  native = isinstance(split, ArraySplit) and split.images.shape[1:3] == (size, size)
  # Host p's share of each batch: contiguous rows of one global range, so
  # padding only ever sits at the end of the split.
  per_host = num_eval_batches(n, global_batch, shard) * b
  position = shard.index * per_host + tf.range(per_host, dtype=tf.int64)

  def load(pos):
    valid = pos < n
    index = tf.where(valid, pos, 0)
    image = decode(read(index))
    image = image if native else center_view(image, size, crop_fraction)
    return {"image": image, "label": tf.gather(labels, index),
            "mask": tf.cast(valid, tf.float32)}

  ds = tf.data.Dataset.from_tensor_slices(position)
  ds = ds.map(load, num_parallel_calls=_AUTOTUNE, deterministic=True)
  return _options(ds.batch(b).prefetch(_AUTOTUNE))


def _eval_examples_bound(split: TfdsSplit, shard) -> int:
  """Examples every host must be able to hold (before padding).

  Without a class subset, ``even_splits`` gives each host at most
  ceil(n / hosts).  A subset's examples may fall unevenly into the hosts'
  shards of the full split, so a host may hold up to all n of them, but
  never more than its shard of the full split: exact on one host, and
  padding on more hosts instead of ever dropping an example.
  """
  if split.classes is None:
    return math.ceil(len(split) / shard.count)
  full = split.builder.info.splits[split.split].num_examples
  return min(len(split), math.ceil(full / shard.count))


def _tfds_eval(split: TfdsSplit, size, crop_fraction, global_batch, shard):
  import tensorflow_datasets as tfds  # pylint: disable=g-import-not-at-top
  b = shard.batch(global_batch)
  total = math.ceil(_eval_examples_bound(split, shard) / b) * b
  host_split = tfds.even_splits(split.split, n=shard.count)[shard.index]
  ds = split.builder.as_dataset(split=host_split, shuffle_files=False,
                                decoders={"image": tfds.decode.SkipDecoding()})
  ds = select_classes(ds, split)

  def load(example):
    image = center_view(tf.io.decode_image(example["image"], channels=3,
                                           expand_animations=False),
                        size, crop_fraction)
    return {"image": image, "label": tf.cast(example["label"], tf.int32),
            "mask": tf.constant(1.0)}

  ds = ds.map(load, num_parallel_calls=_AUTOTUNE, deterministic=True)
  pad = tf.data.Dataset.from_tensors({
      "image": tf.zeros([size, size, 3], tf.uint8), "label": tf.constant(0),
      "mask": tf.constant(0.0)}).repeat()
  return _options(ds.concatenate(pad).take(total).batch(b).prefetch(_AUTOTUNE))


def eval_batches(split: Split, size: int, global_batch: int, crop_fraction: float = 1.0,
                 shard: HostShard = HostShard()) -> Iterator[dict]:
  """This host's evaluation batches over a whole split, padded with a mask.

  Every host yields ``num_eval_batches`` batches of dicts ``image`` (uint8
  [b, size, size, 3]), ``label`` (int32 [b]) and ``mask`` (float32 [b], 0 on
  padding), so each example is counted exactly once across hosts.
  """
  if not isinstance(split, TfdsSplit):
    ds = _indexed_eval(split, size, crop_fraction, global_batch, shard)
  else:
    ds = _tfds_eval(split, size, crop_fraction, global_batch, shard)
  return ds.as_numpy_iterator()
