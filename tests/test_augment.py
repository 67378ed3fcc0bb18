"""Augmentations: torchvision semantics, and the same result eager and compiled."""
import colorsys
import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import tensorflow as tf
from scipy import ndimage

from ssl_jax.data import augment_host
from ssl_jax.data.views import VIEW_PRESETS, ViewSpec
from ssl_jax.models.inputs import Normalization
from ssl_jax.train import augment as aug


@pytest.fixture(scope="module")
def image():
  return np.random.default_rng(0).uniform(0, 1, (12, 10, 3)).astype(np.float32)


def _gray(x):
  return x @ np.array([0.2989, 0.587, 0.114], np.float32)  # torchvision rgb_to_grayscale


def test_brightness_contrast_saturation_match_torchvision(image):
  np.testing.assert_allclose(aug.adjust_brightness(image, 1.3), np.clip(image * 1.3, 0, 1),
                             atol=1e-6)
  mean = _gray(image).mean()
  np.testing.assert_allclose(aug.adjust_contrast(image, 0.6),
                             np.clip(0.6 * image + 0.4 * mean, 0, 1), atol=1e-6)
  g = _gray(image)[..., None]
  np.testing.assert_allclose(aug.adjust_saturation(image, 1.5),
                             np.clip(1.5 * image - 0.5 * g, 0, 1), atol=1e-6)


def test_hue_shift_matches_colorsys(image):
  got = np.asarray(aug.adjust_hue(image, 0.2))
  want = np.array([[colorsys.hsv_to_rgb((colorsys.rgb_to_hsv(*p)[0] + 0.2) % 1.0,
                                        *colorsys.rgb_to_hsv(*p)[1:]) for p in row]
                   for row in image])
  np.testing.assert_allclose(got, want, atol=1e-5)


def test_grayscale_and_solarize(image):
  np.testing.assert_allclose(np.asarray(aug.grayscale(image))[..., 0], _gray(image), atol=1e-6)
  sol = np.asarray(aug.solarize(image))
  np.testing.assert_allclose(sol, np.where(image < 128 / 255, image, 1 - image), atol=1e-7)


def test_blur_matches_scipy_gaussian_with_edge_replication(image):
  sigma = 1.3
  got = np.asarray(aug.gaussian_blur(jnp.asarray(image), jax.random.key(0), (sigma, sigma)))
  want = np.stack([ndimage.gaussian_filter(image[..., c], sigma, mode="nearest", radius=6)
                   for c in range(3)], -1)
  np.testing.assert_allclose(got, want, atol=5e-4)


@pytest.mark.parametrize("shape", [(7, 11), (24, 24), (5, 3)])
def test_blur_is_the_convolution_of_the_edge_padded_image(shape):
  """The drawn sigma's kernel of radius ceil(3 sigma_max), normalised, over the
  image padded by replicating its edges (PIL's GaussianBlur), in float64;
  an image narrower than the kernel too."""
  image = np.random.default_rng(1).uniform(size=shape + (3,))
  key, sigma_range = jax.random.key(4), (0.1, 2.0)
  got = np.asarray(aug.gaussian_blur(jnp.asarray(image, jnp.float32), key, sigma_range))
  sigma = float(jax.random.uniform(key, (), minval=0.1, maxval=2.0))
  r = 6
  g = np.exp(-np.arange(-r, r + 1) ** 2 / (2 * sigma ** 2))
  g /= g.sum()
  padded = np.pad(image, ((r, r), (r, r), (0, 0)), mode="edge")
  rows = sum(g[t] * padded[t:t + shape[0]] for t in range(2 * r + 1))
  want = sum(g[t] * rows[:, t:t + shape[1]] for t in range(2 * r + 1))
  np.testing.assert_allclose(got, want, atol=2e-6)


