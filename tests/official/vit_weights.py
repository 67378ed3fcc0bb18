"""A micro ViT's weights and inputs as pure functions of timm's parameter
names (NumPy only): the fixture generator (tests/official/vit_generate.py)
and the test (tests/test_vit.py) make the same ones without sharing a file."""
import zlib

import numpy as np

# patch 16 and the 224 px base grid, as ViT-S/16, at width 32 and depth 2.
MICRO = {"patch": 16, "dim": 32, "depth": 2, "heads": 2}


def weight(name, shape):
  """float32 array for timm's parameter ``name`` [``shape``] (PyTorch layout)."""
  noise = np.random.default_rng(zlib.crc32(name.encode())).standard_normal(shape)
  if name.endswith(".weight") and len(shape) == 1:  # LayerNorm gains
    return (1.0 + 0.1 * noise).astype(np.float32)
  if len(shape) >= 2 and name.endswith(".weight"):  # Linear / Conv2d: unit-ish outputs
    return (noise / np.sqrt(np.prod(shape[1:]))).astype(np.float32)
  return (0.1 * noise).astype(np.float32)  # biases, tokens, position embeddings


def images(size, count=2):
  """float32 NHWC inputs [count, size, size, 3] with structure at every scale."""
  y, x = np.mgrid[0:size, 0:size] / size
  channels = [np.sin(7 * x + 3 * y + c) + 0.5 * np.cos(23 * x * y + 2 * c) for c in range(3)]
  base = np.stack(channels, -1)
  return np.stack([base * (1 + 0.3 * i) - 0.2 * i for i in range(count)]).astype(np.float32)
