"""Datasets by name: where the images come from and what they are.

A source yields splits of two kinds: ``ArraySplit`` (uint8 images held in
host memory; CIFAR, the built-in ``synthetic``, ``synthetic_gray`` and
``digits``) and ``TfdsSplit`` (streamed
from a prepared tfds dataset; ImageNet, STL-10).  Nothing here downloads:
a tfds dataset that is not prepared raises ``DatasetNotPreparedError``,
whose message says where tfds looked and how to prepare it.
"""
import dataclasses
import functools
from typing import Any, Optional, Tuple, Union

import numpy as np

from ssl_jax.data import digits, folder, imagenet100, prepared, synthetic
from ssl_jax.data.normalization import IMAGENET_MEAN, IMAGENET_STD, normalization
from ssl_jax.data.folder import ImageFiles
from ssl_jax.registry import Registry

class DatasetNotPreparedError(RuntimeError):
  """A tfds dataset the config names is not on disk."""


@dataclasses.dataclass(frozen=True)
class ArraySplit:
  """A split held in memory: images uint8 [n, H, W, 3], labels int32 [n]."""
  images: np.ndarray
  labels: np.ndarray

  def __len__(self):
    return len(self.labels)


@dataclasses.dataclass(frozen=True)
class TfdsSplit:
  """A split streamed from a prepared tfds builder (encoded images).

  ``classes``: original label ids to keep, in the order of the new labels
  (a class subset such as ImageNet-100); None keeps every class.
  """
  builder: Any
  split: str
  num_examples: int
  classes: Optional[Tuple[int, ...]] = None

  def __len__(self):
    return self.num_examples


Split = Union[ArraySplit, ImageFiles, TfdsSplit]


@dataclasses.dataclass(frozen=True)
class Dataset:
  """What the rest of the system needs to know about a dataset.

  train: the pretraining split; bank: labelled split used as the k-NN bank;
  test: held-out labelled split.  ``eval_crop_fraction`` is the centre crop
  used for evaluation views (0.875 = ImageNet's 256 -> 224).  With
  ``num_classes`` 0 there are no labels to evaluate with (bank and test are
  images for the label-free diagnostics); ``train_labelled`` False: the
  training split has no labels (no online probe).
  """
  name: str
  train: Split
  bank: Split
  test: Split
  num_classes: int
  mean: Tuple[float, float, float] = IMAGENET_MEAN
  std: Tuple[float, float, float] = IMAGENET_STD
  eval_crop_fraction: float = 1.0
  train_labelled: bool = True