def test_color_jitter_applies_the_four_ops_in_the_sampled_order(image):
  key = jax.random.key(3)
  got = np.asarray(aug.color_jitter(jnp.asarray(image), key, 0.4, 0.4, 0.4, 0.1))
  k_order, kb, kc, ks, kh = jax.random.split(key, 5)
  fb = jax.random.uniform(kb, (), minval=0.6, maxval=1.4)
  fc = jax.random.uniform(kc, (), minval=0.6, maxval=1.4)
  fs = jax.random.uniform(ks, (), minval=0.6, maxval=1.4)
  fh = jax.random.uniform(kh, (), minval=-0.1, maxval=0.1)
  ops = [lambda x: aug.adjust_brightness(x, fb), lambda x: aug.adjust_contrast(x, fc),
         lambda x: aug.adjust_saturation(x, fs), lambda x: aug.adjust_hue(x, fh)]
  want = jnp.asarray(image)
  for i in np.asarray(jax.random.permutation(k_order, 4)):
    want = ops[i](want)
  np.testing.assert_allclose(got, np.asarray(want), atol=1e-6)


def test_device_augment_same_eager_and_jit():
  rng = np.random.default_rng(1)
  views = tuple(jnp.asarray(rng.integers(0, 256, (4, 16, 16, 3)), jnp.uint8) for _ in range(2))
  specs = tuple(dataclasses.replace(v, blur_prob=0.5) for v in VIEW_PRESETS["synthetic"].views)
  run = lambda v, k: aug.augment_views(v, k, specs, Normalization((0.5,) * 3, (0.25,) * 3))
  with jax.disable_jit():
    eager = run(views, jax.random.key(7))
  jitted = jax.jit(run)(views, jax.random.key(7))
  for a, b in zip(eager, jitted):
    np.testing.assert_allclose(np.asarray(a), np.asarray(b), atol=1e-5)
  # Different keys give different views; the output is normalised float.
  other = jax.jit(run)(views, jax.random.key(8))
  assert not np.allclose(np.asarray(other[0]), np.asarray(jitted[0]))
  assert jitted[0].dtype == jnp.float32 and jitted[0].shape == (4, 16, 16, 3)


def test_probabilities_are_respected():
  """Grayscale with p = 1 gives grey views; jitter/blur/solarize p = 0 is identity."""
  spec = ViewSpec(size=8, jitter_prob=0.0, gray_prob=1.0)
  img = jnp.asarray(np.random.default_rng(2).uniform(0, 1, (8, 8, 3)), jnp.float32)
  out = np.asarray(aug.photometric(img, jax.random.key(0), spec))
  np.testing.assert_allclose(out[..., 0], out[..., 1], atol=1e-6)
  ident = ViewSpec(size=8, jitter_prob=0.0, gray_prob=0.0)
  np.testing.assert_array_equal(np.asarray(aug.photometric(img, jax.random.key(0), ident)),
                                np.asarray(img))


def test_random_resized_crop_window_respects_scale_and_ratio():
  shape = tf.constant([100, 80, 3])
  areas, ratios = [], []
  for i in range(200):
    begin, size = augment_host.sample_crop_window(shape, tf.constant([i, 0]), 0.2, 0.6)
    h, w = int(size[0]), int(size[1])
    assert 0 <= int(begin[0]) <= 100 - h and 0 <= int(begin[1]) <= 80 - w
    areas.append(h * w / 8000)
    ratios.append(w / h)
  areas, ratios = np.array(areas), np.array(ratios)
  fallback = areas == 1.0  # TF returns the whole image when 10 attempts fail
  assert fallback.mean() < 0.05
  assert areas[~fallback].min() >= 0.2 - 0.03 and areas[~fallback].max() <= 0.6 + 0.03
  assert ratios[~fallback].min() >= 0.75 - 0.05 and ratios[~fallback].max() <= 4 / 3 + 0.05


def test_host_crop_is_a_pure_function_of_the_seed_eager_and_in_graph():
  image = tf.constant(np.random.default_rng(3).integers(0, 256, (40, 30, 3)), tf.uint8)
  spec = ViewSpec(size=16)
  seed = tf.constant([5, 6], tf.int64)
  eager = augment_host.crop_and_flip(image, seed, spec)
  graph = tf.function(lambda i, s: augment_host.crop_and_flip(i, s, spec))(image, seed)
  np.testing.assert_array_equal(eager.numpy(), graph.numpy())
  assert eager.dtype == tf.uint8 and tuple(eager.shape) == (16, 16, 3)
  other = augment_host.crop_and_flip(image, tf.constant([5, 7], tf.int64), spec)
  assert not np.array_equal(eager.numpy(), other.numpy())


