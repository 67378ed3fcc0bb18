"""Device-side photometric augmentations, run inside the jitted train step.

Semantics follow torchvision, which the PyTorch references use:
``ColorJitter`` (brightness, contrast and saturation blend with black, the
grey mean and the grey image; hue shifts in HSV; the four in random order),
``RandomGrayscale`` (ITU-R 601 luma), ``GaussianBlur`` with sigma in pixels
(PIL's radius), PIL's ``solarize`` at 128.  Each op is applied per image with
its own key; a view is a pure function of (image, key).
"""
import dataclasses
import math
from typing import Any

import dm_pix as pix
import jax
import jax.numpy as jnp
from jax import lax


def _blend(a, b, factor):
  """torchvision ``_blend``: factor * a + (1 - factor) * b, clipped to [0, 1]."""
  return jnp.clip(factor * a + (1.0 - factor) * b, 0.0, 1.0)


def grayscale(image):
  return pix.rgb_to_grayscale(image, keep_dims=True)


def adjust_brightness(image, factor):
  return _blend(image, jnp.zeros_like(image), factor)


def adjust_contrast(image, factor):
  return _blend(image, jnp.mean(grayscale(image)), factor)


def adjust_saturation(image, factor):
  return _blend(image, grayscale(image), factor)


def adjust_hue(image, delta):
  return jnp.clip(pix.adjust_hue(image, delta), 0.0, 1.0)


def _factor(key, strength):
  """Uniform in [max(0, 1 - s), 1 + s] (torchvision ColorJitter)."""
  return jax.random.uniform(key, (), minval=max(0.0, 1.0 - strength),
                            maxval=1.0 + strength)


def color_jitter(image, key, brightness, contrast, saturation, hue):
  """The four jitters with independent factors, in a random order."""
  k_order, kb, kc, ks, kh = jax.random.split(key, 5)
  factors = (_factor(kb, brightness), _factor(kc, contrast),
             _factor(ks, saturation),
             jax.random.uniform(kh, (), minval=-hue, maxval=hue))
  ops = (lambda x: adjust_brightness(x, factors[0]),
         lambda x: adjust_contrast(x, factors[1]),
         lambda x: adjust_saturation(x, factors[2]),
         lambda x: adjust_hue(x, factors[3]))
  order = jax.random.permutation(k_order, 4)
  return lax.fori_loop(0, 4, lambda i, x: lax.switch(order[i], ops, x), image)


def blur_matrix(sigma, radius, n):
  """[n, n] matrix of a 1D Gaussian blur over a line of n pixels, its ends
  replicated: row i holds g(t) = exp(-t² / 2σ²) / Σ g at column
  clip(i + t, 0, n - 1) for t in [-radius, radius], summed where taps meet."""
  taps = jnp.arange(-radius, radius + 1)
  g = jnp.exp(-jnp.square(taps.astype(jnp.float32)) / (2.0 * sigma ** 2))
  g = g / jnp.sum(g)
  source = jnp.clip(jnp.arange(n)[:, None] + taps[None, :], 0, n - 1)  # [n, taps]
  hits = source[:, None, :] == jnp.arange(n)[None, :, None]  # [n, n, taps]
  return jnp.sum(jnp.where(hits, g, 0.0), axis=-1)


def gaussian_blur(image, key, sigma_range):
  """Blur [H, W, C] with sigma ~ U(sigma_range) pixels, edges replicated like
  PIL, as two matrix products (``blur_matrix`` down the columns, then along
  the rows).  Each image has its own sigma, so as a convolution it is one
  group per image and channel; as products it runs 4-11 times faster on CPU
  (bench/README.md) and on the matrix units of accelerators."""
  sigma = jax.random.uniform(key, (), minval=sigma_range[0], maxval=sigma_range[1])
  radius = int(math.ceil(3 * sigma_range[1]))
  h, w = image.shape[:2]
  down = blur_matrix(sigma, radius, h)
  along = down if w == h else blur_matrix(sigma, radius, w)  # square views: one matrix
  # HIGH as cut_view: TF32 on GPUs keeps the weights to a fraction of a grey level.
  x = jnp.einsum("yv,vxc->yxc", down, image, precision=lax.Precision.HIGH)
  return jnp.einsum("xu,yuc->yxc", along, x, precision=lax.Precision.HIGH)


def solarize(image):
  """PIL ``ImageOps.solarize(img, 128)`` on [0, 1] values."""
  return pix.solarize(image, 128.0 / 255.0)


def _maybe(key, prob, fn, image):
  if prob <= 0.0:
    return image
  if prob >= 1.0:
    return fn(image)
  return jnp.where(jax.random.uniform(key) < prob, fn(image), image)


def photometric(image, key, spec):
  """One image [H, W, 3] in [0, 1] through jitter, grey, blur and solarize."""
  kj, kj2, kg, kb, kb2, ks = jax.random.split(key, 6)
  jitter = lambda x: color_jitter(x, kj2, spec.brightness, spec.contrast,
                                  spec.saturation, spec.hue)
  image = _maybe(kj, spec.jitter_prob, jitter, image)
  image = _maybe(kg, spec.gray_prob, lambda x: jnp.broadcast_to(grayscale(x), x.shape), image)
  image = _maybe(kb, spec.blur_prob, lambda x: gaussian_blur(x, kb2, spec.blur_sigma), image)
  return _maybe(ks, spec.solarize_prob, solarize, image)


