"""Schedules and optimisers against the reference formulas."""
import math

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from ssl_jax.kernels import schedules
from ssl_jax.train import optim
from tests.helpers import sgd_config


def _intl_reference_lr(step, base_lr, warmup, total):
  """INTL main.py ``adjust_learning_rate``, verbatim in Python."""
  if step < warmup:
    return base_lr * (step + 1) / warmup
  step -= warmup
  q = 0.5 * (1 + math.cos(math.pi * (step + 1) / (total - warmup)))
  return base_lr * q + base_lr * 0.001 * (1 - q)


def test_warmup_cosine_matches_the_intl_reference():
  sched = schedules.warmup_cosine(1.2, 10, 100, end_ratio=0.001)
  got = np.asarray(jax.vmap(sched)(jnp.arange(100)))
  want = np.array([_intl_reference_lr(s, 1.2, 10, 100) for s in range(100)])
  np.testing.assert_allclose(got, want, rtol=1e-5)
  assert got[-1] == pytest.approx(1.2 * 0.001, rel=1e-4)


@pytest.mark.parametrize("start", [0.3, 1e-4])
def test_warmup_starts_at_the_given_lr(start):
  """MIRA's scheduler warms up from 0.3, miossl's from 1e-4: linear from
  ``start`` to the peak at step W - 1, then the same cosine."""
  sched = schedules.warmup_cosine(4.8, 10, 100, end_ratio=0.0, start=start)
  got = np.asarray(jax.vmap(sched)(jnp.arange(100)))
  want = [start + (4.8 - start) * (s + 1) / 10 for s in range(10)]
  np.testing.assert_allclose(got[:10], want, rtol=1e-6)
  cosine = np.asarray(jax.vmap(schedules.warmup_cosine(4.8, 10, 100))(jnp.arange(10, 100)))
  np.testing.assert_array_equal(got[10:], cosine)


def test_warmup_multistep_as_wmse_trains():
  """W-MSE's train.py: lr (s + 1) / 500 for 500 iterations, then MultiStepLR
  x 0.2 at epochs E - 50 and E - 25 (here 10 steps an epoch, E = 110)."""
  sched = schedules.warmup_multistep(
      3e-3, 500, schedules.milestone_steps((60, 85), 0.2, 10))
  got = np.asarray(jax.vmap(sched)(jnp.array([0, 249, 499, 500, 599, 600, 849, 850])))
  want = [3e-3 / 500, 3e-3 * 250 / 500, 3e-3, 3e-3, 3e-3, 3e-3 * 0.2, 3e-3 * 0.2,
          3e-3 * 0.04]
  np.testing.assert_allclose(got, want, rtol=1e-6)


def test_warmup_cosine_rejects_bad_lengths():
  with pytest.raises(ValueError):
    schedules.warmup_cosine(1.0, 10, 10)


def test_ema_momentum_cosine_to_one():
  sched = schedules.ema_momentum(0.996, 1000)
  assert float(sched(0)) == pytest.approx(0.996)
  assert float(sched(1000)) == pytest.approx(1.0)
  assert float(sched(500)) == pytest.approx(1 - 0.004 * 0.5, rel=1e-6)


def test_learning_rate_scales_linearly():
  assert optim.scaled_learning_rate(0.5, 1024) == pytest.approx(2.0)


def _params():
  rng = np.random.default_rng(0)
  return {"dense": {"kernel": jnp.asarray(rng.normal(size=(3, 4)), jnp.float32),
                    "bias": jnp.asarray(rng.normal(size=(4,)), jnp.float32)},
          "bn": {"scale": jnp.ones((4,), jnp.float32)}}


def test_decay_mask_excludes_biases_and_norms():
  mask = optim.decay_mask(_params())
  assert mask == {"dense": {"kernel": True, "bias": False}, "bn": {"scale": False}}


