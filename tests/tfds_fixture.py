"""A tiny tfds dataset of JPEGs, generated and prepared by the tests."""
import numpy as np
import tensorflow_datasets as tfds

NUM_CLASSES = 3
SPLITS = {"train": 23, "test": 11}


class TinyJpegs(tfds.core.GeneratorBasedBuilder, skip_registration=True):
  """Coloured 20x24 JPEGs whose label is encoded in the image (for checks)."""
  VERSION = tfds.core.Version("1.0.0")

  def _info(self):
    return tfds.core.DatasetInfo(
        builder=self,
        features=tfds.features.FeaturesDict({
            "image": tfds.features.Image(shape=(20, 24, 3), encoding_format="jpeg"),
            "label": tfds.features.ClassLabel(num_classes=NUM_CLASSES),
            "id": np.int64,
        }))

  def _split_generators(self, dl_manager):
    del dl_manager
    return {name: self._generate_examples(name, n) for name, n in SPLITS.items()}

  def _generate_examples(self, split, n):
    for i in range(n):
      label = i % NUM_CLASSES
      image = np.full((20, 24, 3), 40 + 80 * label, np.uint8)
      yield f"{split}{i}", {"image": image, "label": label, "id": i}


def prepared_builder(data_dir):
  builder = TinyJpegs(data_dir=str(data_dir))
  builder.download_and_prepare()
  return builder


class SmallCifar10(tfds.image_classification.Cifar10, skip_registration=True):
  """CIFAR-10's own builder (name, version, features: what tfds looks up in
  a ``data_dir``) with 12 training and 6 test images of random pixels."""
  name = "cifar10"

  def _split_generators(self, dl_manager):
    del dl_manager
    return {"train": self._random_examples("train", 12), "test": self._random_examples("test", 6)}

  def _random_examples(self, split, n):
    rng = np.random.default_rng(len(split))
    for i in range(n):
      key = f"{split}_{i}"
      yield key, {"id": key, "image": rng.integers(0, 256, (32, 32, 3), np.uint8),
                  "label": i % 10}