def _keys_cubic(x):
  """Keys' cubic convolution kernel, a = -0.5 (TensorFlow's and PIL's bicubic)."""
  x = jnp.abs(x)
  near = ((1.5 * x - 2.5) * x) * x + 1.0
  far = ((-0.5 * x + 2.5) * x - 4.0) * x + 2.0
  return jnp.where(x < 1.0, near, jnp.where(x < 2.0, far, 0.0))


def resize_weights(start, length, size, canvas):
  """[size, canvas] weights that resample the window [start, start + length)
  of a line of ``canvas`` pixels to ``size`` pixels.

  TensorFlow's antialiased bicubic resize of the cropped window (its
  ``ScaleAndTranslate``): output pixel i samples at (i + 0.5) * length /
  size past ``start``; when shrinking the kernel is widened by length /
  size; pixels outside the window get no weight and each row is
  renormalised, as the resize of the crop sees no pixel beyond its edge.
  """
  scale = length / size
  support = jnp.maximum(scale, 1.0)
  centre = start + (jnp.arange(size, dtype=jnp.float32) + 0.5) * scale
  pixel = jnp.arange(canvas, dtype=jnp.float32) + 0.5
  # The pixel under the window's centre always counts: a window narrower
  # than a pixel still has one.
  inside = ((pixel > start) & (pixel < start + length)
            | (jnp.floor(pixel) == jnp.floor(start + 0.5 * length)))
  w = jnp.where(inside, _keys_cubic((pixel[None, :] - centre[:, None]) / support), 0.0)
  return w / jnp.sum(w, axis=1, keepdims=True)


def cut_view(canvas, window, flip, size):
  """One view [size, size, 3] (float32 in [0, 255], rounded like a uint8)
  from a canvas [C, C, 3]: the window (top, left, height, width) resized
  with ``resize_weights`` along each axis, mirrored if ``flip``."""
  c = canvas.shape[0]
  rows = resize_weights(window[0], window[2], size, c)
  cols = resize_weights(window[1], window[3], size, c)
  cols = jnp.where(flip, cols[::-1], cols)
  # HIGH: TF32 on GPUs, three bf16 passes on TPUs (HIGHEST: full float32,
  # six passes): the weights keep 10+ bits, a fraction of a grey level.
  x = canvas.astype(jnp.float32)
  x = jnp.einsum("sy,yxc->sxc", rows, x, precision=lax.Precision.HIGH)
  x = jnp.einsum("tx,sxc->stc", cols, x, precision=lax.Precision.HIGH)
  return jnp.round(jnp.clip(x, 0.0, 255.0))


def cut_views(canvases, specs):
  """The views of a batch of canvases (``augment_host.canvas_views``,
  batched: canvas [N, C, C, 3], windows [N, V, 4], flip [N, V]): a tuple of
  float32 [N, S_v, S_v, 3], pixel values as the host's uint8 views."""
  return tuple(
      jax.vmap(lambda im, w, f, s=spec.size: cut_view(im, w, f, s))(
          canvases["canvas"], canvases["windows"][:, v], canvases["flip"][:, v])
      for v, spec in enumerate(specs))


def augment_views(views, rng, specs, normalization, dtype=jnp.float32):
  """Photometric augmentation and normalisation of every view of a batch.

  Args:
    views: tuple of uint8 arrays [N, H_v, W_v, 3], one per view, or a
      batch of canvases to cut them from (``cut_views``).
    rng: key for this step; view v of sample i uses
      ``split(fold_in(rng, v), N)[i]``, independent of the device count.
    specs: tuple of ``ViewSpec``, one per view.
    normalization: ``models.inputs.Normalization``, applied after the
      photometric ops.
  Returns:
    tuple of normalised arrays [N, H_v, W_v, 3] of ``dtype``.
  """
  if isinstance(views, dict):
    views = cut_views(views, specs)
  out = []
  for v, (images, spec) in enumerate(zip(views, specs)):
    keys = jax.random.split(jax.random.fold_in(rng, v), images.shape[0])
    x = images.astype(jnp.float32) / 255.0
    x = jax.vmap(lambda im, k, s=spec: photometric(im, k, s))(x, keys)
    out.append(normalization.standardize(x, dtype))
  return tuple(out)


@dataclasses.dataclass(frozen=True)
class ViewAugmenter:
  """The device half of a view set, built once at the top of a job:
  ``augmenter(views, rng)`` applies each view's photometric augmentation
  and the dataset's normalisation (``augment_views``), so the step needs
  neither the normalisation nor the compute dtype."""
  view_set: Any       # views.ViewSet: the specs, and which views are global
  normalization: Any  # models.inputs.Normalization
  dtype: Any = jnp.float32

  def __call__(self, views, rng):
    return augment_views(views, rng, self.view_set.views, self.normalization, self.dtype)