def test_sgd_matches_pytorch_update_rule():
  """buf = mu buf + (g + wd p [weights only]); p -= lr buf."""
  lr, wd, mu = 0.1, 0.01, 0.9
  tx = optim.make_optimizer(sgd_config(base_lr=lr, weight_decay=wd, momentum=mu), lr)
  params = _params()
  grads = jax.tree.map(lambda p: jnp.full_like(p, 0.5), params)
  state = tx.init(params)
  ref_p = jax.tree.map(np.asarray, params)
  ref_buf = jax.tree.map(np.zeros_like, ref_p)
  mask = optim.decay_mask(params)
  for _ in range(3):
    updates, state = tx.update(grads, state, params)
    params = jax.tree.map(lambda p, u: p + u, params, updates)
    d = jax.tree.map(lambda g, p, m: np.asarray(g) + (wd * p if m else 0), grads, ref_p, mask)
    ref_buf = jax.tree.map(lambda b, x: mu * b + x, ref_buf, d)
    ref_p = jax.tree.map(lambda p, b: p - lr * b, ref_p, ref_buf)
  for a, b in zip(jax.tree.leaves(params), jax.tree.leaves(ref_p)):
    np.testing.assert_allclose(np.asarray(a), b, rtol=1e-5)


def test_lars_adapts_weights_but_not_biases():
  """First step (zero momentum buffer): weight update = lr * eta ||p|| / ||g + wd p|| (g + wd p)."""
  lr, wd, eta = 0.5, 1e-4, 0.001
  tx = optim.make_optimizer(sgd_config(name="lars", base_lr=lr, weight_decay=wd,
                                       trust_coefficient=eta), lr)
  params = _params()
  grads = jax.tree.map(lambda p: jnp.full_like(p, 0.5), params)
  updates, _ = tx.update(grads, tx.init(params), params)
  p, g = np.asarray(params["dense"]["kernel"]), np.asarray(grads["dense"]["kernel"])
  d = g + wd * p
  want = -lr * eta * np.linalg.norm(p) / np.linalg.norm(d) * d
  np.testing.assert_allclose(np.asarray(updates["dense"]["kernel"]), want, rtol=1e-5)
  np.testing.assert_allclose(np.asarray(updates["dense"]["bias"]),
                             -lr * np.asarray(grads["dense"]["bias"]), rtol=1e-6)


def test_lars_momentum_holds_unscaled_steps_as_pytorch_references():
  """MoCo v3 / MIRA / eztorch LARS: buf = mu buf + d; p -= lr_t buf, with a
  learning rate that changes every step (warm-up)."""
  wd, eta, mu = 1e-4, 0.02, 0.9
  rates = jnp.asarray([0.1, 0.4, 0.9], jnp.float32)
  tx = optim.make_optimizer(sgd_config(name="lars", weight_decay=wd, trust_coefficient=eta,
                                       momentum=mu), lambda s: rates[s])
  params = _params()
  state = tx.init(params)
  rng = np.random.default_rng(1)
  ref_p = jax.tree.map(np.asarray, params)
  ref_buf = jax.tree.map(np.zeros_like, ref_p)
  mask = optim.decay_mask(params)
  for s in range(3):
    grads = jax.tree.map(lambda p: jnp.asarray(rng.normal(size=p.shape), jnp.float32), params)
    updates, state = tx.update(grads, state, params)
    params = jax.tree.map(lambda p, u: p + u, params, updates)

    def direction(g, p, m):
      if not m:
        return np.asarray(g)
      d = np.asarray(g) + wd * p
      return eta * np.linalg.norm(p) / np.linalg.norm(d) * d
    d = jax.tree.map(direction, grads, ref_p, mask)
    ref_buf = jax.tree.map(lambda b, x: mu * b + x, ref_buf, d)
    ref_p = jax.tree.map(lambda p, b, s=s: p - float(rates[s]) * b, ref_p, ref_buf)
  for a, b in zip(jax.tree.leaves(params), jax.tree.leaves(ref_p)):
    np.testing.assert_allclose(np.asarray(a), b, rtol=1e-5)


def test_unknown_optimizer_lists_valid_names():
  with pytest.raises(ValueError, match="adam, adamw, larc, lars, sgd"):
    optim.make_optimizer(sgd_config(name="adagrad"), 0.1)


