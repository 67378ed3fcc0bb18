"""The one way the bench scripts time device work."""
import statistics
import time

import jax


def median_seconds(fn, repeats: int) -> float:
  """Median wall time of ``fn()`` over ``repeats`` runs, blocked until ready.

  A first call outside the timing compiles and warms up.
  """
  jax.block_until_ready(fn())
  times = []
  for _ in range(repeats):
    start = time.perf_counter()
    jax.block_until_ready(fn())
    times.append(time.perf_counter() - start)
  return statistics.median(times)
