"""The workdir's record of its run: ``config.json`` and what may change on resume.

A workdir with checkpoints belongs to one config.  Resuming it with a config
that differs in anything that shapes the run (model, method, data, optimiser,
schedule, seed) would silently mix two experiments, so it stops with the keys
that differ.  Keys that only say how the run is watched or stored may change.
"""
import json

from absl import logging
import jax

from ssl_jax import storage
from ssl_jax.registry import ConfigError
from ssl_jax.sharding import sync_processes

CONFIG_FILE = "config.json"
# The number of processes that fed the run's data, as last started.
TOPOLOGY_FILE = "topology.json"
# Keys that may differ between the run in a workdir and the config resuming it.
MUTABLE_PREFIXES = ("eval.", "checkpoint.", "train.log_every", "train.restart",
                    "train.max_consecutive_skips", "data.root")


def flatten(tree, prefix=""):
  """{"a": {"b": 1}} -> {"a.b": 1}, values as JSON would store them."""
  out = {}
  for key, value in tree.items():
    if isinstance(value, dict):
      out.update(flatten(value, f"{prefix}{key}."))
    else:
      out[f"{prefix}{key}"] = json.loads(json.dumps(value))
  return out


def differing_keys(saved: dict, config: dict):
  """Sorted (key, saved value, new value) for keys that shape the run."""
  old, new = flatten(saved), flatten(config)
  keys = sorted(set(old) | set(new))
  return [(k, old.get(k, "<absent>"), new.get(k, "<absent>")) for k in keys
          if old.get(k, "<absent>") != new.get(k, "<absent>")
          and not k.startswith(MUTABLE_PREFIXES)]


def read_config(workdir: str):
  text = storage.read_text(storage.path(workdir) / CONFIG_FILE)
  return None if text is None else json.loads(text)


def write_config(config, workdir: str):
  if jax.process_index() == 0:
    storage.write_text(storage.path(workdir) / CONFIG_FILE,
                       json.dumps(config.to_dict(), indent=2, sort_keys=True))


def has_checkpoints(checkpoint_dir: str) -> bool:
  directory = storage.path(checkpoint_dir)
  return directory.is_dir() and any(p.name.isdigit() for p in directory.iterdir())


def claim(config, workdir: str, checkpoint_dir: str):
  """Makes ``workdir`` this config's: checks a resumed run, records the config.

  If the workdir holds checkpoints of a config that differs in a key that
  shapes the run, raises ConfigError naming the keys, unless
  ``config.train.restart``: then those checkpoints are deleted and the run
  starts over.  (With the same config, restart=true resumes as usual, so a
  re-launched command never throws progress away.)
  """
  saved = read_config(workdir)
  diff = (differing_keys(saved, config.to_dict())
          if saved and has_checkpoints(checkpoint_dir) else [])
  if diff:
    lines = "\n".join(f"  {k}: {old!r} in the workdir, {new!r} now" for k, old, new in diff)
    if not config.train.restart:
      raise ConfigError(
          f"{workdir} holds checkpoints of a run with a different config:\n{lines}\n"
          f"Use another --workdir, resume with the same config, or pass "
          f"--config.train.restart=true to delete those checkpoints and start over.")
    logging.warning("train.restart: deleting the checkpoints of the previous run in %s "
                    "(its config differed:\n%s)", workdir, lines)
    if jax.process_index() == 0:
      storage.path(checkpoint_dir).rmtree()
    sync_processes("restart")
  write_config(config, workdir)



def check_topology(workdir: str, processes: int, streamed: bool, resuming: bool):
  """Records how many processes feed this run; refuses to resume a streamed
  (tfds) run on another number.

  Indexed sources (arrays, image files) give global batch s the same
  examples whatever the processes; a tfds stream is split per process
  (``tfds.even_splits``), so its order after a resume would differ.
  """
  path = storage.path(workdir) / TOPOLOGY_FILE
  text = storage.read_text(path)
  saved = json.loads(text)["processes"] if text else None
  if resuming and streamed and saved is not None and saved != processes:
    raise ConfigError(
        f"{workdir} was trained by {saved} processes reading a tfds stream split among "
        f"them, so its data order cannot continue on {processes}: resume it on {saved} "
        f"processes (indexed sources such as folder resume on any number)")
  sync_processes("topology_read")
  if jax.process_index() == 0:
    storage.write_text(path, json.dumps({"processes": processes}))
