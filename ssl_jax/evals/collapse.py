"""Collapse acted on: a sustained fall of the backbone features' effective rank.

The backbone's features are what every evaluation and every downstream use
reads, and their effective rank (``feature_effective_rank``: exp of the
entropy of the normalised covariance eigenvalues) falls towards 1 when a
run collapses.  The embedding's rank is no signal for INTL and W-MSE,
whose losses whiten it.  One evaluation below the threshold can be noise;
``patience`` evaluations in a row (step 0, the random initialisation,
never counts) is a collapse: the run says so once, loudly, marks it in
``metrics.jsonl`` (``collapse``: 1 at that step, which the plots draw) and
may stop.
"""
import dataclasses
from typing import List, Tuple


@dataclasses.dataclass
class CollapseMonitor:
  threshold: float
  patience: int
  below: List[Tuple[int, float]] = dataclasses.field(default_factory=list)
  reported: bool = False

  def replay(self, records):
    """Takes up the state of a resumed run from its ``metrics.jsonl`` records."""
    for record in sorted(records, key=lambda r: r["step"]):
      if "feature_effective_rank" in record:
        self._observe(record["step"], record["feature_effective_rank"])
      self.reported |= "collapse" in record

  def _observe(self, step, rank):
    if step == 0:
      return
    if isinstance(rank, float) and rank >= self.threshold:
      self.below.clear()
    else:  # below, or not finite ("nan" in the records)
      self.below.append((int(step), rank))

  def update(self, step: int, scalars) -> bool:
    """Observes an evaluation; True the first time the collapse is sustained."""
    self._observe(step, scalars["feature_effective_rank"])
    if len(self.below) >= self.patience and not self.reported:
      self.reported = True
      return True
    return False

  def message(self, method, scalars) -> str:
    ranks = ", ".join(f"{float(r):.2f} at step {s}" for s, r in self.below[-self.patience:])
    return (f"COLLAPSE: the backbone features' effective rank has stayed below "
            f"eval.min_effective_rank={self.threshold:g} for {len(self.below)} "
            f"evaluations in a row ({ranks}); k-NN top-1 is "
            f"{scalars.get('knn_top1', float('nan')):.1f} %.  For {method.name} this "
            f"usually means {method.collapse_hint}.  "
            f"--config.train.stop_on_collapse=true stops such a run here (exit 1).")


class CollapseDetected(RuntimeError):
  """A run with ``train.stop_on_collapse`` collapsed (checkpoint kept)."""
