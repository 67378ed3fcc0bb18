"""Plots of a run, as PNG files in ``WORKDIR/plots/``.

    python -m ssl_jax.jobs.report --workdir=DIR

Pretraining writes them at the end of a run; this command redraws them at
any time (also while the run goes on) from ``metrics.jsonl`` and
``spectrum.jsonl``:

- ``training.png``: loss and learning rate over steps;
- ``accuracy.png``: every ``*_top1`` metric (k-NN, online probe, linear
  evaluation) over steps;
- ``spectrum.png``: eigenvalues of the embedding covariance at up to five
  evaluation steps (log scale) and the effective rank over steps.

A collapse the run reported is a dashed red line on each.
"""
import argparse
import io
from typing import List

import numpy as np

from ssl_jax import storage
from ssl_jax.metrics import DETAILS_FILE, METRICS_FILE, read_metrics

_SPECTRUM_CURVES = 5


def _pyplot():
  import matplotlib  # pylint: disable=g-import-not-at-top
  matplotlib.use("Agg")  # files only, never a window
  import matplotlib.pyplot as plt  # pylint: disable=g-import-not-at-top
  return plt


def _series(records, key):
  points = [(r["step"], r[key]) for r in records if isinstance(r.get(key), (int, float))]
  return [p[0] for p in points], [p[1] for p in points]


def _mark_collapse(records, *axes):
  """A red line at the step where the run reported a collapse."""
  steps = [r["step"] for r in records if "collapse" in r]
  for ax in axes:
    for step in steps[:1]:
      ax.axvline(step, color="red", linestyle="--", linewidth=1, label="collapse reported")


def _save(fig, path):
  fig.tight_layout()
  png = io.BytesIO()
  fig.savefig(png, format="png", dpi=100)
  storage.write_bytes(path, png.getvalue())
  return str(path)


def _training(plt, records, path):
  if not _series(records, "loss")[0]:
    return None
  fig, (ax_loss, ax_lr) = plt.subplots(1, 2, figsize=(10, 3.5))
  ax_loss.plot(*_series(records, "loss"))
  _mark_collapse(records, ax_loss)
  ax_loss.set(xlabel="step", ylabel="loss", title="training loss")
  ax_lr.plot(*_series(records, "lr"))
  ax_lr.set(xlabel="step", ylabel="learning rate", title="learning rate")
  return _save(fig, path)


def _accuracy(plt, records, path):
  keys = sorted({k for r in records for k in r if k.endswith("_top1")})
  if not keys:
    return None
  fig, ax = plt.subplots(figsize=(6, 4))
  for key in keys:
    ax.plot(*_series(records, key), marker="o", markersize=3, label=key)
  ax.set(xlabel="step", ylabel="top-1 accuracy (%)", title="evaluation")
  _mark_collapse(records, ax)
  ax.legend()
  return _save(fig, path)


def _spectrum(plt, details, records, path):
  if not details:
    return None
  fig, (ax_eig, ax_rank) = plt.subplots(1, 2, figsize=(10, 3.5))
  picks = np.unique(np.linspace(0, len(details) - 1, _SPECTRUM_CURVES).round().astype(int))
  for i in picks:
    eig = np.asarray(details[i]["spectrum"], np.float64)
    ax_eig.semilogy(np.arange(1, len(eig) + 1), np.maximum(eig, 1e-12),
                    label=f"step {details[i]['step']}")
  ax_eig.set(xlabel="eigenvalue index", ylabel="eigenvalue (log)",
             title="embedding covariance spectrum")
  ax_eig.legend()
  for key, label in (("effective_rank", "embedding"), ("feature_effective_rank", "features")):
    ax_rank.plot(*_series(records, key), marker="o", markersize=3, label=label)
  ax_rank.set(xlabel="step", ylabel="effective rank", title="effective rank")
  _mark_collapse(records, ax_rank)
  ax_rank.legend()
  return _save(fig, path)


def write_plots(workdir: str) -> List[str]:
  """Draws every plot the workdir has data for; returns the files written."""
  plt = _pyplot()
  out = storage.path(workdir) / "plots"
  records = read_metrics(workdir)
  written = [
      _training(plt, records, out / "training.png"),
      _accuracy(plt, records, out / "accuracy.png"),
      _spectrum(plt, read_metrics(workdir, DETAILS_FILE), records, out / "spectrum.png"),
  ]
  plt.close("all")
  return [p for p in written if p]


def main(argv=None):
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--workdir", required=True, help="a run's --workdir")
  args = parser.parse_args(argv)
  if not (storage.path(args.workdir) / METRICS_FILE).exists():
    parser.error(f"{args.workdir} has no metrics.jsonl: is it a run's workdir?")
  for path in write_plots(args.workdir):
    print(path)


if __name__ == "__main__":
  main()
