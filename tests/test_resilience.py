"""Runs that meet trouble: non-finite steps, a changed config, corrupt checkpoints, bad input."""
import ast
import dataclasses
import os
import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from ssl_jax import workdir as workdir_record
from ssl_jax.checkpoint import CheckpointError
from ssl_jax.jobs import pretrain
from ssl_jax.methods import build_method
from ssl_jax.registry import ConfigError
from tests.test_config import load, ROOT
from tests.end_to_end import TINY, records as _records


def _literal(text):
  """A flag's value as ml_collections parses it: a Python literal, else a string."""
  try:
    return ast.literal_eval(text)
  except ValueError:
    return text


def tiny_config(total_steps=4, **overrides):
  """test_main's tiny quickstart (8 fake devices, batch 16) as a ConfigDict,
  checkpointing every 2 steps, evaluated at the end only."""
  config = load(os.path.join(ROOT, "configs", "quickstart.py")).get_config()
  flags = dict(arg[len("--config."):].split("=", 1) for arg in TINY
               if arg.startswith("--config."))
  values = {**{k: _literal(v) for k, v in flags.items()},
            "train.total_steps": total_steps, "eval.every_steps": 0, "eval.at_start": False,
            "eval.batch_size": 32, "checkpoint.every_steps": 2, **overrides}
  for key, value in values.items():
    section, field = key.rsplit(".", 1)
    parent = config
    for part in section.split("."):
      parent = parent[part]
    parent[field] = value
  return config


def _poisoned(bad_steps):
  """build_method whose loss is NaN at the given state.step values."""
  def build(*args, **kwargs):
    method = build_method(*args, **kwargs)

    class Poisoned(type(method)):
      def loss(self, online, target, state, step, rng):
        loss, aux = super().loss(online, target, state, step, rng)
        return jnp.where(bad_steps(step), jnp.nan, loss), aux

    fields = {f.name: getattr(method, f.name) for f in dataclasses.fields(method) if f.init}
    return Poisoned(**fields)
  return build


def _finite(tree):
  return all(bool(jnp.all(jnp.isfinite(x))) for x in jax.tree.leaves(tree))


def _checkpoints(workdir):
  return sorted(int(d) for d in os.listdir(os.path.join(workdir, "checkpoints"))
                if d.isdigit())


def test_nan_steps_are_skipped_until_too_many_in_a_row_stop_the_run(tmp_path, monkeypatch):
  # One run (one compile) for both rules: state.step 3 -> 4 alone is skipped
  # and the run goes on; from state.step 6 on every step is NaN, and the
  # third skip in a row stops the run.
  monkeypatch.setattr(pretrain, "build_method", _poisoned(lambda s: (s == 3) | (s >= 6)))
  config = tiny_config(total_steps=12, **{"train.max_consecutive_skips": 3})
  with pytest.raises(pretrain.TrainingDiverged,
                     match=r"steps 7\.\.9 \(3 in a row.*last good checkpoint is step 6"):
    pretrain.train_and_evaluate(config, str(tmp_path))
  # Step 4 was skipped, so not checkpointed; 6 is the last good one, and
  # nothing after it was written.
  assert _checkpoints(str(tmp_path)) == [2, 6]
  logged = _records(str(tmp_path))
  skipped = {r["step"]: r["skipped_steps"] for r in logged if "skipped_steps" in r}
  assert skipped[3] == 0 and skipped[4] == 1 and skipped[6] == 1
  assert all(np.isfinite(r["loss"]) for r in logged if "loss" in r and r["step"] in (5, 6))


def test_a_changed_config_names_the_keys_and_restart_starts_over(tmp_path):
  workdir = str(tmp_path)
  pretrain.train_and_evaluate(tiny_config(total_steps=2), workdir)
  # eval.at_start=False: the random init is not evaluated, the end is.
  assert [r["step"] for r in _records(workdir) if "knn_top1" in r] == [2]
  changed = tiny_config(total_steps=2, **{"method.projector.out_dim": 8, "train.seed": 1})
  with pytest.raises(ConfigError) as info:
    pretrain.train_and_evaluate(changed, workdir)
  message = str(info.value)
  assert "method.projector.out_dim: 16 in the workdir, 8 now" in message
  assert "train.seed: 0 in the workdir, 1 now" in message
  assert "--config.train.restart=true" in message
  # How a run is watched may change: this resumes at step 2 and goes on.
  watched = tiny_config(total_steps=4, **{"eval.every_steps": 3, "train.log_every": 2})
  with pytest.raises(ConfigError, match="train.total_steps: 2 in the workdir, 4 now"):
    pretrain.train_and_evaluate(watched, workdir)
  state = pretrain.train_and_evaluate(
      tiny_config(total_steps=2, **{"eval.every_steps": 3, "train.log_every": 2}), workdir)
  assert int(state.step) == 2
  with changed.unlocked():
    changed.train.restart = True
  state = pretrain.train_and_evaluate(changed, workdir)
  out_dims = {x.shape[-1] for x in jax.tree.leaves(state.params["projector"])}
  assert int(state.step) == 2 and 8 in out_dims and 16 not in out_dims


