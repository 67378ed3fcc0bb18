"""Every loss kernel against its NumPy reference: values, gradients,
degenerate inputs, one compilation per shape, and vmap."""
import dataclasses
from typing import Callable, Sequence, Tuple

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.test_util import check_grads

from ssl_jax import kernels as K
from tests import kernel_refs as R


@dataclasses.dataclass(frozen=True)
class Case:
  fn: Callable                      # jax kernel of the arrays
  ref: Callable                     # float64 NumPy reference
  shapes: Sequence[Tuple[int, ...]]
  grad_args: Tuple[int, ...] = (0,)  # arguments that receive gradients
  unit: Tuple[int, ...] = ()        # arguments stored L2-normalised (queues)
  rtol: float = 2e-4
  kinds: Tuple[str, ...] = ("random", "nearly_collapsed", "ill_conditioned")


N, D, Q, P = 16, 8, 24, 10


def _mae_mask(pred):
  """MAE's mask for [N, L, P] predictions: 1 (removed) for two patches in three."""
  n, l = pred.shape[:2]
  return (np.arange(n * l).reshape(n, l) % 3 != 1).astype(np.float32)

CASES = {
    "simclr_2views": Case(K.simclr_loss, R.simclr, [(2, N, D)]),
    "simclr_3views": Case(K.simclr_loss, R.simclr, [(3, N, D)]),
    "mocov2": Case(K.mocov2_loss, R.mocov2, [(N, D), (N, D), (Q, D)], unit=(2,)),
    "mocov3": Case(lambda q, k: K.mocov3_loss(q, k, temperature=0.2),
                   lambda q, k: R.mocov3(q, k, 0.2), [(N, D), (N, D)]),
    "byol": Case(K.byol_loss, R.byol, [(N, D), (N, D)]),
    "simsiam": Case(K.simsiam_loss, R.simsiam, [(N, D), (N, D)]),
    "swav": Case(K.swav_loss, R.swav, [(3, N, P)]),
    "mira": Case(K.mira_loss, R.mira_loss, [(4, N, P), (2, N, P)], rtol=5e-4),
    "barlow_twins": Case(K.barlow_twins_loss, R.barlow, [(N, D), (N, D)], grad_args=(0, 1),
                         kinds=("random", "ill_conditioned")),
    "vicreg": Case(K.vicreg_loss, R.vicreg, [(N, D), (N, D)], grad_args=(0, 1)),
    "vibcreg": Case(K.vibcreg_loss, R.vibcreg, [(N, D), (N, D)], grad_args=(0, 1)),
    "wmse": Case(lambda v: K.wmse_loss(v, whiten_size=8), lambda v: R.wmse(v, 8),
                 [(3, N, 4)], rtol=1e-3, kinds=("random", "nearly_collapsed")),
    "sce": Case(K.sce_loss, R.sce, [(N, D), (N, D), (Q, D)], unit=(2,)),
    "sce_in_batch": Case(lambda q, k, queue: K.sce_loss(q, k, queue, in_batch=True),
                         lambda q, k, queue: R.sce(q, k, queue, in_batch=True),
                         [(N, D), (N, D), (Q, D)], unit=(2,)),
    "nnclr": Case(K.nnclr_loss, R.nnclr, [(N, D), (N, D), (Q, D)], grad_args=(1,), unit=(2,)),
    "ressl": Case(K.ressl_loss, R.ressl, [(N, D), (N, D), (Q, D)], unit=(2,)),
    "mio": Case(K.mio_loss, R.mio_pairwise, [(N, D), (N, D)], grad_args=(0, 1)),
    "mio_sum": Case(lambda a, b: K.mio_loss(a, b, regularizer="sum"),
                    lambda a, b: R.mio_pairwise(a, b, regularizer="sum"), [(N, D), (N, D)],
                    grad_args=(0, 1)),
    "dino": Case(lambda s, t, c: K.dino_loss(s, t, c), R.dino, [(4, N, P), (2, N, P), (P,)]),
    "intl": Case(K.intl_loss, lambda v: _intl_ref(v), [(2, N, D)], rtol=1e-3,
                 kinds=("random", "nearly_collapsed")),
    "mae": Case(lambda p, t: K.mae_loss(p, t, _mae_mask(p)),
                lambda p, t: R.mae(p, t, _mae_mask(p)), [(4, 6, P), (4, 6, P)]),
    "mae_pixels": Case(lambda p, t: K.mae_loss(p, t, _mae_mask(p), norm_pix=False),
                       lambda p, t: R.mae(p, t, _mae_mask(p), norm_pix=False),
                       [(4, 6, P), (4, 6, P)]),
    # Nearly collapsed rows are 1e-3 apart: float32 distances between them
    # are good to ~1e-3 relative, which says nothing about the kernel.
    "koleo": Case(K.koleo_loss, R.koleo, [(N, D)], kinds=("random", "ill_conditioned")),
}


