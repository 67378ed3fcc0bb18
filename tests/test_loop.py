"""The loop pretraining and linear evaluation share (ssl_jax/jobs/loop.py):
stop signals with several processes, and a stopped classifier run that
resumes to the step."""
import os
import signal
import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from ssl_jax import backbone as backbones
from ssl_jax.data.normalization import normalization
from ssl_jax.jobs import linear_eval
from ssl_jax.models import build_backbone
from tests.end_to_end import ROOT, env_with_devices, free_port, params, records
from tests.test_config import load


def test_a_sigterm_on_one_process_stops_every_process_at_the_same_step(tmp_path):
  """Process 1 receives SIGTERM after step 3; both agree at the next logging
  step (4), save it collectively and end cleanly."""
  port = free_port()
  procs = [subprocess.Popen(
      [sys.executable, "-m", "tests.loop_process", str(tmp_path), "3" if i else "0"],
      cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
      env=env_with_devices(2, JAX_COORDINATOR_ADDRESS=f"localhost:{port}",
                           JAX_NUM_PROCESSES="2", JAX_PROCESS_ID=str(i)))
           for i in range(2)]
  outs = [proc.communicate(timeout=120)[0] for proc in procs]
  for i, (proc, out) in enumerate(zip(procs, outs)):
    assert proc.returncode == 0, out[-3000:]
    assert f"process {i} stopped at step 4" in out, out[-3000:]
  assert os.listdir(tmp_path / "checkpoints") == ["4"]
  assert [r["step"] for r in records(tmp_path)] == [4]


def _random_backbone(path):
  module = build_backbone({"name": "resnet10", "width": 0.0625, "stem": "cifar"})
  variables = module.init(jax.random.key(0), jnp.zeros((1, 2, 32, 32, 3)), train=False)
  mean, std = normalization("synthetic")
  backbones.save(backbones.Backbone(
      model={"name": "resnet10", "width": 0.0625, "stem": "cifar"}, variables=variables,
      mean=tuple(mean), std=tuple(std), image_size=32, source="random initialisation"),
      str(path))


def _fine_tuning(pretrained):
  """Fine-tuning on augmented images: the image pipeline, the backbone's
  BatchNorm statistics and the optimiser state all have to resume."""
  config = load(os.path.join(ROOT, "configs", "linear_eval.py")).get_config("quick")
  config.pretrained = str(pretrained)
  config.data.num_examples = 160
  config.train.batch_size, config.train.epochs, config.train.log_every = 16, 1, 5
  config.train.cached_features, config.optim.backbone_base_lr = False, 0.05
  config.eval.batch_size, config.checkpoint.every_steps = 32, 1000
  return config


def test_sigterm_stops_linear_evaluation_at_the_step_and_the_rerun_ends_as_one_run(
    tmp_path, monkeypatch):
  _random_backbone(tmp_path / "backbone.safetensors")
  config = _fine_tuning(tmp_path / "backbone.safetensors")
  whole = linear_eval.train_and_evaluate(config, str(tmp_path / "whole"))
  batches, sent = linear_eval._image_batches, []  # pylint: disable=protected-access

  def stopped_at_the_fourth(*args, **kwargs):
    for i, item in enumerate(batches(*args, **kwargs)):
      if i == 3 and not sent:
        sent.append(True)
        os.kill(os.getpid(), signal.SIGTERM)
      yield item

  monkeypatch.setattr(linear_eval, "_image_batches", stopped_at_the_fourth)
  stopped = str(tmp_path / "stopped")
  linear_eval.train_and_evaluate(config, stopped)
  assert os.listdir(os.path.join(stopped, "checkpoints")) == ["4"]
  assert records(stopped) == []  # stopped before the first logging step
  monkeypatch.undo()
  resumed = linear_eval.train_and_evaluate(config, stopped)
  assert [r["step"] for r in records(stopped)] == [5, 10]
  assert records(stopped)[-1]["loss"] == records(tmp_path / "whole")[-1]["loss"]
  assert resumed["finetune_top1"] == whole["finetune_top1"]
  steps = 10  # 160 examples in batches of 16, one epoch
  a, b = params(str(tmp_path / "whole"), steps), params(stopped, steps)
  for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b)):
    np.testing.assert_allclose(y, x, rtol=1e-6, atol=1e-7)


if __name__ == "__main__":
  pytest.main([__file__])
