"""The workdir's record of its run: ``config.json`` and what may change on resume.

A workdir with checkpoints belongs to one config.  Resuming it with a config
that differs in anything that shapes the run (model, method, data, optimiser,
schedule, seed) would silently mix two experiments, so it stops with the keys
that differ.  Keys that only say how the run is watched or stored may change.
"""
import json
import time

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
                    "train.resume_changes", "train.max_consecutive_skips", "data.root",
                   "data.service",
                    "logging.")
# Keys added after runs were saved, with the value that gives the behaviour
# those runs had: a config.json without the key reads as holding it.
ADDED_KEYS = {"optim.warmup_start_lr": 0.0, "optim.constant_lr_parts": [],
              "optim.bias_lr_ratio": 1.0, "optim.schedule": "cosine", "optim.milestones": [],
              "optim.gamma": 0.1, "data.view_size": None, "data.eval_root": None,
              "data.prepared": None, "data.service": None,
              "logging.wandb": None}
# What resumes changed under ``train.resume_changes``, one JSON line each.
CHANGES_FILE = "config_changes.jsonl"


def flatten(tree, prefix=""):
  """{"a": {"b": 1}} -> {"a.b": 1}, values as JSON would store them."""
  out = {}
  for key, value in tree.items():
    if isinstance(value, dict):
      out.update(flatten(value, f"{prefix}{key}."))
    else:
      out[f"{prefix}{key}"] = json.loads(json.dumps(value))
  return out


def differing_keys(saved: dict, config: dict, allowed=()):
  """Sorted (key, saved value, new value) for keys that shape the run,
  leaving out those under the prefixes in ``allowed``."""
  new = flatten(config)
  old = {**{k: v for k, v in ADDED_KEYS.items() if k in new}, **flatten(saved)}
  keys = sorted(set(old) | set(new))
  return [(k, old.get(k, "<absent>"), new.get(k, "<absent>")) for k in keys
          if old.get(k, "<absent>") != new.get(k, "<absent>")
          and not k.startswith(MUTABLE_PREFIXES + tuple(allowed))]


def allowed_changes(config):
  """``train.resume_changes="optim,data.views"`` -> ("optim.", "data.views")."""
  parts = [p.strip() for p in config.train.get("resume_changes", "").split(",")]
  return tuple(p if p.endswith(".") or "." in p else f"{p}." for p in parts if p)


def read_config(workdir: str):
  """The config recorded in ``workdir`` (a dict), None if there is none."""
  path = storage.path(workdir) / CONFIG_FILE
  text = storage.read_text(path)
  if text is None:
    return None
  try:
    saved = json.loads(text)
  except ValueError:
    saved = None
  if not isinstance(saved, dict):
    raise storage.DamagedFile(f"{path} is damaged (not a JSON config): restore it from "
                              f"a copy, or move the workdir away to start over")
  return saved


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
  resuming = bool(saved) and has_checkpoints(checkpoint_dir)
  diff = differing_keys(saved, config.to_dict()) if resuming else []
  allowed = allowed_changes(config)
  if allowed and diff:
    _record_changes(workdir, [d for d in diff if d[0].startswith(allowed)])
    diff = [d for d in diff if not d[0].startswith(allowed)]
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


def _record_changes(workdir, changes):
  """Appends the keys a resume changed (train.resume_changes) to CHANGES_FILE."""
  if not changes:
    return
  logging.warning("resuming with changed keys (train.resume_changes): %s",
                  ", ".join(f"{k}: {old!r} -> {new!r}" for k, old, new in changes))
  if jax.process_index() == 0:
    path = storage.path(workdir) / CHANGES_FILE
    line = json.dumps({"time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                       "changes": {k: [old, new] for k, old, new in changes}})
    storage.write_text(path, (storage.read_text(path) or "") + line + "\n")


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