def _intl_ref(views):
  from tests.test_kernels_intl import _intl_np  # pylint: disable=g-import-not-at-top
  return _intl_np(views, None, 4, "batch")


def make_inputs(case: Case, kind: str, seed=0):
  rng = np.random.default_rng(seed)
  arrays = []
  for i, shape in enumerate(case.shapes):
    x = rng.normal(size=shape)
    if kind == "nearly_collapsed":
      x = rng.normal(size=shape[:-2] + (1, shape[-1])) + 1e-3 * x if len(shape) > 1 else x
    elif kind == "ill_conditioned":
      x = x * np.logspace(0, -3, shape[-1])
    elif kind == "constant":
      x = np.ones(shape)
    elif kind == "duplicated":
      x = np.repeat(x[..., :1, :], shape[-2], axis=-2) if len(shape) > 1 else x
    if i in case.unit:
      x = R.normalize(x)
    arrays.append(x)
  return arrays


@pytest.mark.parametrize("name", sorted(CASES))
@pytest.mark.parametrize("kind", ["random", "nearly_collapsed", "ill_conditioned"])
def test_value_matches_reference(name, kind):
  case = CASES[name]
  if kind not in case.kinds:
    pytest.skip(f"{name} is not defined for {kind} input")
  arrays = make_inputs(case, kind)
  got = float(jax.jit(case.fn)(*[jnp.asarray(a, jnp.float32) for a in arrays]))
  want = float(case.ref(*arrays))
  np.testing.assert_allclose(got, want, rtol=case.rtol, atol=case.rtol)


@pytest.mark.parametrize("name", sorted(set(CASES) - {"swav"}))
def test_float32_gradients_match_finite_differences(name):
  case = CASES[name]
  arrays = [jnp.asarray(a, jnp.float32) for a in make_inputs(case, "random", seed=1)]
  for arg in case.grad_args:
    def f(x, arg=arg):
      return case.fn(*[x if i == arg else a for i, a in enumerate(arrays)])
    check_grads(jax.jit(f), (arrays[arg],), order=1, modes=("rev",), atol=2e-2, rtol=2e-2,
                eps=2e-3)


def _reference_slope(ref, arrays, arg, direction, h=1e-3):
  """d/dt ref(..., x + t v, ...) at t = 0 in float64: the 5-point central
  difference at steps h and h/2 combined by Richardson extrapolation
  (truncation O(h^6), round-off ~1e-13 of the value)."""
  def f(t):
    return float(ref(*[a + t * direction if i == arg else a for i, a in enumerate(arrays)]))

  def five_point(step):
    return (f(-2 * step) - 8 * f(-step) + 8 * f(step) - f(2 * step)) / (12 * step)
  return (16 * five_point(h / 2) - five_point(h)) / 15


@pytest.mark.parametrize("name", sorted(CASES))
def test_float64_gradients_match_the_reference_to_1e10(name):
  """Under jax_enable_x64 the kernels compute in float64 (kernels.dtypes):
  the gradient's slope along random directions v equals the NumPy
  reference's to 1e-10 of ||grad|| (the typical size of <grad, v>).
  SwAV's reference holds the Sinkhorn codes constant, as SwAV detaches them."""
  case = CASES[name]
  arrays = make_inputs(case, "random", seed=2)
  ref = case.ref
  if name == "swav":
    ref = lambda scores: R.swav(scores, codes_from=arrays[0])
  with jax.enable_x64(True):
    for arg in case.grad_args:
      grad = np.asarray(jax.jit(jax.grad(case.fn, argnums=arg))(
          *[jnp.asarray(a, jnp.float64) for a in arrays]))
      rng = np.random.default_rng(arg)
      for _ in range(3):
        v = rng.normal(size=arrays[arg].shape)
        want = _reference_slope(ref, arrays, arg, v)
        assert abs(np.sum(grad * v) - want) <= 1e-10 * np.linalg.norm(grad), (name, arg)


