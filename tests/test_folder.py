"""The ``folder`` source: a user's images in root/<split>/<class>/, corrupt files skipped."""
import dataclasses
import os
import re

from ml_collections import ConfigDict
import numpy as np
import pytest
import tensorflow as tf

from ssl_jax.data import folder, pipeline, sources
from ssl_jax.data.views import ViewSet, ViewSpec

CLASSES = ("cat", "dog", "eel")


def _write(path, label, index):
  """A 20x24 image whose brightness encodes its class; JPEG or PNG by index."""
  image = np.full((20, 24, 3), 40 + 80 * label, np.uint8)
  encode = tf.io.encode_png if index % 2 else tf.io.encode_jpeg
  tf.io.write_file(path, encode(image))


def _brightness_class(image):
  return int(round((float(image.mean()) - 40) / 80))


def write_image_folder(root):
  """train/ (6 per class and three unreadable files) and val/ (3 per class)."""
  for split, per_class in (("train", 6), ("val", 3)):
    for label, name in enumerate(CLASSES):
      os.makedirs(root / split / name)
      for i in range(per_class):
        ext = ".png" if i % 2 else ".jpg"
        _write(str(root / split / name / f"{i}{ext}"), label, i)
  good = tf.io.encode_jpeg(np.zeros((20, 24, 3), np.uint8)).numpy()
  (root / "train" / "dog" / "truncated.jpg").write_bytes(good[:len(good) // 3])
  (root / "train" / "dog" / "garbage.jpg").write_bytes(b"\xff\xd8 not an image")
  (root / "train" / "eel" / "empty.png").write_bytes(b"")
  (root / "train" / "eel" / "notes.txt").write_text("not an image, not listed")


@pytest.fixture(scope="module")
def root(tmp_path_factory):
  root = tmp_path_factory.mktemp("folder")
  write_image_folder(root)
  return root


@pytest.fixture(scope="module")
def dataset(root):
  return sources.load_dataset(ConfigDict({"name": "folder", "root": str(root)}))


def test_classes_labels_and_skipped_files(dataset):
  assert dataset.num_classes == 3
  assert len(dataset.train) == 18 and len(dataset.test) == 9
  assert sorted(os.path.basename(p) for p in dataset.train.skipped) == [
      "empty.png", "garbage.jpg", "truncated.jpg"]
  for split in (dataset.train, dataset.test):
    for path, label in zip(split.paths, split.labels):
      assert os.path.basename(os.path.dirname(path)) == CLASSES[label]


def test_eval_batches_decode_every_image_once_with_its_label(dataset):
  seen = []
  for p in range(2):
    for b in pipeline.eval_batches(dataset.test, 16, 4, 0.875, pipeline.HostShard(p, 2)):
      assert b["image"].shape == (2, 16, 16, 3)
      seen += [(int(l), _brightness_class(img))
               for img, l, m in zip(b["image"], b["label"], b["mask"]) if m]
  assert sorted(seen) == sorted((l, l) for l in range(3) for _ in range(3))


def test_train_views_resume_exactly_and_match_labels(dataset):
  views = ViewSet((ViewSpec(size=8), ViewSpec(size=6)))
  batches = lambda start: pipeline.train_batches(dataset.train, views, 6, seed=3,
                                                 start_step=start)
  full = [next(it) for it in [batches(0)] for _ in range(5)]
  resumed = batches(4)
  again = next(resumed)
  for a, b in zip(full[4]["views"], again["views"]):
    np.testing.assert_array_equal(a, b)
  assert full[0]["views"][1].shape == (6, 6, 6, 3) and full[0]["views"][0].dtype == np.uint8
  # Three steps make one epoch of 18: every image exactly once.
  labels = np.concatenate([b["label"] for b in full[:3]])
  assert sorted(labels.tolist()) == [0] * 6 + [1] * 6 + [2] * 6
  for b in full:
    for image, label in zip(b["views"][0], b["label"]):
      assert _brightness_class(image) == label


def _layout(root, files):
  """Writes ``files`` ({"train/a/0.jpg": label, "test/": None, ...}): images,
  unreadable files (label -1) and empty folders (a path ending in /)."""
  for name, label in files.items():
    path = root / name
    if name.endswith("/"):
      os.makedirs(path, exist_ok=True)
      continue
    os.makedirs(path.parent, exist_ok=True)
    if label < 0:
      path.write_bytes(b"\xff\xd8 not an image")
    else:
      _write(str(path), label, 0)


_GOOD = {"train/a/0.jpg": 0, "train/b/0.jpg": 1, "test/a/0.jpg": 0}


@pytest.mark.parametrize("files,root,message", [
    ({}, "missing", r"data.root=.*/missing does not exist \(the folder dataset needs "
                    r"images in ROOT/train/<class>/\*\.jpg"),
    ({"test/a/0.jpg": 0}, "", r"has no train/ folder"),
    ({"train/": None, "test/a/0.jpg": 0}, "", r"/train has no class folders"),
    ({"train/a/0.jpg": 0}, "", r"no held-out split in .*: expected one of test, val"),
    ({"train/a/0.jpg": 0, "test/": None}, "", r"no \.jpg/\.jpeg/\.png images under .*/test"),
    ({"train/a/0.jpg": 0, "test/a/": None}, "", r"no \.jpg/\.jpeg/\.png images under .*/test"),
    ({"train/a/0.jpg": -1, "train/a/1.jpg": -1, "test/a/0.jpg": 0}, "",
     r"none of the 2 image files under .*/train could be decoded \(e\.g\. .*0\.jpg\)"),
    ({**_GOOD, "test/c/0.jpg": 0}, "", r"test has classes that train/ lacks: \['c'\]"),
])
def test_a_folder_that_cannot_be_used_is_one_line_naming_the_problem(
    tmp_path, files, root, message):
  _layout(tmp_path, files)
  with pytest.raises(folder.FolderError, match=message) as info:
    sources.load_dataset(ConfigDict({"name": "folder", "root": str(tmp_path / root)}))
  assert "\n" not in str(info.value)


def test_an_empty_class_folder_is_a_class_with_a_warning(tmp_path, caplog):
  _layout(tmp_path, {**_GOOD, "train/c/": None})
  data = sources.load_dataset(ConfigDict({"name": "folder", "root": str(tmp_path)}))
  assert data.num_classes == 3 and len(data.train) == 2
  assert re.search(r"train/c has no images: class 'c' \(label 2\) has no examples", caplog.text)


def test_fewer_images_than_one_batch_is_a_config_error(tmp_path):
  from ssl_jax.registry import ConfigError  # pylint: disable=g-import-not-at-top
  with pytest.raises(ConfigError, match="has 12 examples, fewer than one global batch of 16"):
    pipeline.steps_per_epoch(12, 16)


def test_a_file_that_breaks_after_listing_is_dropped_not_fatal(dataset, tmp_path):
  broken = tmp_path / "gone.jpg"
  broken.write_bytes(b"\xff\xd8 broken later")
  split = dataclasses.replace(dataset.train, paths=np.append(dataset.train.paths, str(broken)),
                              labels=np.append(dataset.train.labels, np.int32(7)))
  views = ViewSet((ViewSpec(size=8),), num_global=1)
  it = pipeline.train_batches(split, views, 6, seed=0)
  labels = np.concatenate([next(it)["label"] for _ in range(8)])
  assert len(labels) == 48 and 7 not in labels
