"""Dataset sources: tfds loading on generated data, and the not-prepared error."""
import numpy as np
import pytest
from ml_collections import ConfigDict

from ssl_jax.data import sources
from ssl_jax.registry import ConfigError
from tests import tfds_fixture


def test_tfds_split_loads_into_memory_with_labels(tmp_path):
  builder = tfds_fixture.prepared_builder(tmp_path)
  split = sources._tfds_in_memory(builder, "train")  # pylint: disable=protected-access
  assert split.images.shape == (23, 20, 24, 3) and split.images.dtype == np.uint8
  assert split.labels.dtype == np.int32
  # The fixture encodes the class in the brightness (JPEG-rounded).
  means = split.images.reshape(23, -1).mean(1)
  np.testing.assert_allclose(means, 40 + 80 * split.labels, atol=3)


@pytest.mark.parametrize("name", ["cifar10", "stl10"])
def test_unprepared_tfds_dataset_says_where_it_looked_and_what_to_run(tmp_path, name):
  config = ConfigDict({"name": name, "root": str(tmp_path)})
  with pytest.raises(sources.DatasetNotPreparedError) as info:
    sources.load_dataset(config)
  message = str(info.value)
  assert f"dataset {name!r} is not prepared" in message
  assert str(tmp_path) in message and f"tfds build {name} --data_dir={tmp_path}" in message


@pytest.mark.parametrize("percent", [1, 10])
def test_imagenet_label_subsets_name_their_tfds_config(tmp_path, percent):
  config = ConfigDict({"name": f"imagenet2012_{percent}pct", "root": str(tmp_path)})
  with pytest.raises(sources.DatasetNotPreparedError) as info:
    sources.load_dataset(config)
  assert (f"tfds build imagenet2012_subset/{percent}pct --data_dir={tmp_path}\n"
          in str(info.value))
  assert f"{tmp_path}/downloads/manual/" in str(info.value)


def test_unknown_dataset_lists_valid_names():
  with pytest.raises(ConfigError, match="cifar10, cifar100, digits, folder, imagenet100, "
                     "imagenet2012, imagenet2012_10pct, imagenet2012_1pct, images, stl10, "
                     "synthetic, synthetic_gray"):
    sources.load_dataset(ConfigDict({"name": "mnist", "root": None}))


def test_synthetic_source_sizes():
  config = ConfigDict({"name": "synthetic", "image_size": 16, "seed": 0, "num_examples": 50})
  dataset = sources.load_dataset(config)
  assert len(dataset.train) == 50 and len(dataset.test) == 10
  assert dataset.bank is dataset.train and dataset.num_classes == 10


def test_imagenet100_is_a_filter_over_imagenet2012(tmp_path):
  import tensorflow_datasets as tfds  # pylint: disable=g-import-not-at-top
  from ssl_jax.data import imagenet100  # pylint: disable=g-import-not-at-top
  names = tfds.builder("imagenet2012", data_dir=str(tmp_path)).info.features["label"].names
  assert len(set(imagenet100.SYNSETS)) == 100 and set(imagenet100.SYNSETS) <= set(names)
  assert list(imagenet100.SYNSETS) == sorted(imagenet100.SYNSETS)
  config = ConfigDict({"name": "imagenet100", "root": str(tmp_path)})
  with pytest.raises(sources.DatasetNotPreparedError, match="tfds build imagenet2012"):
    sources.load_dataset(config)
