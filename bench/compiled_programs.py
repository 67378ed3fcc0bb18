"""Prints a fingerprint of the compiled float32 program of every loss kernel.

    python bench/compiled_programs.py > after.txt   # in each of two checkouts

Equal fingerprints in two checkouts mean XLA compiles the same program for
that kernel, so its float32 values and speed cannot differ.  The inputs are
``tests/test_kernels.py``'s cases; source locations are left out of the
fingerprint, so moving code does not change it.
"""
import hashlib
import os
import re
import sys

import jax
import jax.numpy as jnp

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from tests.test_kernels import CASES, make_inputs  # pylint: disable=wrong-import-position


def fingerprint(fn, arrays) -> str:
  text = jax.jit(fn).lower(*arrays).compile().as_text()
  text = re.sub(r"metadata=\{[^}]*\}|, origin=\{[^}]*\}", "", text)
  text = re.sub(r"^HloModule \S+", "", text, flags=re.M)
  lines = [line for line in text.splitlines() if not re.match(r"^\d+ ", line)]
  return hashlib.sha1("\n".join(lines).encode()).hexdigest()[:12]


def main():
  for name in sorted(CASES):
    case = CASES[name]
    arrays = [jnp.asarray(a, jnp.float32) for a in make_inputs(case, "random")]
    print(f"{name:16s} {fingerprint(case.fn, arrays)}")


if __name__ == "__main__":
  main()
