"""The one way the bench scripts time device work."""
import statistics
import time

import jax


def median_seconds(fn, repeats: int) -> float:
  """Median wall time of ``fn()`` over ``repeats`` runs, blocked until ready.

  A first call outside the timing compiles and warms up.
  """
  jax.block_until_ready(fn())
  return statistics.median(_seconds(fn) for _ in range(repeats))


def paired_median_seconds(fn_a, fn_b, repeats: int):
  """Median wall times of ``fn_a()`` and ``fn_b()`` timed in alternation.

  Alternating puts both under the same conditions: another process on the
  cores slows both rather than whichever ran at that moment.  Before each
  timed call a pause lets the other library's threads stop spinning
  (OpenBLAS keeps its workers busy-waiting for a while after a call), and
  an untimed call warms caches and wakes the thread pool, so each time is
  of a hot call, as inside a train step.
  """
  times = ([], [])
  for _ in range(repeats):
    for fn, out in zip((fn_a, fn_b), times):
      time.sleep(0.3)
      jax.block_until_ready(fn())
      out.append(_seconds(fn))
  return statistics.median(times[0]), statistics.median(times[1])


def _seconds(fn) -> float:
  """Wall time of one ``fn()``, blocked until its result is ready."""
  start = time.perf_counter()
  jax.block_until_ready(fn())
  return time.perf_counter() - start
