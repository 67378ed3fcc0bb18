"""The prepared format: a folder dataset rewritten by ``python -m ssl_jax.prepare``
and read back through ``data.prepared`` gives the same examples in the same order."""
import os

from ml_collections import ConfigDict
import numpy as np
import pytest
import tensorflow as tf

from ssl_jax import prepare
from ssl_jax.data import pipeline, prepared, sources
from ssl_jax.data.views import ViewSet, ViewSpec
from ssl_jax.registry import ConfigError

CAP = 48
VIEWS = ViewSet((ViewSpec(size=16, min_scale=0.3), ViewSpec(size=8, min_scale=0.1)))


def _colour(label, i):
  return np.array([30 + 70 * label, 20 + 25 * i, 200 - 20 * i], np.uint8)


def _write_folder(root):
  """Flat images, each its own colour (so that every view names its image);
  even ones small (kept as they are), odd ones larger than CAP; JPEG and PNG."""
  for split, per_class in (("train", 6), ("test", 2)):
    for label in range(3):
      os.makedirs(root / split / f"c{label}")
      for i in range(per_class):
        shape = (30, 40, 3) if i % 2 == 0 else (72, 96, 3)
        image = np.broadcast_to(_colour(label, i), shape)
        encode = tf.io.encode_png if i % 3 == 2 else tf.io.encode_jpeg
        ext = ".png" if i % 3 == 2 else ".jpg"
        tf.io.write_file(str(root / split / f"c{label}" / f"{i}{ext}"), encode(image))


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
  root = tmp_path_factory.mktemp("raw")
  _write_folder(root)
  out = tmp_path_factory.mktemp("prepared") / "data"
  prepare.main(["--source=folder", f"--root={root}", f"--out={out}", f"--max_side={CAP}"])
  data = lambda **kw: ConfigDict({"name": "folder", "root": str(root), "prepared": None, **kw})
  return sources.load_dataset(data()), sources.load_dataset(data(prepared=str(out))), out, root


def test_manifest_labels_and_stored_images(folders):
  raw, ready, out, _ = folders
  manifest = prepared.Manifest.read(out)
  assert manifest.splits == {"train": "train", "bank": "train", "test": "test"}
  assert manifest.sizes == {"train": 18, "test": 6} and manifest.max_side == CAP
  assert ready.num_classes == 3 and ready.eval_crop_fraction == raw.eval_crop_fraction
  assert ready.bank is ready.train
  for split, copy in ((raw.train, ready.train), (raw.test, ready.test)):
    np.testing.assert_array_equal(split.labels, copy.labels)
    for source, stored in zip(split.paths, copy.paths):
      data = tf.io.read_file(stored)
      shape = tf.io.decode_image(data, channels=3).shape
      if max(tf.io.decode_image(tf.io.read_file(source)).shape[:2]) <= CAP:
        assert data.numpy() == tf.io.read_file(source).numpy()  # kept byte for byte
      else:
        assert max(shape[:2]) == CAP and tf.io.is_jpeg(data)


def _identity(view):
  """The image a flat view came from: its colour, to a JPEG's tolerance."""
  return tuple(int(round(c / 5.0)) for c in view.reshape(-1, 3).mean(0))


def take_train(split, steps):
  batches = pipeline.train_batches(split, VIEWS, 6, seed=4)
  return [next(batches) for _ in range(steps)]


def test_prepared_run_sees_the_same_examples_in_the_same_order(folders):
  raw, ready, _, _ = folders
  steps = 7  # more than two epochs of three steps
  for x, y in zip(take_train(raw.train, steps), take_train(ready.train, steps)):
    np.testing.assert_array_equal(x["label"], y["label"])
    for v in range(len(VIEWS)):
      assert [_identity(i) for i in x["views"][v]] == [_identity(i) for i in y["views"][v]]
      # Flat images: a view is its image's colour wherever the window falls.
      np.testing.assert_allclose(x["views"][v].astype(float), y["views"][v].astype(float),
                                 atol=4)


def test_prepared_eval_batches_equal_the_raw_ones(folders):
  raw, ready, _, _ = folders
  for x, y in zip(pipeline.eval_batches(raw.test, 16, 4, 0.875),
                  pipeline.eval_batches(ready.test, 16, 4, 0.875)):
    np.testing.assert_array_equal(x["label"], y["label"])
    np.testing.assert_array_equal(x["mask"], y["mask"])
    np.testing.assert_allclose(x["image"].astype(float), y["image"].astype(float), atol=4)


def test_an_interrupted_preparation_finishes_on_rerun(folders, tmp_path):
  _, _, out, root = folders
  copy = tmp_path / "copy"
  args = ["--source=folder", f"--root={root}", f"--out={copy}", f"--max_side={CAP}"]
  prepare.main(args)
  # As after a crash: the manifest, a shard's marker and one file missing.
  os.remove(copy / prepared.MANIFEST)
  os.remove(copy / "train" / "done" / "0")
  os.remove(copy / "train" / "00000" / "000000005")
  with pytest.raises(ConfigError, match="has not finished"):
    sources.load_dataset(ConfigDict({"name": "folder", "prepared": str(copy)}))
  prepare.main(args)
  for name in ("00000/000000005", "00000/000000011", "labels.npy"):
    assert (copy / "train" / name).read_bytes() == (out / "train" / name).read_bytes()


def test_a_prepared_copy_of_another_dataset_is_refused(folders):
  _, _, out, _ = folders
  with pytest.raises(ConfigError, match="prepared from 'folder', but data.name='cifar10'"):
    sources.load_dataset(ConfigDict({"name": "cifar10", "prepared": str(out)}))


def test_a_tfds_split_is_written_in_its_own_order_with_its_class_subset(tmp_path):
  import tensorflow_datasets as tfds  # pylint: disable=g-import-not-at-top
  from ssl_jax.data.sources import TfdsSplit  # pylint: disable=g-import-not-at-top
  from tests import tfds_fixture  # pylint: disable=g-import-not-at-top
  builder = tfds_fixture.prepared_builder(tmp_path / "tfds")
  source = builder.as_dataset(split="train", shuffle_files=False,
                              decoders={"image": tfds.decode.SkipDecoding()})
  examples = [(ex["image"], int(ex["label"])) for ex in source.as_numpy_iterator()]
  subset = TfdsSplit(builder, "train", sum(label != 1 for _, label in examples), classes=(2, 0))
  for name, split, kept in (("all", TfdsSplit(builder, "train", len(examples)), examples),
                            ("subset", subset, [(e, {2: 0, 0: 1}[l]) for e, l in examples
                                                if l != 1])):
    count = prepare.write_split(split, tmp_path / "out" / name, max_side=CAP, quality=90)
    stored = prepared.read_split(tmp_path / "out", name)
    assert count == len(kept) == len(stored)
    np.testing.assert_array_equal(stored.labels, [label for _, label in kept])
    for path, (data, _) in zip(stored.paths, kept):
      assert tf.io.read_file(path).numpy() == data  # 20x24: kept byte for byte
