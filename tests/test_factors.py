"""Factor read-outs: R², class probe and principal directions on features
built from known factors."""
import numpy as np

from ssl_jax.evals import factors


def _features(n, seed):
  rng = np.random.default_rng(seed)
  polarity = (rng.uniform(size=n) < 0.5).astype(float)
  height = rng.uniform(-1, 1, n)
  angle = rng.uniform(-1, 1, n)  # not in the features
  labels = rng.integers(0, 4, n)
  x = np.concatenate([
      10.0 * polarity[:, None],  # the dominant direction
      height[:, None] + 0.1 * rng.standard_normal((n, 1)),
      0.5 * np.eye(4)[labels],
      0.2 * rng.standard_normal((n, 6))], 1)
  return x, {"polarity": polarity, "height": height, "angle": angle}, labels


def test_read_outs_find_what_the_features_hold_and_nothing_else():
  train_x, train_f, train_y = _features(2000, 0)
  test_x, test_f, test_y = _features(500, 1)
  report = factors.factor_report(train_x, test_x, train_f, test_f, test_y)
  assert report["polarity"]["r2"] > 0.99
  assert 0.9 < report["height"]["r2"] < 1.0  # the noise costs ~1 %
  assert abs(report["angle"]["r2"]) < 0.03
  assert report["polarity"]["pc_corr"][0] > 0.99  # the top direction
  assert report["angle"]["pc_corr"].max() < 0.15
  assert report["class"]["pc_corr"][0] < 0.1  # the top direction is polarity
  assert factors.ridge_class_accuracy(train_x, test_x, train_y, test_y, 4) > 0.99
  # Without the class block the probe is at chance.
  accuracy = factors.ridge_class_accuracy(train_x[:, :2], test_x[:, :2], train_y, test_y, 4)
  assert accuracy < 0.35


def test_r2_is_one_minus_the_relative_error_of_least_squares():
  rng = np.random.default_rng(2)
  x = rng.standard_normal((400, 3))
  y = x @ np.array([1.0, -2.0, 0.5]) + 0.5 * rng.standard_normal(400)
  # Closed form on the same data with a tiny ridge: the noise's share.
  r2 = factors.ridge_r2(x, x, y, y, alpha=1e-9)
  design = np.c_[x, np.ones(400)]
  residual = y - design @ np.linalg.lstsq(design, y, rcond=None)[0]
  np.testing.assert_allclose(r2, 1 - residual.var() / y.var(), rtol=1e-6)
  # Several factors in one solve give each one's own R².
  both = np.stack([y, x[:, 0]], 1)
  np.testing.assert_allclose(factors.ridge_r2(x, x, both, both, alpha=1e-9),
                             [r2, factors.ridge_r2(x, x, x[:, 0], x[:, 0], alpha=1e-9)],
                             rtol=1e-9)


def test_class_ratio_is_one_for_a_class_direction_and_small_for_noise():
  rng = np.random.default_rng(3)
  labels = rng.integers(0, 5, 3000)
  class_value = np.array([-2.0, -1.0, 0.0, 1.0, 2.0])[labels]
  x = np.stack([3.0 * class_value, rng.standard_normal(3000)], 1)
  ratios = factors.class_ratios(factors.principal_coordinates(x, x, k=2), labels)
  np.testing.assert_allclose(ratios[0], 1.0, atol=1e-6)
  assert ratios[1] < 0.1
  # Equals |r| with the class-mean coordinate for a direction with noise.
  y = np.stack([class_value + rng.standard_normal(3000), 0.1 * rng.standard_normal(3000)], 1)
  eta = factors.class_ratios(factors.principal_coordinates(y, y, k=1), labels)[0]
  r = abs(np.corrcoef(y[:, 0], class_value)[0, 1])
  np.testing.assert_allclose(eta, r, atol=0.02)
