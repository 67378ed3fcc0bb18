"""Times BYOL's loss in its two forms, value and gradient, float32, side by side.

    python bench/byol_forms.py [--repeats=31]

``2 - 2 mean cos(p, z)`` (the form before 2026-11-30) against the kernel's
``mean ||p̂ - ẑ||²`` (DeepMind's regression_loss), jitted and warm, timed
in alternation (bench.timing) at the ImageNet config's shape [4096, 256].
"""
import argparse
import os
import sys

import jax
import jax.numpy as jnp
from jax import lax

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from bench.timing import paired_median_seconds  # pylint: disable=wrong-import-position
from ssl_jax import kernels  # pylint: disable=wrong-import-position
from ssl_jax.kernels.similarity import cosine_similarity  # pylint: disable=wrong-import-position


def cosine_form(p, z):
  return 2.0 - 2.0 * jnp.mean(cosine_similarity(p, lax.stop_gradient(z)))


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--repeats", type=int, default=31)
  args = parser.parse_args()
  k1, k2 = jax.random.split(jax.random.key(0))
  p, z = jax.random.normal(k1, (4096, 256)), jax.random.normal(k2, (4096, 256))
  old = jax.jit(jax.value_and_grad(cosine_form))
  new = jax.jit(jax.value_and_grad(kernels.byol_loss))
  a, b = paired_median_seconds(lambda: old(p, z), lambda: new(p, z), args.repeats)
  print(f"| 2 - 2 cos | {a * 1e3:.2f} ms |\n| ‖p̂ - ẑ‖² | {b * 1e3:.2f} ms |")
  print(f"{jax.devices()[0].device_kind}, jax {jax.__version__}")


if __name__ == "__main__":
  main()
