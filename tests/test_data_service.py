"""tf.data service: a dispatcher and two workers started as the README says
(real processes on localhost) build a run's batches: exactly those of the
local pipeline, in the same order, also when resuming."""
import os
import socket
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

from ssl_jax.data import pipeline, service
from ssl_jax.data.folder import ImageFiles
from ssl_jax.data.sources import TfdsSplit
from ssl_jax.data.views import ViewSet, ViewSpec
from ssl_jax.registry import ConfigError

VIEWS = ViewSet((ViewSpec(size=12, min_scale=0.2), ViewSpec(size=12, min_scale=0.2),
                 ViewSpec(size=6, min_scale=0.05, max_scale=0.3)))


def _free_port():
  with socket.socket() as s:
    s.bind(("localhost", 0))
    return s.getsockname()[1]


@pytest.fixture(scope="module")
def dispatcher():
  """grpc://localhost:PORT of a dispatcher with two workers, each its own process."""
  port = _free_port()
  command = [sys.executable, "-m", "ssl_jax.data.service"]
  env = {**os.environ, "CUDA_VISIBLE_DEVICES": ""}
  servers = [subprocess.Popen(command + ["dispatcher", f"--port={port}"], env=env)]
  for _ in range(2):
    worker = _free_port()
    servers.append(subprocess.Popen(
        command + ["worker", f"--dispatcher=localhost:{port}", f"--port={worker}",
                   f"--address=localhost:{worker}"], env=env))
  yield f"grpc://localhost:{port}"
  for server in servers:
    server.terminate()
    server.wait(30)


@pytest.fixture(scope="module")
def files(tmp_path_factory):
  """30 JPEG and PNG files of different sizes and content."""
  root = tmp_path_factory.mktemp("service")
  rng = np.random.default_rng(0)
  paths = []
  for i in range(30):
    h, w = 24 + i % 5 * 6, 40 - i % 3 * 5
    image = np.clip(rng.normal(128, 40, (h, w, 3)), 0, 255).astype(np.uint8)
    encode = tf.io.encode_png if i % 4 == 0 else tf.io.encode_jpeg
    path = str(root / f"{i}.img")
    tf.io.write_file(path, encode(image))
    paths.append(path)
  return ImageFiles(np.asarray(paths), np.arange(30, dtype=np.int32))


def _take(batches, count):
  return [next(batches) for _ in range(count)]


def _assert_same(got, expected):
  assert len(got) == len(expected)
  for a, b in zip(got, expected):
    np.testing.assert_array_equal(a["label"], b["label"])
    for x, y in zip(a["views"], b["views"]):
      np.testing.assert_array_equal(x, y)


@pytest.mark.parametrize("start", [0, 5])
def test_service_batches_equal_the_local_ones_in_order(dispatcher, files, start):
  local = _take(pipeline.train_batches(files, VIEWS, 8, seed=7, start_step=start), 9)
  served = _take(pipeline.train_batches(files, VIEWS, 8, seed=7, start_step=start,
                                        service=dispatcher), 9)
  _assert_same(served, local)


def test_each_host_gets_its_own_rows_from_the_service(dispatcher, files):
  for p in range(2):
    shard = pipeline.HostShard(p, 2)
    local = _take(pipeline.train_batches(files, VIEWS, 8, 3, 2, shard), 4)
    served = _take(pipeline.train_batches(files, VIEWS, 8, 3, 2, shard, service=dispatcher), 4)
    _assert_same(served, local)


def test_in_order_puts_steps_back_in_order_and_rebuilds_a_lost_one():
  arrived = [7, 5, 9, 8, 10, 11, 12, 13, 6]  # 6 comes only after patience ran out
  elements = ({"step": s, "x": s * 10} for s in arrived)
  rebuilt = []
  rebuild = lambda s: rebuilt.append(s) or {"x": s * 10}
  got = [e["x"] for e in service.in_order(elements, 5, rebuild, patience=4)]
  assert got == [s * 10 for s in range(5, 14)]
  assert rebuilt == [6]


def test_an_unreachable_dispatcher_is_one_clear_error():
  with pytest.raises(ConfigError, match="no tf.data service dispatcher answers at"):
    service.wait_for_dispatcher(f"grpc://localhost:{_free_port()}", timeout_s=0)
  with pytest.raises(ConfigError, match="expected grpc://HOST:PORT"):
    service.wait_for_dispatcher("localhost")


def test_service_refuses_a_streamed_split():
  split = TfdsSplit(builder=None, split="train", num_examples=100)
  with pytest.raises(ConfigError, match="ssl_jax.prepare"):
    pipeline.train_batches(split, VIEWS, 8, 0, service="grpc://localhost:1")


def test_a_step_with_no_readable_example_stops_a_served_run_with_one_clear_error(
    dispatcher, files, tmp_path):
  # 16 files, batches of 8: the files of epoch 0's step 1 are made unreadable,
  # so that step never arrives and cannot be rebuilt.
  paths = [str(tmp_path / f"{i}.img") for i in range(16)]
  for path, source in zip(paths, files.paths):
    tf.io.write_file(path, tf.io.read_file(source))
  split = ImageFiles(np.asarray(paths), np.arange(16, dtype=np.int32))
  examples_of_step, _, _ = pipeline._indexed_examples(  # pylint: disable=protected-access
      split, VIEWS, 8, 4, pipeline.HostShard())
  for example in examples_of_step(1):
    tf.io.write_file(paths[int(example["index"])], b"not an image")
  served = pipeline.train_batches(split, VIEWS, 8, seed=4, service=dispatcher)
  next(served)  # step 0
  with pytest.raises(pipeline.UnreadableStep, match="step 1: none of its 8 examples"):
    next(served)
