"""Experiment trackers beside metrics.jsonl and TensorBoard (process 0).

``--config.logging.wandb=PROJECT`` (or ``ENTITY/PROJECT``) mirrors every
record to Weights & Biases under the TensorBoard tags (``train/``,
``eval/``, ``diagnostics/``), with the config as the run's config.  Each
attempt of a run (a resume after a stop) is one W&B run of the group named
after the workdir, so a resume never writes steps out of order.  W&B's own
settings apply (``WANDB_MODE=offline`` keeps everything local); its files
go to the workdir when that is a local folder, else to W&B's default
directory.
"""
import os

import jax

from ssl_jax import storage
from ssl_jax.metrics import tensorboard_tag
from ssl_jax.registry import ConfigError


class WandbRun:
  """One W&B run: ``log(step, record)``, ``close()``."""

  def __init__(self, project: str, workdir: str, flat_config: dict):
    try:
      import wandb  # pylint: disable=g-import-not-at-top
    except ImportError:
      raise ConfigError("logging.wandb needs the wandb package (pip install wandb)") from None
    entity, _, project = project.rpartition("/")
    name = os.path.basename(str(workdir).rstrip("/"))
    local = None if storage.is_url(str(workdir)) else str(workdir)
    self._run = wandb.init(project=project, entity=entity or None, group=name, name=name,
                           dir=local, config=flat_config, reinit="create_new")

  def log(self, step: int, record: dict):
    self._run.log({tensorboard_tag(k): v for k, v in record.items() if k != "step"},
                  step=int(step))

  def close(self):
    self._run.finish()


def trackers(config, workdir: str, flat_config: dict) -> list:
  """The trackers ``config.logging`` asks for (none on processes other than 0)."""
  logging = config.get("logging")
  if jax.process_index() != 0 or logging is None or not logging.get("wandb"):
    return []
  return [WandbRun(logging.wandb, workdir, flat_config)]