def test_adam_adds_l2_decay_to_the_gradient_as_pytorch():
  """torch.optim.Adam(weight_decay=wd): g + wd p enters both moments;
  bias-corrected; eps 1e-8 outside the square root."""
  config = sgd_config(name="adam", weight_decay=0.1, exclude_bias_and_norm=False)
  lr, p0 = 1e-2, np.array([[0.5, -1.0], [2.0, 0.1]])
  grads = [np.array([[0.1, 0.2], [-0.3, 0.4]]), np.array([[-0.2, 0.1], [0.3, 0.0]])]
  tx = optim.make_optimizer(config, lr)
  params, state = jnp.asarray(p0), None
  state = tx.init(params)
  p, m, v = p0.copy(), np.zeros_like(p0), np.zeros_like(p0)
  for t, g in enumerate(grads, start=1):
    updates, state = tx.update(jnp.asarray(g), state, params)
    params = params + updates
    g = g + 0.1 * p
    m = 0.9 * m + 0.1 * g
    v = 0.999 * v + 0.001 * g * g
    p = p - lr * (m / (1 - 0.9 ** t)) / (np.sqrt(v / (1 - 0.999 ** t)) + 1e-8)
  np.testing.assert_allclose(np.asarray(params), p, rtol=1e-6, atol=1e-6)


def _one_update(config, lr, params, peak=None):
  tx = optim.make_optimizer(config, lr, peak)
  grads = jax.tree.map(jnp.ones_like, params)
  updates, _ = tx.update(grads, tx.init(params), params)
  return updates


def test_constant_lr_parts_stay_at_the_peak_while_the_rest_follows_the_schedule():
  """SimSiam's --fix-pred-lr: the predictor at the peak rate, the rest on
  the schedule (here 0.1 x the peak at step 0)."""
  config = sgd_config(momentum=0.0, weight_decay=0.0, constant_lr_parts=("predictor",))
  params = {"backbone": {"w": jnp.ones((2, 2))}, "predictor": {"w": jnp.ones((2, 2))}}
  updates = _one_update(config, lambda step: 0.05, params, peak=0.5)
  np.testing.assert_allclose(updates["backbone"]["w"], -0.05)
  np.testing.assert_allclose(updates["predictor"]["w"], -0.5)
  with pytest.raises(ValueError, match="parameter groups are: backbone, predictor"):
    _one_update(sgd_config(constant_lr_parts=("head",)), lambda step: 0.05, params, 0.5)


def test_bias_lr_ratio_scales_biases_and_norms_only():
  """Barlow Twins: biases and BatchNorm at 0.0048 / 0.2 of the weights' rate."""
  config = sgd_config(momentum=0.0, weight_decay=0.0, bias_lr_ratio=0.024)
  params = {"backbone": {"kernel": jnp.ones((2, 2)), "bias": jnp.ones((2,))}}
  updates = _one_update(config, lambda step: 0.2, params)
  np.testing.assert_allclose(updates["backbone"]["kernel"], -0.2)
  np.testing.assert_allclose(updates["backbone"]["bias"], -0.2 * 0.024, rtol=1e-6)


def test_larc_matches_apex_larc_around_torch_sgd():
  """apex LARC (clip=False): g <- (g + wd p) η||p|| / (||g|| + wd||p|| + 1e-8)
  for every parameter, then SGD with momentum: buf = μ buf + g, p -= lr buf.
  A zero gradient passes unchanged."""
  config = sgd_config(name="larc", weight_decay=1e-3, trust_coefficient=0.001,
                      exclude_bias_and_norm=False)
  lrs = [0.3, 0.6]
  tx = optim.make_optimizer(config, lambda step: jnp.asarray(lrs)[step])
  params = {"w": jnp.asarray([[0.5, -1.0], [2.0, 0.1]]), "b": jnp.asarray([0.3, -0.2])}
  grads = [{"w": jnp.asarray([[0.1, 0.2], [-0.3, 0.4]]), "b": jnp.zeros(2)},
           {"w": jnp.asarray([[-0.2, 0.1], [0.3, 0.5]]), "b": jnp.asarray([1.0, 2.0])}]
  state = tx.init(params)
  ref = {k: np.asarray(v, np.float64) for k, v in params.items()}
  buf = {k: np.zeros_like(v) for k, v in ref.items()}
  for lr, g in zip(lrs, grads):
    updates, state = tx.update(g, state, params)
    params = optax.apply_updates(params, updates)
    for k in ref:
      gk, pk = np.asarray(g[k], np.float64), ref[k]
      pn, gn = np.linalg.norm(pk), np.linalg.norm(gk)
      if pn > 0 and gn > 0:
        gk = (gk + 1e-3 * pk) * 0.001 * pn / (gn + 1e-3 * pn + 1e-8)
      buf[k] = 0.9 * buf[k] + gk
      ref[k] = pk - lr * buf[k]
  for k in ref:
    np.testing.assert_allclose(np.asarray(params[k]), ref[k], rtol=1e-6, atol=1e-8)