def test_resize_equals_the_antialiased_bicubic_resize_when_enlarging_and_shrinking():
  image = tf.constant(np.random.default_rng(4).integers(0, 256, (50, 70, 3)), tf.uint8)
  for size in (70, 96, 40, 60):  # enlarge both sides, both, shrink both, mixed
    want = tf.image.resize(image, (size, size), method="bicubic", antialias=True)
    want = np.clip(np.round(want.numpy()), 0, 255)
    diff = np.abs(augment_host.resize_uint8(image, size).numpy() - want)
    assert diff.max() <= 1 and diff.mean() < 0.05, (size, diff.max(), diff.mean())


def _smooth_jpeg(height, width, quality=95):
  # Smooth content: scaled (DCT) decoding of white noise has nothing in
  # common with a resize of it, and neither has any photo.
  yy, xx = np.mgrid[0:height, 0:width] / max(height, width)
  image = np.stack([np.sin(6 * yy) * 100 + 120, np.cos(5 * xx) * 90 + 120,
                    (yy + xx) * 110], -1).astype(np.uint8)
  return image, tf.io.encode_jpeg(tf.constant(image), quality=quality)


def _seeds(count, salt):
  return tf.random.experimental.stateless_split(tf.constant([salt, 3], tf.int64), count)


def test_decode_once_views_equal_per_view_crops_of_the_full_decode():
  # Windows of a 60 x 80 image never allow a scaled decode for 40 px views:
  # every view must equal crop_and_flip (the per-view path) of the decoded
  # image with the same seed, pixel for pixel.
  _, jpeg = _smooth_jpeg(60, 80)
  specs = (ViewSpec(size=40, min_scale=0.3), ViewSpec(size=40, min_scale=0.3),
           ViewSpec(size=16, min_scale=0.05, max_scale=0.2))
  decoded = tf.io.decode_jpeg(jpeg, channels=3)
  for salt in range(6):
    seeds = _seeds(len(specs), salt)
    once = augment_host.decode_views(jpeg, seeds, specs)
    for v, spec in enumerate(specs):
      np.testing.assert_array_equal(
          once[v].numpy(), augment_host.crop_and_flip(decoded, seeds[v], spec).numpy())


def test_scaled_decode_is_chosen_only_when_every_window_allows_it():
  choose = lambda sizes, views: int(augment_host.dct_ratio_index(
      [tf.constant([h, w, -1]) for h, w in sizes], views))
  assert choose([(448, 500), (460, 460)], [224, 224]) == 1   # ratio 2
  assert choose([(448, 500), (447, 460)], [224, 224]) == 0   # one window too small
  assert choose([(400, 400), (100, 120)], [96, 24]) == 2     # ratio 4
  assert choose([(800, 900)], [96]) == 3                      # ratio 8
  assert choose([(60, 80)], [96]) == 0                        # upscale


def test_scaled_decode_views_stay_close_to_full_resolution_views():
  # Large windows for small views: a scaled decode is chosen, and the views
  # stay within a few grey levels of those cut from the full decode (the
  # IDCT's reduction differs from the bicubic filter it stands in for).
  image, jpeg = _smooth_jpeg(480, 640)
  specs = (ViewSpec(size=32, min_scale=0.5), ViewSpec(size=24, min_scale=0.6))
  decoded = tf.io.decode_jpeg(jpeg, channels=3)
  for salt in range(4):
    seeds = _seeds(len(specs), salt)
    windows = [augment_host.sample_crop_window(
        tf.constant(image.shape), tf.random.experimental.stateless_split(seeds[v], 2)[0],
        spec.min_scale, spec.max_scale)[1] for v, spec in enumerate(specs)]
    assert int(augment_host.dct_ratio_index(windows, [32, 24])) >= 2
    once = augment_host.decode_views(jpeg, seeds, specs)
    for v, spec in enumerate(specs):
      full = augment_host.crop_and_flip(decoded, seeds[v], spec).numpy().astype(int)
      diff = np.abs(once[v].numpy().astype(int) - full)
      assert diff.mean() < 3.0 and diff.max() <= 12, (salt, v, diff.mean(), diff.max())
