"""The papers' identities and invariants, and global-batch semantics on 8 devices."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.sharding import NamedSharding, PartitionSpec as P

from ssl_jax import kernels as K
from ssl_jax import sharding
from tests import kernel_refs as R


def _rows(x):
  return jax.device_put(jnp.asarray(x, jnp.float32), NamedSharding(sharding.make_mesh(),
                                                                  P("data")))


def test_sinkhorn_matches_reference_and_its_marginals():
  rng = np.random.default_rng(0)
  scores = 0.05 * rng.normal(size=(64, 12))
  q = np.asarray(jax.jit(K.sinkhorn_knopp)(jnp.asarray(scores, jnp.float32)))
  np.testing.assert_allclose(q, R.sinkhorn(scores), rtol=1e-4)
  np.testing.assert_allclose(q.sum(1), 1.0, rtol=1e-5)  # every sample is assigned
  q = np.asarray(K.sinkhorn_knopp(jnp.asarray(scores, jnp.float32), num_iters=100))
  np.testing.assert_allclose(q.sum(0), 64 / 12, rtol=1e-3)  # equipartition


def test_sinkhorn_scaling_and_log_domain_forms_agree_on_cosine_scores():
  from ssl_jax.kernels import sinkhorn  # pylint: disable=g-import-not-at-top
  rng = np.random.default_rng(3)
  z = rng.normal(size=(96, 16))
  p = rng.normal(size=(40, 16))
  scores = jnp.asarray((z / np.linalg.norm(z, axis=1, keepdims=True))
                       @ (p / np.linalg.norm(p, axis=1, keepdims=True)).T, jnp.float32)
  fast = sinkhorn._scaled(scores, 0.05, 3)  # pylint: disable=protected-access
  slow = sinkhorn._log_domain(scores, 0.05, 3)  # pylint: disable=protected-access
  np.testing.assert_allclose(np.asarray(fast), np.asarray(slow), rtol=2e-4, atol=1e-7)
  np.testing.assert_allclose(np.asarray(fast), R.sinkhorn(np.asarray(scores)), rtol=2e-4,
                             atol=1e-7)


def test_sinkhorn_is_finite_and_exact_for_huge_scores():
  rng = np.random.default_rng(1)
  scores = rng.uniform(-20, 20, size=(32, 10))  # |S| / ε up to 400
  q = np.asarray(jax.jit(K.sinkhorn_knopp)(jnp.asarray(scores, jnp.float32)))
  assert np.all(np.isfinite(q))
  np.testing.assert_allclose(q, R.sinkhorn(scores), atol=1e-5)
  for fn in (lambda s: K.swav_loss(s[None].repeat(2, 0)),
             lambda s: K.mira_loss(s[None].repeat(3, 0), s[None].repeat(2, 0))):
    value, grad = jax.jit(jax.value_and_grad(fn))(jnp.asarray(scores, jnp.float32))
    assert np.isfinite(float(value)) and np.all(np.isfinite(np.asarray(grad)))


def test_sinkhorn_marginals_are_over_the_global_batch():
  scores = 0.05 * np.random.default_rng(2).normal(size=(64, 12))
  sharded = jax.jit(K.sinkhorn_knopp)(_rows(scores))
  np.testing.assert_allclose(np.asarray(sharded), R.sinkhorn(scores), rtol=1e-4)


def test_mira_targets_match_the_official_iteration():
  logits = np.random.default_rng(3).uniform(-1, 1, size=(48, 10))
  for beta in (0.75, 2 / 3, 0.3):
    got = np.asarray(K.mira_targets(jnp.asarray(logits, jnp.float32), beta=beta))
    np.testing.assert_allclose(got, R.mira(logits, beta=beta), rtol=2e-4, atol=1e-6)


def test_mira_fixed_point_satisfies_the_optimality_condition():
  """w_ij ∝ p_ij^{1/(1-β)} w̄_j^{-β/(1-β)}, p = softmax(l / τ) (KKT of MIRA's objective)."""
  logits = np.random.default_rng(4).uniform(-1, 1, size=(64, 10))
  tau, beta = 0.225, 2 / 3
  w = np.asarray(K.mira_targets(jnp.asarray(logits, jnp.float32), tau, beta, iters=300),
                 np.float64)
  p = R.softmax(logits / tau)
  rhs = p ** (1 / (1 - beta)) * w.mean(0) ** (-beta / (1 - beta))
  np.testing.assert_allclose(w, rhs / rhs.sum(1, keepdims=True), rtol=1e-4, atol=1e-7)


def test_mira_iteration_converges_geometrically():
  logits = np.random.default_rng(5).uniform(-1, 1, size=(64, 10))
  final = R.mira(logits, iters=400)
  errors = np.array([np.abs(R.mira(logits, iters=t) - final).max() for t in range(1, 26)])
  ratios = errors[1:] / errors[:-1]
  assert np.all(ratios < 1.0), ratios           # a contraction ...
  assert ratios.max() < 0.95                    # ... with a factor bounded below 1
  jax_errors = [float(jnp.abs(K.mira_targets(jnp.asarray(logits, jnp.float32), iters=t)
                              - final).max()) for t in (1, 5, 25)]
  assert jax_errors[0] > jax_errors[1] > jax_errors[2]


def test_mira_column_means_are_over_the_global_batch():
  logits = np.random.default_rng(6).uniform(-1, 1, size=(64, 10))
  got = jax.jit(K.mira_targets)(_rows(logits))
  np.testing.assert_allclose(np.asarray(got), R.mira(logits), rtol=2e-4, atol=1e-6)


def test_sce_proposition_1_decomposition():
  """In-batch SCE = λ InfoNCE + (1 - λ) (ReSSL + Ceil), SCE supplement Prop. 1."""
  rng = np.random.default_rng(7)
  q, k = R.normalize(rng.normal(size=(12, 6))), R.normalize(rng.normal(size=(12, 6)))
  lam, tau, tau_m = 0.3, 0.1, 0.07
  logits = q @ k.T / tau
  logp = R.log_softmax(logits)
  off = ~np.eye(12, dtype=bool)
  infonce = -np.mean(np.diag(logp))
  s = R.softmax(np.where(off, k @ k.T / tau_m, -np.inf))
  logp_off = logits - np.log(np.where(off, np.exp(logits), 0).sum(1, keepdims=True))
  ressl = -np.mean(np.sum(np.where(off, s * logp_off, 0.0), 1))
  ceil = -np.mean(np.log(np.where(off, np.exp(logits), 0).sum(1) / np.exp(logits).sum(1)))
  got = float(K.sce_loss(jnp.asarray(q, jnp.float32), jnp.asarray(k, jnp.float32), None,
                         lam=lam, temperature=tau, temperature_m=tau_m, in_batch=True))
  np.testing.assert_allclose(got, lam * infonce + (1 - lam) * (ressl + ceil), rtol=1e-5)


def test_sce_target_gives_the_positive_a_zero_logit_not_a_mask():
  """With λ = 0 the target is softmax([0 | k·queue] / τ_m): the positive keeps mass."""
  rng = np.random.default_rng(8)
  q, k = rng.normal(size=(4, 6)), rng.normal(size=(4, 6))
  queue = R.normalize(rng.normal(size=(5, 6)))
  got = float(K.sce_loss(jnp.asarray(q, jnp.float32), jnp.asarray(k, jnp.float32),
                         jnp.asarray(queue, jnp.float32), lam=0.0))
  qn, kn = R.normalize(q), R.normalize(k)
  w = R.softmax(np.concatenate([np.zeros((4, 1)), kn @ queue.T], 1) / 0.07)
  assert w[:, 0].min() > 0
  logits = np.concatenate([(qn * kn).sum(1, keepdims=True), qn @ queue.T], 1) / 0.1
  np.testing.assert_allclose(got, -np.mean(np.sum(w * R.log_softmax(logits), 1)), rtol=1e-5)


def test_mio_eq5_pair_by_pair_equals_eq4():
  rng = np.random.default_rng(9)
  z1, z2 = rng.normal(size=(20, 8)), rng.normal(size=(20, 8))
  for tp, tn in ((0.5, 0.5), (0.3, 0.7)):
    got = float(K.mio_loss(jnp.asarray(z1, jnp.float32), jnp.asarray(z2, jnp.float32),
                           tp, tn, lam=0.0))
    np.testing.assert_allclose(got, R.mio_pairwise(z1, z2, tp, tn, lam=0.0), rtol=1e-5)


@pytest.mark.parametrize("kind", ["random", "ill_conditioned"])
def test_cholesky_whitening_gives_identity_covariance(kind):
  rng = np.random.default_rng(10)
  z = rng.normal(size=(256, 16)) @ rng.normal(size=(16, 16))
  if kind == "ill_conditioned":
    z = z * np.logspace(0, -2, 16)
  w = np.asarray(K.cholesky_whiten(jnp.asarray(z, jnp.float32)), np.float64)
  np.testing.assert_allclose(np.cov(w.T), np.eye(16), atol=2e-3)
  np.testing.assert_allclose(w, R.cholesky_whiten(z), atol=2e-3)


def test_cholesky_fallback_only_acts_on_singular_covariance():
  rng = np.random.default_rng(11)
  z = jnp.asarray(rng.normal(size=(64, 8)), jnp.float32)
  np.testing.assert_array_equal(np.asarray(K.cholesky_whiten(z, jitter=1e-4)),
                                np.asarray(K.cholesky_whiten(z, jitter=0.5)))
  singular = jnp.asarray(rng.normal(size=(6, 8)), jnp.float32)  # D > N
  assert np.all(np.isfinite(np.asarray(K.cholesky_whiten(singular))))


def test_cholesky_fallback_jvp_is_the_factor_jvp_with_the_shift_held_constant():
  """The hand-written JVP (one factorisation on the usual path) against
  jnp.linalg.cholesky's own: of C when C factorises, of C + δ I with δ fixed
  when it does not."""
  from ssl_jax.kernels.whitening import _cholesky_with_fallback
  rng = np.random.default_rng(14)
  a = rng.normal(size=(8, 8))
  dc = rng.normal(size=(8, 8))
  singular = rng.normal(size=(8, 6)) @ rng.normal(size=(6, 8))
  singular = singular @ singular.T  # rank 6
  for c, shift in ((a @ a.T + 0.1 * np.eye(8), 0.0),
                   (singular, 0.5 * np.trace(singular) / 8)):
    c, t = jnp.asarray(c, jnp.float32), jnp.asarray(dc + dc.T, jnp.float32)
    got = jax.jvp(lambda m: _cholesky_with_fallback(m, 0.5), (c,), (t,))
    want = jax.jvp(lambda m: jnp.linalg.cholesky(m + shift * jnp.eye(8)), (c,), (t,))
    for g, w in zip(got, want):
      np.testing.assert_allclose(np.asarray(g), np.asarray(w), rtol=1e-3, atol=1e-4)


def test_contrastive_labels_are_global_across_devices():
  rng = np.random.default_rng(12)
  views = rng.normal(size=(2, 32, 8))
  q, k = rng.normal(size=(32, 8)), rng.normal(size=(32, 8))
  mesh = sharding.make_mesh()
  by_rows = NamedSharding(mesh, P(None, "data"))
  sharded_views = jax.device_put(jnp.asarray(views, jnp.float32), by_rows)
  np.testing.assert_allclose(float(jax.jit(K.simclr_loss)(sharded_views)),
                             R.simclr(views), rtol=1e-5)
  np.testing.assert_allclose(float(jax.jit(K.mocov3_loss)(_rows(q), _rows(k))),
                             R.mocov3(q, k), rtol=1e-5)


def test_dino_center_update_is_an_ema_of_the_teacher_mean():
  rng = np.random.default_rng(13)
  teacher = rng.normal(size=(2, 16, 5))
  center = rng.normal(size=5)
  got = np.asarray(K.dino_center_update(jnp.asarray(center, jnp.float32),
                                        jnp.asarray(teacher, jnp.float32), 0.9))
  np.testing.assert_allclose(got, 0.9 * center + 0.1 * teacher.reshape(-1, 5).mean(0),
                             rtol=1e-5)


@pytest.mark.parametrize("update", [K.dino_center_update, K.ibot_patch_center_update])
def test_a_centre_update_on_8_devices_reduces_without_gathering_the_logits(update):
  """Teacher logits [V, N, ..., K] split over N: the mean is one all-reduce
  of K numbers, not every device's logits gathered onto each."""
  rng = np.random.default_rng(14)
  teacher = rng.normal(size=(2, 16, 3, 5)).astype(np.float32)
  if update is K.dino_center_update:
    teacher = teacher[:, :, 0]
  split = jax.device_put(teacher, NamedSharding(sharding.make_mesh(), P(None, "data")))
  center = jnp.zeros(5)
  fn = jax.jit(update, static_argnums=2)
  np.testing.assert_allclose(np.asarray(fn(center, split, 0.9)),
                             0.1 * teacher.reshape(-1, 5).mean(0), rtol=1e-5, atol=1e-7)
  assert "all-gather" not in fn.lower(center, split, 0.9).compile().as_text()


def test_wmse_gradient_reaches_both_views_symmetrically():
  """The official norm_mse_loss has no stop-gradient: swapping the views
  swaps the gradients."""
  views = jnp.asarray(np.random.default_rng(5).normal(size=(2, 32, 4)), jnp.float32)
  grad_fn = jax.jit(jax.grad(K.wmse_loss))
  grad, swapped = grad_fn(views), grad_fn(views[::-1])
  assert float(jnp.abs(grad[1]).max()) > 0
  np.testing.assert_allclose(np.asarray(grad), np.asarray(swapped[::-1]), rtol=1e-4, atol=1e-6)


def test_wmse_simplified_variant_stops_the_gradient_into_the_second_view_only():
  """solo-learn's simplified loss: the same value; no gradient into the last
  view (never first in a pair), the first view's gradient unchanged when it
  is first in every pair it is in."""
  views = jnp.asarray(np.random.default_rng(6).normal(size=(3, 32, 4)), jnp.float32)
  full = jax.value_and_grad(K.wmse_loss)(views)
  simplified = jax.value_and_grad(lambda v: K.wmse_loss(v, detach_second=True))(views)
  np.testing.assert_allclose(float(simplified[0]), float(full[0]), rtol=1e-6)
  assert float(jnp.abs(simplified[1][2]).max()) == 0.0
  assert float(jnp.abs(simplified[1][1]).max()) > 0
  two = views[:2]
  full_grad = jax.grad(K.wmse_loss)(two)
  simple_grad = jax.grad(lambda v: K.wmse_loss(v, detach_second=True))(two)
  first_only = jax.grad(lambda a: K.wmse_loss(jnp.stack([a, two[1]])))(two[0])
  np.testing.assert_allclose(np.asarray(simple_grad[0]), np.asarray(first_only),
                             rtol=1e-5, atol=1e-7)
  assert float(jnp.abs(simple_grad[1]).max()) == 0.0 < float(jnp.abs(full_grad[1]).max())


def test_no_gradient_reaches_the_dino_centre():
  rng = np.random.default_rng(14)
  student, teacher = rng.normal(size=(4, 8, 5)), rng.normal(size=(2, 8, 5))
  grad = jax.grad(lambda c: K.dino_loss(jnp.asarray(student), jnp.asarray(teacher), c))(
      jnp.asarray(rng.normal(size=5), jnp.float32))
  assert float(jnp.abs(grad).max()) == 0.0

