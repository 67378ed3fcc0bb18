"""The sharded train step: guards, tracing, prefetch.

Every method's training, teacher update, state and 8-device = 1-device
equivalence are tested in test_methods.py."""
import dataclasses

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from ssl_jax import sharding
from ssl_jax.methods import intl
from ssl_jax.methods.base import LossAux
from tests import helpers

PROJ = dict(hidden_dim=32, out_dim=16, num_layers=2)


@pytest.fixture(scope="module")
def split():
  return helpers.tiny_split(64)


@dataclasses.dataclass(frozen=True)
class _NaNAfterFirst(intl.INTL):
  """INTL whose loss becomes NaN from step 1 on (to exercise the guard)."""

  def loss(self, online, target, state, step, rng):
    loss, aux = super().loss(online, target, state, step, rng)
    return jnp.where(step >= 1, jnp.nan, loss), LossAux({"count": state["count"] + 1},
                                                        aux.metrics)

  def init_state(self, rng, dim):
    return {"count": jnp.zeros((), jnp.int32)}


def test_non_finite_step_is_skipped_and_counted(split):
  base = intl.make(PROJ)
  method = _NaNAfterFirst(head=base.head)
  _, _, step, init = helpers.tiny_setup(method, view_set=helpers.PLAIN_VIEWS)
  mesh = sharding.make_mesh()
  fn = jax.jit(step)
  state = jax.jit(init)(jax.random.key(0))
  batch = sharding.to_global(helpers.host_batch(split, 0, 16, helpers.PLAIN_VIEWS), mesh)
  state, _ = fn(state, batch, jax.random.key(1))
  assert int(state.skipped_steps) == 0 and int(state.method_state["count"]) == 1
  before = state
  state, metrics = fn(state, batch, jax.random.key(1))
  assert int(state.skipped_steps) == 1 and int(metrics["skipped_steps"]) == 1
  assert int(state.step) == 2
  helpers.assert_trees_close(state.params, before.params, rtol=0, atol=0)
  helpers.assert_trees_close(state.opt_state, before.opt_state, rtol=0, atol=0)
  assert int(state.method_state["count"]) == 1
  # The guard is computed once: folded into every leaf's select it cost
  # about 70 ands per leaf here and a third of the step's compile time.
  compiled = fn.lower(state, batch, jax.random.key(1)).compile().as_text()
  assert compiled.count(" and(") < 2 * len(jax.tree.leaves(state))


def test_step_traces_once_and_moves_nothing_implicitly(split):
  method = intl.make(PROJ)
  _, _, step, init = helpers.tiny_setup(method, view_set=helpers.PLAIN_VIEWS)
  mesh = sharding.make_mesh()
  repl = sharding.replicated(mesh)
  fn = sharding.jit_train_step(chex.assert_max_traces(step, n=1), mesh)
  state = jax.jit(init, out_shardings=repl)(jax.random.key(0))
  rng = jax.device_put(jax.random.key(1), repl)
  for s in range(3):
    host = helpers.host_batch(split, s, 16, helpers.PLAIN_VIEWS)
    old = state
    # The batch is the one intended host-to-device copy; nothing else moves.
    with jax.transfer_guard("disallow"):
      state, _ = fn(state, sharding.to_global(host, mesh), rng)
    # Donated: every buffer of the old state was handed to the new one.
    assert all(x.is_deleted() for x in jax.tree.leaves(old))
  assert int(state.step) == 3


def test_prefetch_to_device_keeps_order_and_reads_only_ahead():
  mesh = sharding.make_mesh()
  read = []

  def host_batches():
    for i in range(5):
      read.append(i)
      yield {"x": np.full((8, 2), i, np.float32)}

  stream = sharding.prefetch_to_device(host_batches(), mesh, size=2)
  first = next(stream)
  assert read == [0, 1, 2]  # two batches ahead of the one handed out
  assert first["x"].sharding.spec == sharding.batch_sharded(mesh).spec
  rest = [int(b["x"][0, 0]) for b in stream]
  assert [int(first["x"][0, 0])] + rest == [0, 1, 2, 3, 4]


def test_all_pooling_over_two_sizes_runs_the_heads_once_on_every_view():
  """bn_pooling="all" with 16 px and 8 px views (SwAV's, DeepCluster v2's
  and DINO's multi-crop model): the backbone pools its statistics per size,
  the projector over all four views, so its first BatchNorm's running mean
  moves once, by the mean over every view's hidden activations."""
  from ssl_jax.models import HeadSpec, MLPSpec, ResNet, SSLModel  # pylint: disable=g-import-not-at-top
  from ssl_jax.models.resnet import BasicBlock  # pylint: disable=g-import-not-at-top
  from ssl_jax.train.step import encode_views  # pylint: disable=g-import-not-at-top
  model = SSLModel(ResNet(stage_sizes=(1, 1), block=BasicBlock, width=0.0625, stem="cifar"),
                   HeadSpec(MLPSpec(16, 8, 2)))
  rng = np.random.default_rng(0)
  views = [jnp.asarray(rng.normal(size=(6, s, s, 3)), jnp.float32) for s in (16, 16, 8, 8)]
  variables = jax.jit(model.init)(jax.random.key(0), jnp.stack(views[:2]))
  params, stats = variables["params"], variables["batch_stats"]
  encode = jax.jit(lambda vs: encode_views(model, params, stats, vs, bn_pooling="all"))
  out, new = encode(views)
  hidden = (np.asarray(out["features"]).reshape(24, -1)
            @ np.asarray(params["projector"]["linear1"]["kernel"]))
  start = np.asarray(stats["projector"]["bn1"]["mean"])
  np.testing.assert_allclose(np.asarray(new["projector"]["bn1"]["mean"]),
                             0.9 * start + 0.1 * hidden.mean(0), rtol=1e-4, atol=1e-6)
  small, _ = encode(views[2:])  # the backbone's statistics: per size
  np.testing.assert_allclose(np.asarray(out["features"][2:]), np.asarray(small["features"]),
                             rtol=1e-5, atol=1e-6)
  assert not np.allclose(np.asarray(out["projection"][2:]), np.asarray(small["projection"]),
                         atol=1e-3)
