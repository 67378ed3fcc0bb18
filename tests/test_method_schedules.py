"""What methods change over training: frozen and renormalised prototypes,
MIRA's β annealing, SCE's τ_m warm-up."""
import math

import jax
import jax.numpy as jnp
import numpy as np
from ml_collections import ConfigDict

from ssl_jax import sharding
from ssl_jax.data import pipeline
from ssl_jax.methods import build_method
from tests import helpers, kernel_refs as R
from tests.method_configs import TINY


def _method(name, steps_per_epoch=10, total_steps=20, **overrides):
  config = ConfigDict({"name": name, **TINY[name], **overrides})
  return build_method(config, total_steps=total_steps, steps_per_epoch=steps_per_epoch)


def test_swav_prototypes_are_unit_rows_frozen_for_their_steps_then_trained():
  method = _method("swav", freeze_prototypes_epochs=0.2)  # 2 steps of 10
  _, _, step, init = helpers.tiny_setup(method, total_steps=20, view_set=helpers.PLAIN_VIEWS)
  mesh = sharding.make_mesh()
  fn = sharding.jit_train_step(step, mesh, donate=False)
  state = jax.jit(init, out_shardings=sharding.replicated(mesh))(jax.random.key(0))
  start = np.asarray(state.params["prototypes"]["kernel"])
  assert not np.allclose(np.linalg.norm(start, axis=1), 1.0, atol=1e-3)
  batches = pipeline.train_batches(helpers.tiny_split(64), helpers.PLAIN_VIEWS, 32, 0, 0)
  kernels = []
  for _ in range(3):
    state, _ = fn(state, sharding.to_global(next(batches), mesh), jax.random.key(1))
    kernels.append(np.asarray(state.params["prototypes"]["kernel"]))
  # Steps 1 and 2: renormalised before the step, then held.
  for k in kernels[:2]:
    np.testing.assert_allclose(k, R.normalize(start), rtol=1e-6, atol=1e-7)
  assert not np.allclose(kernels[2], kernels[1], atol=1e-6)  # step 3 trains them
  assert method.frozen_parts(jnp.int32(1))["prototypes"]
  assert not method.frozen_parts(jnp.int32(2))["prototypes"]


def test_mira_beta_is_cosine_annealed_from_start_to_end():
  method = _method("mira", total_steps=100, beta_start=0.75, beta_end=2.0 / 3.0)
  rng = np.random.default_rng(0)
  logits = {"logits": jnp.asarray(rng.normal(size=(2, 8, 20)), jnp.float32)}
  for step in (0, 25, 50, 100, 150):
    _, aux = method.loss(logits, logits, method.init_state(jax.random.key(0), 16),
                         jnp.int32(step), jax.random.key(1))
    progress = min(step / 100, 1.0)
    want = 2 / 3 - (2 / 3 - 0.75) * 0.5 * (1 + math.cos(math.pi * progress))
    np.testing.assert_allclose(float(aux.metrics["mira_beta"]), want, rtol=1e-6)


def test_sce_target_temperature_warms_up_by_cosine_then_holds():
  method = _method("sce", temperature_m_start=0.2, temperature_m=0.05,
                   temperature_m_warmup_epochs=1.0)  # 10 steps
  for step in (0, 3, 9, 10, 30):
    want = 0.05 if step >= 10 else 0.05 - (0.05 - 0.2) * 0.5 * (1 + math.cos(math.pi * step / 9))
    np.testing.assert_allclose(float(method._temperature_m(jnp.int32(step))), want,  # pylint: disable=protected-access
                               rtol=1e-6)
  assert float(method._temperature_m(jnp.int32(0))) == np.float32(0.2)  # pylint: disable=protected-access


def test_ema_momentum_anneals_to_one_unless_held_constant():
  """BYOL's cosine from the base momentum to 1, or MoCo v2's official
  constant momentum (ema_anneal=False); no teacher, no schedule."""
  cosine = _method("mocov2").ema_schedule(100)
  constant = _method("mocov2", ema_anneal=False).ema_schedule(100)
  got = [(float(cosine(s)), float(constant(s))) for s in (0, 50, 100)]
  np.testing.assert_allclose(got, [(0.9, 0.9), (0.95, 0.9), (1.0, 0.9)], rtol=1e-6)
  assert _method("simclr").ema_schedule(100) is None
