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


def gaussian_blur(image, key, sigma_range):
  """Blur with sigma ~ U(sigma_range) pixels, edges replicated like PIL."""
  sigma = jax.random.uniform(key, (), minval=sigma_range[0], maxval=sigma_range[1])
  radius = int(math.ceil(3 * sigma_range[1]))
  padded = jnp.pad(image, ((radius, radius), (radius, radius), (0, 0)), mode="edge")
  return pix.gaussian_blur(padded, sigma, 2 * radius + 1, padding="VALID")


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


def augment_views(views, rng, specs, normalization, dtype=jnp.float32):
  """Photometric augmentation and normalisation of every view of a batch.

  Args:
    views: tuple of uint8 arrays [N, H_v, W_v, 3], one per view.
    rng: key for this step; view v of sample i uses
      ``split(fold_in(rng, v), N)[i]``, independent of the device count.
    specs: tuple of ``ViewSpec``, one per view.
    normalization: ``models.inputs.Normalization``, applied after the
      photometric ops.
  Returns:
    tuple of normalised arrays [N, H_v, W_v, 3] of ``dtype``.
  """
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
