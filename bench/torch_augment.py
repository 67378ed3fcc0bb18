"""Batched photometric augmentation in PyTorch for bench/torch_reference.py.

ssl_jax's device ops (``train/augment.py``) on a batch: torchvision's
ColorJitter semantics with per-sample factors (brightness, contrast,
saturation, hue in HSV) in a fixed order (ours draws one per image: the
same work); grey (torchvision's luma weights), Gaussian blur with a per-sample sigma in
pixels (edges replicated), solarisation at 0.5; each with its view's
probability per sample.
"""
import math

import torch
import torch.nn.functional as F

_LUMA = (0.2989, 0.587, 0.114)  # torchvision's rgb_to_grayscale


def _gray(x):
  w = torch.tensor(_LUMA, device=x.device, dtype=x.dtype).view(1, 3, 1, 1)
  return (x * w).sum(1, keepdim=True)


def _blend(a, b, factor):
  return (factor * a + (1 - factor) * b).clamp(0, 1)


def _uniform(n, low, high, like):
  return torch.empty(n, 1, 1, 1, device=like.device, dtype=like.dtype).uniform_(low, high)


def _hue(x, delta):
  """Shift the hue of RGB images in [0, 1] by ``delta`` turns (HSV)."""
  r, g, b = x.unbind(1)
  maxc, _ = x.max(1)
  minc, _ = x.min(1)
  v, span = maxc, maxc - minc
  s = torch.where(maxc > 0, span / maxc.clamp_min(1e-12), torch.zeros_like(maxc))
  safe = span.clamp_min(1e-12)
  rc, gc, bc = (maxc - r) / safe, (maxc - g) / safe, (maxc - b) / safe
  h = torch.where(maxc == r, bc - gc, torch.where(maxc == g, 2.0 + rc - bc, 4.0 + gc - rc))
  h = torch.where(span > 0, (h / 6.0) % 1.0, torch.zeros_like(h))
  h = (h + delta.view(-1, 1, 1)) % 1.0
  i = torch.floor(h * 6.0)
  f = h * 6.0 - i
  p, q, t = v * (1 - s), v * (1 - s * f), v * (1 - s * (1 - f))
  i = i.long() % 6
  choose = lambda *c: torch.stack(c, 1).gather(1, i.unsqueeze(1)).squeeze(1)
  return torch.stack([choose(v, q, p, p, t, v), choose(t, v, v, q, p, p),
                      choose(p, p, t, v, v, q)], 1)


def _jitter(x, spec):
  n = x.shape[0]
  ops = [
      lambda y: _blend(y, torch.zeros_like(y),
                       _uniform(n, max(0, 1 - spec.brightness), 1 + spec.brightness, y)),
      lambda y: _blend(y, _gray(y).mean((2, 3), keepdim=True),
                       _uniform(n, max(0, 1 - spec.contrast), 1 + spec.contrast, y)),
      lambda y: _blend(y, _gray(y),
                       _uniform(n, max(0, 1 - spec.saturation), 1 + spec.saturation, y)),
      lambda y: _hue(y, _uniform(n, -spec.hue, spec.hue, y).view(-1)).clamp(0, 1),
  ]
  for op in ops:
    x = op(x)
  return x


def _blur(x, sigma_range):
  n, c, h, w = x.shape
  radius = int(math.ceil(3 * sigma_range[1]))
  sigma = _uniform(n, sigma_range[0], sigma_range[1], x).view(n, 1)
  taps = torch.arange(-radius, radius + 1, device=x.device, dtype=x.dtype).view(1, -1)
  kernel = torch.exp(-0.5 * (taps / sigma) ** 2)
  kernel = (kernel / kernel.sum(1, keepdim=True)).repeat_interleave(c, 0)  # [N*C, K]
  y = F.pad(x.reshape(1, n * c, h, w), (radius,) * 4, mode="replicate")
  y = F.conv2d(y, kernel.view(n * c, 1, 1, -1), groups=n * c)
  y = F.conv2d(y, kernel.view(n * c, 1, -1, 1), groups=n * c)
  return y.view(n, c, h, w)


def _maybe(x, prob, fn):
  if prob <= 0:
    return x
  if prob >= 1:
    return fn(x)
  keep = torch.rand(x.shape[0], 1, 1, 1, device=x.device) < prob
  return torch.where(keep, fn(x), x)


def augment(images, spec):
  """uint8 [N, H, W, 3] -> float32 [N, 3, H, W] in [0, 1], augmented as ``spec``."""
  x = images.permute(0, 3, 1, 2).float() / 255.0
  x = _maybe(x, spec.jitter_prob, lambda y: _jitter(y, spec))
  x = _maybe(x, spec.gray_prob, lambda y: _gray(y).expand_as(y))
  x = _maybe(x, spec.blur_prob, lambda y: _blur(y, spec.blur_sigma))
  return _maybe(x, spec.solarize_prob, lambda y: torch.where(y >= 0.5, 1 - y, y))