def _generated(name, generate, num_classes):
  """A built-in dataset drawn by ``generate(split, size, seed, num_examples)``
  (``data.num_examples`` caps the train split, the test split at a fifth)."""
  def load(data_config) -> Dataset:
    size, seed, n = data_config.image_size, data_config.seed, data_config.num_examples
    train = ArraySplit(*generate("train", size, seed, n))
    test = ArraySplit(*generate("test", size, seed, n and max(n // 5, 1)))
    mean, std = normalization(name)
    return Dataset(name, train=train, bank=train, test=test, num_classes=num_classes,
                   mean=mean, std=std)
  return load


_TFDS_HELP = {
    "imagenet2012": (
        "ImageNet needs a manual download: put ILSVRC2012_img_train.tar and "
        "ILSVRC2012_img_val.tar (from https://image-net.org) into "
        "{data_dir}/downloads/manual/, then run\n"
        "    tfds build {name} --data_dir={data_dir}\n"),
}


def tfds_builder(name: str, data_dir: Optional[str]):
  """A prepared tfds builder, or ``DatasetNotPreparedError`` saying how to fix it."""
  import tensorflow_datasets as tfds  # pylint: disable=g-import-not-at-top
  builder = tfds.builder(name, data_dir=data_dir)
  if not builder.is_prepared():
    # data_path is <root>/<name>[/<config>]/<version>.
    root = str(builder.data_path)[:-len(builder.info.full_name) - 1]
    how = _TFDS_HELP.get(name.split("/")[0].removesuffix("_subset"), (
        "Prepare it on a machine with internet access with\n"
        "    tfds build {name} --data_dir={data_dir}\n"
        "and copy the folder here if this machine is offline.\n"))
    raise DatasetNotPreparedError(
        f"dataset {name!r} is not prepared: tfds looked in {builder.data_path} "
        f"and found nothing.\n" + how.format(name=name, data_dir=root) +
        f"Then pass --config.data.root={root} (or set TFDS_DATA_DIR).")
  return builder


def _tfds_in_memory(builder, split: str) -> ArraySplit:
  import tensorflow_datasets as tfds  # pylint: disable=g-import-not-at-top
  data = tfds.as_numpy(builder.as_dataset(split=split, batch_size=-1))
  return ArraySplit(np.asarray(data["image"], np.uint8),
                    np.asarray(data["label"], np.int32))


def _tfds_stream(builder, split: str) -> TfdsSplit:
  return TfdsSplit(builder, split, builder.info.splits[split].num_examples)


def _cifar(name, num_classes):
  def load(data_config) -> Dataset:
    builder = tfds_builder(name, data_config.root)
    train = _tfds_in_memory(builder, "train")
    mean, std = normalization(name)
    return Dataset(name, train=train, bank=train,
                   test=_tfds_in_memory(builder, "test"),
                   num_classes=num_classes, mean=mean, std=std)
  return load


def _stl10(data_config) -> Dataset:
  builder = tfds_builder("stl10", data_config.root)
  return Dataset("stl10", train=_tfds_stream(builder, "unlabelled+train"),
                 bank=_tfds_stream(builder, "train"),
                 test=_tfds_stream(builder, "test"), num_classes=10)


def _imagenet(data_config) -> Dataset:
  builder = tfds_builder("imagenet2012", data_config.root)
  train = _tfds_stream(builder, "train")
  return Dataset("imagenet2012", train=train, bank=train,
                 test=_tfds_stream(builder, "validation"), num_classes=1000,
                 eval_crop_fraction=0.875)


def _imagenet_subset(percent: int):
  """SimCLR's 1 % / 10 % ImageNet label lists (tfds ``imagenet2012_subset``)."""
  def load(data_config) -> Dataset:
    train = _tfds_stream(tfds_builder(f"imagenet2012_subset/{percent}pct", data_config.root),
                         "train")
    test = _tfds_stream(tfds_builder("imagenet2012", data_config.root), "validation")
    return Dataset(f"imagenet2012_{percent}pct", train=train, bank=train, test=test,
                   num_classes=1000, eval_crop_fraction=0.875)
  return load


def _imagenet100(data_config) -> Dataset:
  builder = tfds_builder("imagenet2012", data_config.root)
  names = builder.info.features["label"].names
  classes = tuple(names.index(s) for s in imagenet100.SYNSETS)
  train = TfdsSplit(builder, "train", imagenet100.NUM_TRAIN, classes)
  return Dataset("imagenet100", train=train, bank=train,
                 test=TfdsSplit(builder, "validation", imagenet100.NUM_VALIDATION, classes),
                 num_classes=100, eval_crop_fraction=0.875)


def _folder(data_config) -> Dataset:
  classes, splits = folder.load_folder(data_config.root)
  return Dataset("folder", train=splits["train"], bank=splits["train"],
                 test=splits["test"], num_classes=len(classes), eval_crop_fraction=0.875)


# Images the unlabelled ``images`` dataset evaluates its collapse diagnostics on.
DIAGNOSTIC_SAMPLE = 1000


def _images(data_config) -> Dataset:
  """Unlabelled images (``folder.load_unlabelled``): no k-NN or probe unless
  ``data.eval_root`` names a labelled folder to evaluate on; the collapse
  diagnostics run on an evenly spaced sample of the training images."""
  train = folder.load_unlabelled(data_config.root)
  if data_config.get("eval_root"):
    classes, labelled = folder.load_folder(data_config.eval_root)
    return Dataset("images", train=train, bank=labelled["train"], test=labelled["test"],
                   num_classes=len(classes), eval_crop_fraction=0.875, train_labelled=False)
  idx = np.linspace(0, len(train) - 1, min(len(train), DIAGNOSTIC_SAMPLE)).astype(int)
  sample = ImageFiles(train.paths[idx], train.labels[idx])
  return Dataset("images", train=train, bank=sample, test=sample, num_classes=0,
                 eval_crop_fraction=0.875, train_labelled=False)


SOURCES = Registry("dataset", {
    "folder": _folder,
    "images": _images,
    "synthetic": _generated("synthetic", synthetic.generate, synthetic.NUM_CLASSES),
    "synthetic_gray": _generated(
        "synthetic_gray", functools.partial(synthetic.generate, gray=True),
        synthetic.NUM_CLASSES),
    "digits": _generated("digits", digits.generate, digits.NUM_CLASSES),
    "cifar10": _cifar("cifar10", 10),
    "cifar100": _cifar("cifar100", 100),
    "stl10": _stl10,
    "imagenet2012": _imagenet,
    "imagenet2012_1pct": _imagenet_subset(1),
    "imagenet2012_10pct": _imagenet_subset(10),
    "imagenet100": _imagenet100,
})


def _prepared(data_config) -> Dataset:
  """The dataset as ``python -m ssl_jax.prepare`` wrote it to ``data.prepared``."""
  directory = data_config.prepared
  manifest = prepared.Manifest.read(directory)
  prepared.check_source(manifest, directory, data_config.name)
  splits = {name: prepared.read_split(directory, name) for name in manifest.sizes}
  roles = {role: splits[name] for role, name in manifest.splits.items()}
  return Dataset(manifest.source, train=roles["train"], bank=roles["bank"],
                 test=roles["test"], num_classes=manifest.num_classes, mean=manifest.mean,
                 std=manifest.std, eval_crop_fraction=manifest.eval_crop_fraction,
                 train_labelled=manifest.train_labelled)


def load_dataset(data_config) -> Dataset:
  """The dataset ``config.data`` names (``name``, ``root``, ...), read from
  ``data.prepared`` when that names a prepared copy."""
  if data_config.get("prepared"):
    return _prepared(data_config)
  return SOURCES.lookup(data_config.name, "data.name")(data_config)
