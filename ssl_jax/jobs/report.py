"""Plots of a run, as PNG files in ``WORKDIR/plots/``.

    python -m ssl_jax.jobs.report --workdir=DIR

Pretraining writes them at the end of a run; this command redraws them at
any time (also while the run goes on) from ``metrics.jsonl``,
``spectrum.jsonl`` and ``config.json``.  Each figure's title names the run,
its method and its dataset.

- ``training.png``: loss and learning rate over steps;
- ``accuracy.png``: held-out top-1 (k-NN, online probe, linear evaluation)
  with the chance level, and beside it the per-batch training accuracy of
  the online probe;
- ``spectrum.png``: eigenvalues of the embedding and of the backbone
  features at up to five evaluation steps (log scale), the effective ranks
  as fractions of their dimension with the collapse threshold
  (``eval.min_effective_rank`` of the features), and the histogram of
  pairwise cosine similarities of the embedding.

A collapse the run reported is a dashed red line on each.
"""
import argparse
import io
import os
from typing import List

import numpy as np

from ssl_jax import storage
from ssl_jax import workdir as workdir_record
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


def _title(workdir, config):
  """'RUN: method on dataset' from the run's config (the run's name alone
  without one)."""
  name = os.path.basename(str(workdir).rstrip("/")) or str(workdir)
  method = config.get("method", {}).get("name")
  data = config.get("data", {}).get("name")
  return f"{name}: {method} on {data}" if method and data else name


def _save(fig, path, title):
  fig.suptitle(title)
  fig.tight_layout()
  png = io.BytesIO()
  fig.savefig(png, format="png", dpi=100)
  storage.write_bytes(path, png.getvalue())
  return str(path)


def _training(plt, records, path, title):
  if not _series(records, "loss")[0]:
    return None
  fig, (ax_loss, ax_lr) = plt.subplots(1, 2, figsize=(10, 3.8))
  ax_loss.plot(*_series(records, "loss"))
  _mark_collapse(records, ax_loss)
  ax_loss.set(xlabel="step", ylabel="loss", title="training loss")
  ax_lr.plot(*_series(records, "lr"))
  ax_lr.set(xlabel="step", ylabel="learning rate", title="learning rate")
  return _save(fig, path, title)


def _accuracy(plt, records, details, path, title):
  top1 = sorted({k for r in records for k in r if k.endswith("_top1")})
  held_out = [k for k in top1 if "train" not in k]
  training = [k for k in top1 if "train" in k]
  if not top1:
    return None
  fig, (ax_test, ax_train) = plt.subplots(1, 2, figsize=(11, 4))
  for key in held_out:
    ax_test.plot(*_series(records, key), marker="o", markersize=3, label=key)
  classes = next((d["num_classes"] for d in details if d.get("num_classes")), None)
  if classes:
    ax_test.axhline(100.0 / classes, color="gray", linestyle=":",
                    label=f"chance ({100.0 / classes:.3g} %)")
  ax_test.set(xlabel="step", ylabel="top-1 accuracy (%)", title="held-out split")
  _mark_collapse(records, ax_test)
  ax_test.legend()
  for key in training:
    ax_train.plot(*_series(records, key), linewidth=1, label=key)
  ax_train.set(xlabel="step", ylabel="top-1 accuracy (%)",
               title="training batches (per batch)")
  if training:
    ax_train.legend()
  return _save(fig, path, title)


def _spectra(ax, details, key, what):
  picks = np.unique(np.linspace(0, len(details) - 1, _SPECTRUM_CURVES).round().astype(int))
  for i in picks:
    eig = np.asarray(details[i].get(key, []), np.float64)
    ax.semilogy(np.arange(1, len(eig) + 1), np.maximum(eig, 1e-12),
                label=f"step {details[i]['step']}")
  ax.set(xlabel="eigenvalue index", ylabel="eigenvalue (log)", title=f"{what} spectrum")
  ax.legend(fontsize=7)


def _ranks(ax, records, details, threshold):
  dims = {"effective_rank": len(details[-1].get("spectrum", [])),
          "feature_effective_rank": len(details[-1].get("feature_spectrum", []))}
  for key, label in (("effective_rank", "embedding"), ("feature_effective_rank", "features")):
    steps, ranks = _series(records, key)
    if dims[key] and steps:
      ax.plot(steps, np.asarray(ranks) / dims[key], marker="o", markersize=3,
              label=f"{label} (of {dims[key]})")
  if threshold and dims["feature_effective_rank"]:
    ax.axhline(threshold / dims["feature_effective_rank"], color="red", linestyle=":",
               label=f"collapse threshold (features, rank {threshold:g})")
  ax.set(xlabel="step", ylabel="effective rank / dimension", title="effective rank",
         ylim=(0, 1.05))
  _mark_collapse(records, ax)
  ax.legend(fontsize=7)


def _histograms(ax, details):
  picks = np.unique(np.linspace(0, len(details) - 1, _SPECTRUM_CURVES).round().astype(int))
  for i in picks:
    counts = np.asarray(details[i].get("cosine_histogram", []), np.float64)
    if counts.size:
      ax.stairs(counts, np.linspace(-1.0, 1.0, counts.size + 1),
                label=f"step {details[i]['step']}")
  ax.set(xlabel="cosine similarity", ylabel="fraction of pairs",
         title="pairwise cosine similarity (embedding)")
  ax.legend(fontsize=7)


def _spectrum(plt, details, records, path, title, threshold):
  if not details:
    return None
  fig, axes = plt.subplots(2, 2, figsize=(11, 7.5))
  _spectra(axes[0, 0], details, "spectrum", "embedding covariance")
  _spectra(axes[0, 1], details, "feature_spectrum", "backbone feature covariance")
  _ranks(axes[1, 0], records, details, threshold)
  _histograms(axes[1, 1], details)
  return _save(fig, path, title)


def write_plots(workdir: str) -> List[str]:
  """Draws every plot the workdir has data for; returns the files written."""
  plt = _pyplot()
  out = storage.path(workdir) / "plots"
  records = read_metrics(workdir)
  details = read_metrics(workdir, DETAILS_FILE)
  config = workdir_record.read_config(workdir) or {}
  title = _title(workdir, config)
  threshold = config.get("eval", {}).get("min_effective_rank")
  written = [
      _training(plt, records, out / "training.png", title),
      _accuracy(plt, records, details, out / "accuracy.png", title),
      _spectrum(plt, details, records, out / "spectrum.png", title, threshold),
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
