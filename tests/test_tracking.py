"""A run on unlabelled images with the optional Weights & Biases mirror, in
W&B's offline mode: every record of metrics.jsonl under its TensorBoard tag,
the config as the run's config."""
import glob
import json
import os
import struct

import pytest

from ssl_jax.jobs import pretrain
from ssl_jax.metrics import read_metrics
from tests.test_resilience import tiny_config
from tests.test_unlabelled import write_tree

pb = pytest.importorskip("wandb.proto.wandb_internal_pb2")


def _wandb_records(path):
  """The protobuf records of an offline W&B run file (LevelDB-log framing:
  a 7-byte file header, 32 KiB blocks, records split into chunks each with
  a 7-byte header of CRC, length and kind)."""
  with open(path, "rb") as f:
    data = f.read()
  pos, block, out, pending = 7, 32768, [], b""
  while pos + 7 <= len(data):
    left = block - pos % block
    _, length, kind = struct.unpack("<IHB", data[pos:pos + 7])
    if left < 7 or (length == 0 and kind == 0):  # block padding
      pos += left
      continue
    pending += data[pos + 7:pos + 7 + length]
    pos += 7 + length
    if kind in (1, 4):  # a whole record, or its last chunk
      record = pb.Record()
      record.ParseFromString(pending)
      out.append(record)
      pending = b""
  return out


def _history(records):
  history = {}
  for r in records:
    if r.WhichOneof("record_type") == "history":
      item = {"/".join(i.nested_key) or i.key: json.loads(i.value_json) for i in r.history.item}
      history[item["_step"]] = item
  return history


def test_unlabelled_images_pretrain_with_diagnostics_plots_and_a_wandb_mirror(
    tmp_path, monkeypatch):
  """A tree of images without labels at its own view size (16 px, not a
  preset's): no k-NN and no probe, the collapse diagnostics and the plots;
  W&B, offline, receives every record under its TensorBoard tag and the
  config."""
  monkeypatch.setenv("WANDB_MODE", "offline")
  monkeypatch.setenv("WANDB_SILENT", "true")
  images = tmp_path / "images"
  images.mkdir()
  write_tree(images)
  workdir = tmp_path / "run"
  config = tiny_config(total_steps=2, **{
      "data.name": "images", "data.root": str(images), "data.view_size": 16,
      "eval.every_steps": 2, "logging.wandb": "ssl-tests"})
  state = pretrain.train_and_evaluate(config, str(workdir))
  assert not state.probe
  ours = read_metrics(str(workdir))
  assert ours[-1]["step"] == 2 and "effective_rank" in ours[-1] and "knn_top1" not in ours[-1]
  assert sorted(os.listdir(workdir / "plots")) == ["spectrum.png", "training.png"]
  (path,) = glob.glob(f"{workdir}/wandb/offline-run-*/run-*.wandb")
  records = _wandb_records(path)
  history = _history(records)
  assert sorted(history) == [r["step"] for r in ours] == [1, 2]
  for record in ours:
    assert history[record["step"]]["train/loss"] == pytest.approx(record["loss"])
  assert history[2]["diagnostics/effective_rank"] == pytest.approx(ours[-1]["effective_rank"])
  (run,) = [r.run for r in records if r.WhichOneof("record_type") == "run"]
  config = {i.key: json.loads(i.value_json) for i in run.config.update}
  assert config["data.name"] == "images" and config["logging.wandb"] == "ssl-tests"
