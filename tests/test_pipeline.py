"""tf.data pipelines: exact resume, host shards, padded evaluation, tfds streams."""
import dataclasses

import numpy as np
import pytest

from ssl_jax.data import pipeline
from ssl_jax.data.sources import ArraySplit, TfdsSplit
from ssl_jax.data.views import ViewSet, ViewSpec
from ssl_jax.train import augment
from tests import tfds_fixture

VIEWS = ViewSet((ViewSpec(size=8), ViewSpec(size=8), ViewSpec(size=6)), num_global=2)


@pytest.fixture(scope="module")
def ids_split():
  """50 images whose label is their index, so batches reveal which examples they hold."""
  rng = np.random.default_rng(0)
  return ArraySplit(rng.integers(0, 256, (50, 12, 12, 3)).astype(np.uint8),
                    np.arange(50, dtype=np.int32))


def _take(it, n):
  return [next(it) for _ in range(n)]


def _equal(a, b):
  return all(np.array_equal(x, y) for x, y in zip(a["views"], b["views"])) and \
      np.array_equal(a["label"], b["label"])


def test_views_shapes_and_dtypes(ids_split):
  batch = next(pipeline.train_batches(ids_split, VIEWS, 8, seed=0))
  assert [v.shape for v in batch["views"]] == [(8, 8, 8, 3), (8, 8, 8, 3), (8, 6, 6, 3)]
  assert all(v.dtype == np.uint8 for v in batch["views"])
  assert batch["label"].dtype == np.int32
  assert not np.array_equal(batch["views"][0], batch["views"][1])


def test_batches_name_their_examples_by_index_in_the_split(ids_split):
  """``index`` (DeepCluster v2's memory bank) is each example's row: here the
  label is the row, and two hosts' indices are their halves of the step's."""
  batches = _take(pipeline.train_batches(ids_split, VIEWS, 8, seed=5), 7)
  for batch in batches:
    assert batch["index"].dtype == np.int32
    np.testing.assert_array_equal(batch["index"], batch["label"])
  hosts = [next(pipeline.train_batches(ids_split, VIEWS, 8, 5, 6, pipeline.HostShard(p, 2)))
           for p in range(2)]
  np.testing.assert_array_equal(np.concatenate([h["index"] for h in hosts]),
                                batches[6]["index"])


@pytest.mark.parametrize("start", [1, 6, 13])
def test_resume_at_any_step_continues_the_same_sequence(ids_split, start):
  # 50 examples / batch 8: 6 steps per epoch, so 6 and 13 cross epoch boundaries.
  full = _take(pipeline.train_batches(ids_split, VIEWS, 8, seed=3), start + 3)
  resumed = _take(pipeline.train_batches(ids_split, VIEWS, 8, seed=3, start_step=start), 3)
  assert all(_equal(a, b) for a, b in zip(full[start:], resumed))


def test_each_epoch_is_a_fresh_permutation(ids_split):
  batches = _take(pipeline.train_batches(ids_split, VIEWS, 8, seed=1), 12)
  epoch0 = np.concatenate([b["label"] for b in batches[:6]])
  epoch1 = np.concatenate([b["label"] for b in batches[6:]])
  assert len(set(epoch0)) == 48 and len(set(epoch1)) == 48  # 2 dropped per epoch
  assert not np.array_equal(epoch0, epoch1)
  other_seed = next(pipeline.train_batches(ids_split, VIEWS, 8, seed=2))
  assert not np.array_equal(other_seed["label"], batches[0]["label"])


def test_two_hosts_read_disjoint_halves_of_the_same_global_batch(ids_split):
  full = _take(pipeline.train_batches(ids_split, VIEWS, 8, seed=0, start_step=2), 2)
  hosts = [_take(pipeline.train_batches(ids_split, VIEWS, 8, 0, 2, pipeline.HostShard(p, 2)),
                 2) for p in range(2)]
  for step in range(2):
    h0, h1 = hosts[0][step], hosts[1][step]
    assert h0["label"].shape == (4,)
    assert not set(h0["label"]) & set(h1["label"])
    for v in range(3):
      np.testing.assert_array_equal(
          np.concatenate([h0["views"][v], h1["views"][v]]), full[step]["views"][v])


def test_two_hosts_cover_an_epoch_once(ids_split):
  seen = []
  for p in range(2):
    it = pipeline.train_batches(ids_split, VIEWS, 10, 4, 0, pipeline.HostShard(p, 2))
    seen += [l for b in _take(it, 5) for l in b["label"].tolist()]  # 5 steps = 1 epoch
  assert sorted(seen) == list(range(50))


def test_global_batch_must_divide_by_hosts():
  with pytest.raises(ValueError, match="not divisible"):
    pipeline.HostShard(0, 3).batch(8)