def test_swav_gradient_treats_codes_as_constants():
  """Finite differences would move the Sinkhorn codes too; SwAV detaches them,
  so compare with the analytic gradient of the cross-entropy instead:
  d/ds_v of CE(q_a, softmax(s_v / T)) = (softmax(s_v / T) - q_a) / (T N)."""
  scores = make_inputs(CASES["swav"], "random", seed=3)[0] * 0.3
  v, n, _ = scores.shape
  got = np.asarray(jax.jit(jax.grad(K.swav_loss))(jnp.asarray(scores, jnp.float32)))
  want = np.zeros_like(scores)
  for a in (0, 1):
    codes = R.sinkhorn(scores[a])
    for o in range(v):
      if o != a:
        want[o] += (R.softmax(scores[o] / 0.1) - codes) / (0.1 * n) / (v - 1) / 2
  np.testing.assert_allclose(got, want, atol=2e-5, rtol=1e-3)


@pytest.mark.parametrize("name", sorted(CASES))
@pytest.mark.parametrize("kind", ["constant", "duplicated", "rank_deficient", "bf16"])
def test_finite_value_and_gradient_on_degenerate_input(name, kind):
  case = CASES[name]
  if kind == "rank_deficient":  # D > N: every covariance is singular
    case = dataclasses.replace(case, shapes=[s[:-2] + (4, 12) if len(s) > 1 else (12,)
                                             for s in case.shapes])
    if name in ("wmse",):
      case = dataclasses.replace(case, fn=K.wmse_loss)
    arrays = make_inputs(case, "random", seed=2)
  else:
    arrays = make_inputs(case, "random" if kind == "bf16" else kind, seed=2)
  dtype = jnp.bfloat16 if kind == "bf16" else jnp.float32
  arrays = [jnp.asarray(a, dtype) for a in arrays]
  value, grads = jax.jit(jax.value_and_grad(
      lambda *a: case.fn(*a), argnums=case.grad_args))(*arrays)
  assert np.isfinite(float(value)), (name, kind)
  for g in grads:
    assert np.all(np.isfinite(np.asarray(g, np.float32))), (name, kind)


@pytest.mark.parametrize("name", sorted(CASES))
def test_compiles_once_per_shape_and_vmaps(name):
  case = CASES[name]
  traces = []

  def counted(*a):
    traces.append(1)
    return case.fn(*a)

  f = jax.jit(counted)
  batches = [make_inputs(case, "random", seed=s) for s in range(3)]
  values = [float(f(*[jnp.asarray(a, jnp.float32) for a in arrays])) for arrays in batches]
  assert len(traces) == 1
  stacked = [jnp.asarray(np.stack(group), jnp.float32) for group in zip(*batches)]
  np.testing.assert_allclose(np.asarray(jax.vmap(case.fn)(*stacked)), values, rtol=1e-4)


@pytest.mark.parametrize("name", sorted(CASES))
@pytest.mark.parametrize("kind", ["random", "nearly_collapsed", "ill_conditioned"])
def test_float64_value_matches_reference_to_1e_10(name, kind):
  """Under jax_enable_x64 a kernel computes in float64, so it equals its
  float64 reference to rounding: formula errors float32 hides show here."""
  case = CASES[name]
  if kind not in case.kinds:
    pytest.skip(f"{name} is not defined for {kind} input")
  arrays = make_inputs(case, kind)
  with jax.enable_x64(True):
    got = jax.jit(case.fn)(*[jnp.asarray(a, jnp.float64) for a in arrays])
    assert got.dtype == jnp.float64
    np.testing.assert_allclose(float(got), float(case.ref(*arrays)), rtol=1e-10, atol=1e-12)



def test_byol_loss_of_nearly_equal_vectors_keeps_its_digits():
  """p and z 1e-4 apart: the loss is ~1e-8, which ``2 - 2 cos`` computes as
  pure round-off (0 in float32).  The reference is ``2 - 2 cos`` in
  extended precision (np.longdouble, 64-bit mantissa on x86)."""
  rng = np.random.default_rng(0)
  z = rng.normal(size=(N, D))
  p = z + 1e-4 * rng.normal(size=(N, D))
  unit = lambda x: x / np.sqrt(np.sum(x * x, 1, keepdims=True))
  pl, zl = unit(p.astype(np.longdouble)), unit(z.astype(np.longdouble))
  want = float(2 - 2 * np.mean(np.sum(pl * zl, 1)))
  assert 1e-9 < want < 1e-7
  with jax.enable_x64(True):
    got = float(jax.jit(K.byol_loss)(jnp.asarray(p), jnp.asarray(z)))
  np.testing.assert_allclose(got, want, rtol=1e-9)
  got32 = float(jax.jit(K.byol_loss)(jnp.asarray(p, jnp.float32), jnp.asarray(z, jnp.float32)))
  np.testing.assert_allclose(got32, want, rtol=0.1)