def test_a_run_saved_before_a_key_existed_resumes_when_the_key_keeps_the_old_behaviour():
  """config.json of an older version lacks the keys added since; each reads
  as its neutral value (workdir.ADDED_KEYS), so only a real change stops a
  resume."""
  config = tiny_config(total_steps=2).to_dict()
  saved = json.loads(json.dumps(config))
  for key in workdir_record.ADDED_KEYS:
    section, name = key.split(".")
    del saved[section][name]
  assert workdir_record.differing_keys(saved, config) == []
  config["optim"]["warmup_start_lr"] = 0.1
  assert workdir_record.differing_keys(saved, config) == [
      ("optim.warmup_start_lr", 0.0, 0.1)]


def _corrupt(step_dir):
  for folder, _, files in os.walk(step_dir):
    for name in files:
      with open(os.path.join(folder, name), "wb") as f:
        f.write(b"\x00garbage")


def test_a_corrupt_checkpoint_falls_back_to_the_previous_one_and_none_is_an_error(
    tmp_path, caplog):
  workdir = str(tmp_path)
  pretrain.train_and_evaluate(tiny_config(total_steps=4), workdir)
  assert _checkpoints(workdir) == [2, 4]
  _corrupt(os.path.join(workdir, "checkpoints", "4"))
  state = pretrain.train_and_evaluate(tiny_config(total_steps=4), workdir)
  assert int(state.step) == 4 and _finite(state.params)
  assert os.path.isdir(os.path.join(workdir, "checkpoints.corrupt", "4"))
  assert "resumed from step 2 instead" in caplog.text
  assert _checkpoints(workdir) == [2, 4]   # step 4 trained again and saved
  # With no checkpoint left to restore, the run stops instead of starting over.
  for step in (2, 4):
    _corrupt(os.path.join(workdir, "checkpoints", str(step)))
  with pytest.raises(CheckpointError, match="no checkpoint in .* could be restored"):
    pretrain.train_and_evaluate(tiny_config(total_steps=4), workdir)


@pytest.mark.parametrize("key,value,match", [
    ("train.batch_size", 12, "not divisible by the 8 devices; use a multiple of 8"),
    ("method.iters", 0, r"config.method \(intl\): .*iters"),
    ("data.view_size", 4, r"data.view_size=4 .*at least 8 px"),
])
def test_bad_values_fail_before_anything_runs(tmp_path, key, value, match):
  with pytest.raises(ConfigError, match=match):
    pretrain.train_and_evaluate(tiny_config(**{key: value}), str(tmp_path))
  assert not os.path.exists(os.path.join(str(tmp_path), "checkpoints"))


def test_negative_temperature_and_beta_out_of_range_name_the_key():
  simclr = load(os.path.join(ROOT, "configs", "simclr_cifar10.py")).get_config()
  simclr.method.temperature = -0.1
  with pytest.raises(ConfigError, match="temperature"):
    build_method(simclr.method, 100)
  mira = load(os.path.join(ROOT, "configs", "mira_cifar10.py")).get_config()
  mira.method.beta_start = 1.0
  with pytest.raises(ConfigError, match="beta"):
    build_method(mira.method, 100)


def test_a_tfds_stream_resumes_only_on_the_number_of_processes_that_saved_it(tmp_path):
  from ssl_jax import workdir as workdir_record  # pylint: disable=g-import-not-at-top
  workdir = str(tmp_path)
  workdir_record.check_topology(workdir, 2, streamed=True, resuming=False)
  with pytest.raises(ConfigError, match="trained by 2 processes reading a tfds stream"):
    workdir_record.check_topology(workdir, 1, streamed=True, resuming=True)
  workdir_record.check_topology(workdir, 2, streamed=True, resuming=True)
  # An indexed source resumes anywhere, and the record follows the run.
  workdir_record.check_topology(workdir, 1, streamed=False, resuming=True)
  with pytest.raises(ConfigError, match="resume it on 1 processes"):
    workdir_record.check_topology(workdir, 4, streamed=True, resuming=True)
