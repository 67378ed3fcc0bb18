"""Which known factors of variation a representation encodes.

For data whose generating factors are known (the built-in ``synthetic``
set: ``synthetic.generate_with_factors``), two views of a frozen encoder's
features: how much of each factor a linear read-out recovers on held-out
images (R² of a ridge regression), and how strongly each factor aligns
with the top principal directions, which dominate cosine k-NN (and, for
the class, the correlation ratio with them).  Features whose leading
directions follow nuisances rather than the class score low in k-NN even
when a linear probe still finds the nuisances and some of the class.
NumPy on the host: the features of a few thousand images.
"""
from typing import Dict, Mapping

import numpy as np


def _standardise(train, test):
  mean, std = train.mean(0), train.std(0) + 1e-6
  bias = lambda x: np.concatenate([(x - mean) / std, np.ones((len(x), 1))], 1)
  return bias(train), bias(test)


def _ridge(train_x, train_y, alpha):
  """Ridge weights [C + 1, K] of standardised features (with bias)."""
  gram = train_x.T @ train_x + alpha * np.eye(train_x.shape[1])
  return np.linalg.solve(gram, train_x.T @ train_y)


def ridge_r2(train_x, test_x, train_y, test_y, alpha=1.0) -> np.ndarray:
  """Held-out R² = 1 - MSE / Var of a ridge regression features -> factors.

  Args:
    train_x, test_x: features [N, C], [M, C] (standardised on train).
    train_y, test_y: factors [N, F], [M, F] (or one factor [N], [M]).
  Returns:
    R² [F] (a scalar for one factor); one solve for all factors.
  """
  a, b = _standardise(np.asarray(train_x, np.float64), np.asarray(test_x, np.float64))
  pred = b @ _ridge(a, np.asarray(train_y, np.float64), alpha)
  test_y = np.asarray(test_y, np.float64)
  return 1.0 - np.mean((pred - test_y) ** 2, 0) / np.maximum(test_y.var(0), 1e-12)


def ridge_class_accuracy(train_x, test_x, train_labels, test_labels, num_classes,
                         alpha=1.0) -> float:
  """Held-out top-1 of a ridge regression onto one-hot labels."""
  a, b = _standardise(np.asarray(train_x, np.float64), np.asarray(test_x, np.float64))
  weights = _ridge(a, np.eye(num_classes)[train_labels], alpha)
  return float(np.mean((b @ weights).argmax(1) == test_labels))


def principal_coordinates(train_x, test_x, k=3) -> np.ndarray:
  """Standardised test coordinates [M, k] along the train features' top-k
  principal directions."""
  train_x = np.asarray(train_x, np.float64)
  mean = train_x.mean(0)
  _, vectors = np.linalg.eigh(np.cov((train_x - mean).T))
  coords = (np.asarray(test_x, np.float64) - mean) @ vectors[:, ::-1][:, :k]
  return (coords - coords.mean(0)) / np.maximum(coords.std(0), 1e-12)


def correlations(coords, y) -> np.ndarray:
  """|Pearson correlation| [k] of a scalar factor y [M] with each of the
  standardised coordinates [M, k]."""
  y = np.asarray(y, np.float64)
  y = (y - y.mean()) / max(y.std(), 1e-12)
  return np.abs((coords * y[:, None]).mean(0))


def class_ratios(coords, labels) -> np.ndarray:
  """Correlation ratio η [k] of the class with each standardised coordinate:
  the root of its between-class share of variance (|r|'s analogue for a
  categorical variable; 1 when the coordinate is constant within classes)."""
  labels = np.asarray(labels)
  between = sum(np.mean(labels == c) * coords[labels == c].mean(0) ** 2
                for c in np.unique(labels))
  return np.sqrt(between)  # the coordinates have unit variance


def factor_report(train_x, test_x, train_factors: Mapping[str, np.ndarray],
                  test_factors: Mapping[str, np.ndarray], test_labels=None,
                  k=3) -> Dict[str, Dict]:
  """{factor: {"r2": held-out R², "pc_corr": |r| with the top-k principal
  directions}} for every scalar factor [N] in the mappings, and with
  ``test_labels`` {"class": {"pc_corr": η with the same directions}}."""
  names = list(train_factors)
  r2 = ridge_r2(train_x, test_x, np.stack([train_factors[n] for n in names], 1),
                np.stack([test_factors[n] for n in names], 1))
  coords = principal_coordinates(train_x, test_x, k)
  report = {n: {"r2": float(r2[i]), "pc_corr": correlations(coords, test_factors[n])}
            for i, n in enumerate(names)}
  if test_labels is not None:
    report["class"] = {"pc_corr": class_ratios(coords, test_labels)}
  return report
