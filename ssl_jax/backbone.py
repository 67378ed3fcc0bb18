"""A trained backbone without its training state: save, load, encode.

``python -m ssl_jax.jobs.export`` writes the online (or EMA) backbone of a
run's latest checkpoint to one file: the weights, the architecture and the
input normalisation.  Load it anywhere ssl_jax is installed::

    from ssl_jax.backbone import load_backbone
    backbone = load_backbone("resnet.safetensors")   # or a run's workdir
    features = backbone.features(images)              # uint8 [N, H, W, 3] -> [N, C]

Only the backbone travels (no projector, predictor or optimizer state), in
torchvision's names and layouts (``ssl_jax.backbone_file``): the same file
loads into ``torchvision.models.resnet50()``.
"""
import dataclasses
import functools
from typing import Any, Dict, Tuple

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from ssl_jax import backbone_file, storage
from ssl_jax import workdir as workdir_record
from ssl_jax.checkpoint import Checkpointer
from ssl_jax.data.normalization import normalization
from ssl_jax.data.views import views_of
from ssl_jax.models import build_backbone
from ssl_jax.models.inputs import Normalization

# What names a run's dataset: the evaluation jobs follow it (jobs/follow_run.py).
DATA_KEYS = ("name", "root", "image_size", "seed", "num_examples", "views", "view_size",
             "eval_root", "prepared")


class BackboneNotFound(FileNotFoundError):
  """The path names neither a run with a checkpoint nor an exported backbone."""


@dataclasses.dataclass(frozen=True)
class Backbone:
  """An encoder: ``model`` (config.model's keys: "name", "width", ...) and its variables.

  ``mean``/``std`` are the per-channel normalisation it was trained with,
  ``image_size`` its training resolution, ``step`` the pretraining step,
  ``source`` where it came from and ``data`` the pretraining run's dataset
  (``DATA_KEYS`` of its config.data; empty for weights from elsewhere).
  """
  model: Dict[str, Any]
  variables: Dict[str, Any]  # {"params", "batch_stats"}
  mean: Tuple[float, float, float]
  std: Tuple[float, float, float]
  image_size: int
  step: int = 0
  source: str = ""
  data: Dict[str, Any] = dataclasses.field(default_factory=dict)

  @property
  def module(self):
    return build_backbone(self.model)

  @property
  def normalization(self) -> Normalization:
    return Normalization(tuple(self.mean), tuple(self.std))

  def encode(self, variables, images):
    """uint8 (or 0-255 float) images [N, H, W, 3] -> {"features": [N, C]}
    (inference mode, normalised as in training)."""
    x = self.normalization(images)[None]
    return {"features": self.module.apply(variables, x, train=False)[0]}

  def features(self, images):
    """uint8 (or 0-255 float) images [N, H, W, 3] -> float32 features [N, C].

    Refuses one unbatched image and float images in [0, 1] with fractional
    values (the model reads 0-255 pixels; either would give wrong features
    without an error)."""
    images = np.asarray(images)
    if images.ndim != 4 or images.shape[-1] != 3:
      hint = " (one image: pass images[None])" if images.ndim == 3 else ""
      raise ValueError(f"features() takes a batch of RGB images [N, H, W, 3], got shape "
                       f"{images.shape}{hint}")
    if (np.issubdtype(images.dtype, np.floating) and images.size and images.max() <= 1.0
        and np.any(images != np.round(images))):  # fractions: not 0-255 pixels
      raise ValueError("features() takes pixels in 0-255 (uint8, as the backbone was "
                       "trained on); these floats all lie in [0, 1]: multiply by 255")
    return self._encode(self.variables, jnp.asarray(images))["features"]

  @functools.cached_property
  def _encode(self):
    return jax.jit(self.encode)


def _checkpoint_tree(workdir: str):
  """(step, state tree) of the run's latest checkpoint that restores and
  matches its checksums; the run's files are left as they are."""
  directory = storage.path(workdir) / "checkpoints"
  if not directory.is_dir():
    raise BackboneNotFound(f"{workdir} has no checkpoint to load a backbone from")
  step, tree = Checkpointer(directory, read_only=True).restore()
  if tree is None:
    raise BackboneNotFound(f"{workdir} has no checkpoint to load a backbone from")
  return step, tree


def from_run(workdir: str, use_ema: bool = False) -> Backbone:
  """The backbone of a pretraining run's latest checkpoint (online or EMA)."""
  saved = workdir_record.read_config(workdir)
  if saved is None:
    raise BackboneNotFound(f"{workdir} has no {workdir_record.CONFIG_FILE}: not a "
                           f"pretraining run's workdir")
  config = ml_collections.ConfigDict(saved)
  step, tree = _checkpoint_tree(workdir)
  params, stats = ("ema_params", "ema_batch_stats") if use_ema else ("params", "batch_stats")
  if not tree[params]:
    raise ValueError(f"the run in {workdir} ({config.method.name}) keeps no EMA teacher")
  mean, std = normalization(config.data.name)
  return Backbone(
      model=config.model.to_dict(),
      variables={"params": tree[params]["backbone"],
                 "batch_stats": tree[stats].get("backbone", {})},
      mean=tuple(mean), std=tuple(std),
      image_size=views_of(config.data).views[0].size,
      step=int(step),
      source=f"{storage.path(workdir)} ({'EMA' if use_ema else 'online'} backbone)",
      data={k: config.data[k] for k in DATA_KEYS if k in config.data})


def save(backbone: Backbone, path: str):
  """Writes ``backbone`` to ``path``: safetensors in torchvision's layout
  (``ssl_jax.backbone_file``)."""
  fields = dataclasses.asdict(backbone)
  fields["variables"] = jax.device_get(backbone.variables)
  backbone_file.write(fields, path)


def load(path: str) -> Backbone:
  """A backbone file: ours, torchvision-layout weights (safetensors, or a
  PyTorch checkpoint with torch installed), ``FILE#PREFIX`` to pick one of
  several ResNets in a checkpoint."""
  if not storage.path(path.partition("#")[0]).exists():
    raise BackboneNotFound(f"{path} does not exist (expected a run's workdir or a file "
                           f"written by python -m ssl_jax.jobs.export)")
  try:
    return Backbone(**backbone_file.read(path))
  except backbone_file.UnreadableBackbone as e:
    raise BackboneNotFound(str(e)) from None


def load_backbone(path: str, use_ema: bool = False) -> Backbone:
  """An exported file, or the latest checkpoint of a run's workdir."""
  if storage.path(path).is_dir():
    return from_run(path, use_ema)
  if use_ema:
    raise ValueError("use_ema applies to a run's workdir; an exported file holds "
                     "the one backbone it was exported with")
  return load(path)
