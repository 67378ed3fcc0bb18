"""Views cut on the accelerator from a canvas the host decoded once
(``augment_host.canvas_views`` -> ``train.augment.cut_views``)."""
import jax
import jax.numpy as jnp
import numpy as np
import tensorflow as tf

from ssl_jax.data import augment_host
from ssl_jax.data.views import ViewSet, ViewSpec
from ssl_jax.models.inputs import Normalization
from ssl_jax.train import augment

SPECS = (ViewSpec(size=96, min_scale=0.08), ViewSpec(size=64, min_scale=0.5),
         ViewSpec(size=40, min_scale=0.05, max_scale=0.14), ViewSpec(size=16))


def _textured(height, width, seed=0, grain=6.0, cell=8):
  """Random structure of ``cell`` px plus grain, uint8 [H, W, 3]."""
  rng = np.random.default_rng(seed)
  coarse = rng.integers(0, 256, (height // cell, width // cell, 3)).astype(np.float32)
  image = tf.image.resize(coarse[None], (height, width), method="bicubic")[0].numpy()
  return np.clip(np.round(image + rng.normal(0, grain, image.shape)), 0, 255).astype(np.uint8)


def _seeds(salt, count=len(SPECS)):
  return tf.random.experimental.stateless_split(tf.constant([salt, 11], tf.int64), count)


def _cut(stored, seeds, canvas, specs=SPECS):
  c = augment_host.canvas_views(stored, seeds, specs, canvas)
  return c, augment.cut_views({k: jnp.asarray(v.numpy())[None] for k, v in c.items()}, specs)


def test_views_cut_from_the_canvas_equal_the_hosts_views():
  # The image fits the canvas: the same windows, the same antialiased
  # bicubic filter; only the last rounding may differ.
  image = _textured(150, 200)
  for salt in range(6):
    seeds = _seeds(salt)
    host = augment_host.crop_views(tf.constant(image), seeds, SPECS)
    _, device = _cut(tf.constant(image), seeds, 256)
    for h, d in zip(host, device):
      diff = np.abs(h.numpy().astype(float) - np.asarray(d[0]))
      assert diff.max() <= 1 and diff.mean() < 0.01, (salt, diff.max(), diff.mean())


def test_a_jpeg_is_decoded_once_at_the_scale_the_host_would_use():
  # Large windows for small views: the canvas holds a 1/2, 1/4 or 1/8 scale
  # decode, and the views stay within a few grey levels of the host's views
  # of the full decode (smooth content, as any photo is at these scales).
  image = _textured(480, 640, seed=1, grain=0.0, cell=64)
  jpeg = tf.io.encode_jpeg(tf.constant(image), quality=95)
  decoded = tf.io.decode_jpeg(jpeg, channels=3)
  specs = (ViewSpec(size=32, min_scale=0.5), ViewSpec(size=24, min_scale=0.6))
  for salt in range(3):
    seeds = _seeds(salt, 2)
    canvas, device = _cut(jpeg, seeds, 640, specs)
    filled = np.argwhere(canvas["canvas"].numpy().max(-1) > 0).max(0) + 1
    assert tuple(filled) in {(240, 320), (120, 160), (60, 80)}  # ratio 2, 4 or 8
    host = augment_host.crop_views(decoded, seeds, specs)
    for h, d in zip(host, device):
      diff = np.abs(h.numpy().astype(float) - np.asarray(d[0]))
      assert diff.mean() < 3.0 and diff.max() <= 12, (salt, diff.mean(), diff.max())


def test_an_image_larger_than_the_canvas_is_shrunk_and_its_windows_with_it():
  image = _textured(300, 400, seed=2)
  seeds = _seeds(5)
  small, _ = _cut(tf.constant(image), seeds, 200)
  full, _ = _cut(tf.constant(image), seeds, 400)
  assert not small["canvas"].numpy()[150:].any()  # 300 x 400 -> 150 x 200
  np.testing.assert_allclose(small["windows"].numpy(), full["windows"].numpy() / 2, rtol=1e-6)
  np.testing.assert_array_equal(small["flip"].numpy(), full["flip"].numpy())


def test_a_window_the_size_of_the_view_copies_its_pixels_and_flip_mirrors():
  canvas = jnp.asarray(_textured(64, 64, seed=3))
  window = jnp.array([5.0, 9.0, 32.0, 32.0])
  view = augment.cut_view(canvas, window, False, 32)
  np.testing.assert_allclose(np.asarray(view), np.asarray(canvas[5:37, 9:41]), atol=1e-3)
  mirrored = augment.cut_view(canvas, window, True, 32)
  np.testing.assert_array_equal(np.asarray(mirrored), np.asarray(view[:, ::-1]))


def test_resize_weights_stay_inside_the_window_and_sum_to_one():
  for start, length, size in [(3.0, 40.0, 16), (10.5, 7.25, 24), (0.0, 64.0, 64), (60.2, 0.4, 8)]:
    w = np.asarray(augment.resize_weights(start, length, size, 64))
    np.testing.assert_allclose(w.sum(1), 1.0, rtol=1e-5)
    outside = np.ones(64, bool)
    outside[int(np.floor(start)):int(np.ceil(start + length))] = False
    assert not w[:, outside].any(), (start, length)


def test_the_augmenter_cuts_a_canvas_batch_then_augments_as_it_would_the_views():
  image = _textured(40, 50, seed=4)
  view_set = ViewSet(SPECS[1:3] + (ViewSpec(size=16, solarize_prob=0.5),), num_global=2)
  batch = [augment_host.canvas_views(tf.constant(image), _seeds(s, 3), view_set.views, 64)
           for s in range(4)]
  canvases = {k: jnp.stack([jnp.asarray(b[k].numpy()) for b in batch]) for k in batch[0]}
  views = tuple(v.astype(jnp.uint8) for v in augment.cut_views(canvases, view_set.views))
  augmenter = augment.ViewAugmenter(view_set, Normalization((0.5,) * 3, (0.25,) * 3))
  key = jax.random.key(3)
  for got, want in zip(augmenter(canvases, key), augmenter(views, key)):
    np.testing.assert_array_equal(np.asarray(got), np.asarray(want))
