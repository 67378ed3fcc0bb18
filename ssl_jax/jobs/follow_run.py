"""Evaluation jobs follow the pretraining run they evaluate.

A linear or k-NN evaluation whose config leaves ``data.name`` unset takes
the run's dataset (name, root, image size, seed and, unless the config sets
it, size) from the backbone's record of its run (``Backbone.data``: the
run's config.json, or the metadata of an exported file), and the linear
protocol's crop-and-flip views at the backbone's resolution.  A protocol or
dataset named in the config wins.
"""
from absl import logging

from ssl_jax.registry import ConfigError

# The crop-and-flip preset of each training resolution (others: linear_cifar's
# crops resized to the backbone's resolution).
LINEAR_VIEWS = {24: "linear_synthetic", 32: "linear_cifar", 96: "linear_stl10",
                224: "linear_imagenet"}


def follow_run(config, backbone):
  """Fills ``config.data`` (in place) from ``backbone``'s run where
  ``config.data.name`` is None; otherwise leaves it as it is."""
  if config.data.name is not None:
    return
  data = backbone.data
  if not data.get("name"):
    raise ConfigError(f"{backbone.source} does not record the data it was trained on "
                      f"(weights from outside ssl_jax): set --config.data.name")
  for key in ("name", "root", "image_size", "seed", "eval_root", "prepared"):
    if key in data and key in config.data:
      config.data[key] = data[key]
  if config.data.num_examples is None:
    config.data.num_examples = data.get("num_examples")
  if "views" in config.data and config.data.views is None:
    config.data.views = LINEAR_VIEWS.get(backbone.image_size, "linear_cifar")
    if backbone.image_size not in LINEAR_VIEWS and config.data.view_size is None:
      config.data.view_size = backbone.image_size
  logging.info("Evaluating on the pretraining run's data: %s", config.data.to_dict())
