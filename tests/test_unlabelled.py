"""Own images without labels (the ``images`` dataset): any tree of images
pretrains with the label-free parts of a run (tests/test_tracking.py runs
one), or evaluates on a labelled folder given beside it."""
import os

import numpy as np
import tensorflow as tf
from ml_collections import ConfigDict

from ssl_jax.data import sources
from ssl_jax.data.views import VIEW_PRESETS, views_of
from tests.test_folder import write_image_folder


def write_tree(root, n=48):
  """Images of random shapes and colours, half flat in ``root``, half two
  folders deep (folder names mean nothing), and one corrupt file."""
  rng = np.random.default_rng(0)
  os.makedirs(root / "trip" / "day2")
  for i in range(n):
    image = rng.integers(0, 256, (20 + i % 5, 24, 3), dtype=np.uint8)
    folder = root if i % 2 else root / "trip" / "day2"
    tf.io.write_file(str(folder / f"{i}.png"), tf.io.encode_png(image))
  (root / "trip" / "broken.jpg").write_bytes(b"\xff\xd8 not an image")


def _config(root, **data):
  return ConfigDict({"name": "images", "root": str(root), "eval_root": None, **data})


def test_a_tree_of_unlabelled_images_is_a_training_split_without_labels(tmp_path):
  images = tmp_path / "images"
  images.mkdir()
  write_tree(images)
  dataset = sources.load_dataset(_config(images))
  assert len(dataset.train) == 48 and not dataset.train_labelled
  assert dataset.num_classes == 0 and len(dataset.test) == 48  # the diagnostics' sample
  assert any("trip/day2" in p for p in dataset.train.paths)
  labelled = tmp_path / "labelled"
  write_image_folder(labelled)
  dataset = sources.load_dataset(_config(images, eval_root=str(labelled)))
  assert dataset.num_classes == 3 and not dataset.train_labelled
  assert len(dataset.train) == 48 and len(dataset.test) == 9  # val/: 3 per class


def test_a_view_size_scales_every_view_of_a_preset():
  """data.view_size: the first view at that size, local crops in proportion."""
  multicrop = VIEW_PRESETS["mira_multicrop"]
  assert [v.size for v in multicrop.resized(112).views] == [112, 112] + [48] * 6
  assert multicrop.resized(None) is multicrop
  config = ConfigDict({"views": "synthetic", "view_size": 16})
  assert [v.size for v in views_of(config).views] == [16, 16]