@pytest.mark.parametrize("hosts", [1, 3])
def test_eval_counts_every_example_exactly_once(ids_split, hosts):
  seen = []
  num = pipeline.num_eval_batches(50, 12, pipeline.HostShard(0, hosts))
  for p in range(hosts):
    batches = list(pipeline.eval_batches(ids_split, 8, 12, shard=pipeline.HostShard(p, hosts)))
    assert len(batches) == num  # every host runs the same number of batches
    for b in batches:
      assert b["image"].shape == (12 // hosts, 8, 8, 3) and b["image"].dtype == np.uint8
      seen.extend(b["label"][b["mask"] > 0].tolist())
  assert sorted(seen) == list(range(50))


def test_eval_keeps_native_size_images_untouched(ids_split):
  batch = next(pipeline.eval_batches(ids_split, 12, 10))
  np.testing.assert_array_equal(batch["image"], ids_split.images[:10])


@pytest.fixture(scope="module")
def jpeg_builder(tmp_path_factory):
  return tfds_fixture.prepared_builder(tmp_path_factory.mktemp("tfds"))


def test_tfds_stream_train_resume_and_hosts(jpeg_builder):
  split = TfdsSplit(jpeg_builder, "train", 23)
  views = ViewSet((ViewSpec(size=8), ViewSpec(size=8)))
  full = _take(pipeline.train_batches(split, views, 4, seed=5, shuffle_buffer=64), 8)
  assert full[0]["views"][0].shape == (4, 8, 8, 3)
  resumed = _take(pipeline.train_batches(split, views, 4, seed=5, start_step=6,
                                         shuffle_buffer=64), 2)
  assert all(_equal(a, b) for a, b in zip(full[6:], resumed))  # 6 = 1 epoch of 5 + 1
  hosts = [next(pipeline.train_batches(split, views, 4, 5, 0, pipeline.HostShard(p, 2), 64))
           for p in range(2)]
  assert all(h["label"].shape == (2,) for h in hosts)


def test_tfds_stream_eval_pads_with_mask(jpeg_builder):
  split = TfdsSplit(jpeg_builder, "test", 11)
  total, classes = 0.0, []
  for p in range(2):
    batches = list(pipeline.eval_batches(split, 8, 4, shard=pipeline.HostShard(p, 2)))
    assert len(batches) == pipeline.num_eval_batches(11, 4, pipeline.HostShard(p, 2))
    for b in batches:
      total += b["mask"].sum()
      # The fixture's images encode their class in their brightness.
      for img, label, m in zip(b["image"], b["label"], b["mask"]):
        if m:
          assert abs(int(img.mean()) - (40 + 80 * int(label))) < 6
          classes.append(int(label))
  assert total == 11 and sorted(classes) == sorted(i % 3 for i in range(11))


def _brightness_class(image):
  """The fixture's images encode their original class in their brightness."""
  return int(round((float(image.mean()) - 40) / 80))


def test_class_subset_keeps_and_relabels_its_classes(jpeg_builder):
  # Original classes (2, 0) become labels (0, 1); the test split holds
  # 3 images of class 2 and 4 of class 0 (i % 3 for i < 11).
  split = TfdsSplit(jpeg_builder, "test", 7, classes=(2, 0))
  seen = []
  for p in range(2):
    for b in pipeline.eval_batches(split, 8, 4, shard=pipeline.HostShard(p, 2)):
      seen += [(int(l), _brightness_class(img))
               for img, l, m in zip(b["image"], b["label"], b["mask"]) if m]
  assert sorted(seen) == [(0, 2)] * 3 + [(1, 0)] * 4
  train = TfdsSplit(jpeg_builder, "train", 16, classes=(2, 0))
  views = ViewSet((ViewSpec(size=8),), num_global=1)
  for b in _take(pipeline.train_batches(train, views, 4, seed=1, shuffle_buffer=64), 6):
    assert set(b["label"].tolist()) <= {0, 1}


def _cut_on_device(batch, view_set):
  return [np.asarray(v) for v in augment.cut_views(batch["views"], view_set.views)]


def test_canvas_batches_give_the_accelerator_the_host_views_to_cut(ids_split, jpeg_builder):
  on_canvas = dataclasses.replace(VIEWS, canvas=16)
  host = _take(pipeline.train_batches(ids_split, VIEWS, 8, seed=4), 8)
  canvases = _take(pipeline.train_batches(ids_split, on_canvas, 8, seed=4), 8)
  for h, c in zip(host, canvases):
    np.testing.assert_array_equal(c["label"], h["label"])
    assert c["views"]["canvas"].shape == (8, 16, 16, 3) and c["views"]["flip"].shape == (8, 3)
    for want, got in zip(h["views"], _cut_on_device(c, on_canvas)):
      assert np.abs(want.astype(float) - got).max() <= 1
  resumed = next(pipeline.train_batches(ids_split, on_canvas, 8, seed=4, start_step=7))
  for key, value in canvases[7]["views"].items():
    np.testing.assert_array_equal(resumed["views"][key], value)
  # A tfds stream: JPEG records decoded once onto the canvas.
  split, tiny = TfdsSplit(jpeg_builder, "train", 23), ViewSet((ViewSpec(size=8),) * 2)
  host = next(pipeline.train_batches(split, tiny, 4, seed=5, shuffle_buffer=64))
  stream = next(pipeline.train_batches(split, dataclasses.replace(tiny, canvas=24), 4, seed=5,
                                       shuffle_buffer=64))
  np.testing.assert_array_equal(stream["label"], host["label"])
  for want, got in zip(host["views"], _cut_on_device(stream, tiny)):
    assert np.abs(want.astype(float) - got).max() <= 1
