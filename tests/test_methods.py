"""Every registered method trains over views of mixed sizes on 8 devices:
the same first step as on one device at an eighth of its work per device,
finite values, teacher untouched by
gradients, loss going down, method state surviving a checkpoint."""
import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from ml_collections import ConfigDict

from ssl_jax import kernels, sharding
from ssl_jax.checkpoint import Checkpointer, abstract_state
from ssl_jax.data import pipeline
from ssl_jax.methods import METHODS, Method, build_method
from ssl_jax.models import HeadSpec, MLPSpec, PrototypeSpec
from ssl_jax.models.block_masking import BlockMaskSpec
from ssl_jax.models.decoder import DecoderSpec
from ssl_jax.registry import ConfigError
from tests import helpers, kernel_refs
from tests.method_configs import LEARNING_RATE, TINY, method_name

STEPS, BATCH, EXAMPLES = 20, 32, 128


def test_every_registered_method_has_a_tiny_config():
  assert set(METHODS) == {method_name(k) for k in TINY}


def _build(key):
  config = ConfigDict({"name": method_name(key), **TINY[key]})
  return build_method(config, total_steps=STEPS, steps_per_epoch=10, num_examples=EXAMPLES)


@pytest.fixture(scope="module")
def split():
  return helpers.tiny_split(EXAMPLES)


def _flops_per_device(fn, *args):
  """XLA's count of the floating-point operations one device runs in
  ``fn(*args)`` (the compile comes from the jit cache)."""
  cost = fn.lower(*args).compile().cost_analysis()
  return (cost[0] if isinstance(cost, list) else cost)["flops"]


def _assert_one_device_agrees(step, start, batch, after, rtol=1e-4, atol=1e-6):
  """The same step from the same start on one device gives ``after`` (the
  8-device state): losses, cross-device BatchNorm, queues and teachers do
  not depend on how the batch is split.  Returns the one-device step's
  FLOPs."""
  one = sharding.make_mesh(jax.devices()[:1])
  fn = sharding.jit_train_step(step, one, donate=False)
  args = (jax.device_put(start, sharding.replicated(one)), sharding.to_global(batch, one),
          jax.random.key(1))
  state, _ = fn(*args)
  for part in ("params", "batch_stats", "ema_params", "ema_batch_stats", "method_state"):
    helpers.assert_trees_close(getattr(state, part), getattr(after, part), rtol, atol)
  return _flops_per_device(fn, *args)


@pytest.mark.parametrize("key", sorted(TINY))
def test_method_trains(key, split, tmp_path):
  """20 steps on 8 devices over 2 x 16 px + 2 x 8 px views; the first
  equals one device's."""
  assert jax.device_count() == 8
  method = _build(key)
  views = helpers.MULTICROP_VIEWS
  _, _, step, init = helpers.tiny_setup(method, total_steps=STEPS,
                                        lr=LEARNING_RATE.get(key, 0.1), view_set=views)
  mesh = sharding.make_mesh()
  repl = sharding.replicated(mesh)
  fn = sharding.jit_train_step(step, mesh, donate=False)  # compares states across steps
  state = jax.jit(init, out_shardings=repl)(jax.random.key(0))
  batches = pipeline.train_batches(split, views, BATCH, 0, 0)
  initial = state
  for i in range(STEPS):
    before, batch = state, next(batches)
    state, metrics = fn(state, sharding.to_global(batch, mesh), jax.random.key(1))
    assert np.isfinite(float(metrics["loss"])), key
    assert np.isfinite(float(metrics["grad_norm"])), key
    if i == 0:
      one_device_flops = _assert_one_device_agrees(step, initial, batch, state)
      # Data parallel: each device runs the networks on its eighth of the
      # batch.  What stays replicated is small: losses over gathered
      # embeddings, DeepCluster v2's k-means over its memory bank (0.41 of
      # one device's FLOPs here, the others 0.13-0.15).  A batch axis merged
      # view-major made XLA gather the batch and run it all on every device.
      flops = _flops_per_device(fn, before, sharding.to_global(batch, mesh), jax.random.key(1))
      assert flops < 0.5 * one_device_flops, (key, flops, one_device_flops)
  assert int(state.skipped_steps) == 0
  # The loss went down: the same batch, key, method state (the final queue,
  # for queue methods, which fills with real keys as training starts) and
  # teacher (the final one: DINO's targets sharpen as it trains, so its loss
  # against a moving teacher need not fall) score lower under the trained
  # online network than under the initial one.
  probe = sharding.to_global(next(batches), mesh)
  final = dict(method_state=state.method_state, ema_params=state.ema_params,
               ema_batch_stats=state.ema_batch_stats)
  loss_at = lambda s: float(fn(s.replace(**final), probe, jax.random.key(2))[1]["loss"])
  assert loss_at(state) < loss_at(initial), (key, loss_at(state), loss_at(initial))

  if method.uses_target:  # the teacher moved only by the EMA / copy rule
    m = float(metrics["ema_momentum"])
    for part, value in before.ema_params.items():
      want = (state.params[part] if part in method.copied_teacher_parts else
              jax.tree.map(lambda e, p: m * e + (1 - m) * p, value, state.params[part]))
      helpers.assert_trees_close(state.ema_params[part], want, rtol=1e-5, atol=1e-6)
    assert "predictor" not in state.ema_params

  checkpointer = Checkpointer(str(tmp_path / "ckpt"))
  checkpointer.save(STEPS, state)
  checkpointer.wait()
  _, restored = checkpointer.restore(abstract_state(init, jax.random.key(0), sharding=repl))
  checkpointer.close()
  for a, b in zip(jax.tree.leaves(state), jax.tree.leaves(restored)):
    np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
  if "queue" in state.method_state:  # the queue holds real keys now, not its start
    fresh = jax.jit(init, out_shardings=repl)(jax.random.key(0)).method_state["queue"]
    assert not np.allclose(np.asarray(restored.method_state["queue"]), np.asarray(fresh))


@pytest.mark.parametrize("key", ["intl", "wmse", "swav", "mira"])
def test_bfloat16_training_keeps_the_special_kernels_finite(key, split):
  """precision=bfloat16 runs the backbone and heads in bf16; whitening,
  Sinkhorn and MIRA's fixed point upcast to fp32 and stay finite."""
  method = _build(key)
  _, _, step, init = helpers.tiny_setup(method, total_steps=STEPS, lr=0.1,
                                        view_set=helpers.PLAIN_VIEWS, dtype=jnp.bfloat16)
  state, history = helpers.run_steps(step, init, split, 4, BATCH, sharding.make_mesh())
  assert all(np.isfinite(m["loss"]) for m in history)
  assert int(state.skipped_steps) == 0
  assert all(x.dtype == jnp.float32 for x in jax.tree.leaves(state.params))


def test_mira_without_a_teacher_labels_with_its_own_global_crops():
  """Algorithm 1 of the MIRA appendix: no EMA; the online logits of the two
  global crops make the targets, and no gradient flows through them."""
  config = ConfigDict({"name": "mira", **TINY["mira"], "ema_momentum": None})
  method = build_method(config, total_steps=STEPS, steps_per_epoch=10)
  assert not method.uses_target
  logits = jnp.tanh(jax.random.normal(jax.random.key(0), (3, 16, 20)))  # cosine range
  end = jnp.int32(STEPS)  # β has reached beta_end

  def loss(s):
    return method.loss({"logits": s}, None, {}, end, jax.random.key(1))[0]

  taus = dict(tau_s=method.tau_s, tau_t=method.tau_t, beta=method.beta_end)
  want = kernel_refs.mira_loss(np.asarray(logits), np.asarray(logits[:2]), **taus)
  np.testing.assert_allclose(float(jax.jit(loss)(logits)), want, rtol=1e-4)
  fixed_targets = lambda s: kernels.mira_loss(s, logits[:2], **taus)
  np.testing.assert_allclose(np.asarray(jax.jit(jax.grad(loss))(logits)),
                             np.asarray(jax.jit(jax.grad(fixed_targets))(logits)),
                             rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("key", sorted(TINY))
def test_every_method_takes_a_koleo_weight(key):
  config = ConfigDict({"name": method_name(key), **TINY[key], "koleo_weight": 0.25})
  assert build_method(config, STEPS, 10, EXAMPLES).koleo_weight == 0.25
  with pytest.raises(ConfigError, match="koleo_weight must be >= 0"):
    build_method(ConfigDict({**config.to_dict(), "koleo_weight": -1.0}), STEPS, 10, EXAMPLES)


def test_koleo_weight_adds_the_uniformity_of_the_embedding():
  """objective = loss + w * mean over views of KoLeo(projection[v])."""
  method = build_method(ConfigDict({"name": "simclr", **TINY["simclr"], "koleo_weight": 0.5}),
                        STEPS, 10)
  rng = np.random.default_rng(0)
  online = {"projection": jnp.asarray(rng.normal(size=(2, 16, 8)), jnp.float32),
            "features": jnp.asarray(rng.normal(size=(2, 16, 12)), jnp.float32)}
  args = (online, None, {}, jnp.int32(0), jax.random.key(0))
  total, aux = method.objective(*args)
  loss, _ = method.loss(*args)
  koleo = np.mean([kernel_refs.koleo(np.asarray(online["projection"][v])) for v in range(2)])
  np.testing.assert_allclose(float(aux.metrics["koleo"]), koleo, rtol=1e-4)
  np.testing.assert_allclose(float(total), float(loss) + 0.5 * koleo, rtol=1e-5)
  plain = build_method(ConfigDict({"name": "simclr", **TINY["simclr"]}), STEPS, 10)
  assert float(plain.objective(*args)[0]) == float(loss)
  assert "koleo" not in plain.objective(*args)[1].metrics


@pytest.mark.parametrize("name", ["byol", "mocov2", "mocov3", "sce"])
def test_a_method_whose_loss_reads_a_teacher_refuses_to_build_without_one(name):
  config = ConfigDict({"name": name, **TINY[name]})
  config.ema_momentum = None
  with pytest.raises(ConfigError, match="needs an EMA teacher: set ema_momentum"):
    build_method(config, total_steps=10, steps_per_epoch=10)


def _method_classes():
  found, todo = [], [Method]
  while todo:
    for sub in todo.pop().__subclasses__():
      found.append(sub)
      todo.append(sub)
  return [cls for cls in found if cls.__module__.startswith("ssl_jax.")]


def test_every_method_class_builds_a_valid_object_from_its_defaults_and_a_full_head():
  """Defaults are a recipe (a method that needs a teacher defaults to its
  momentum); a head missing a part the loss reads is refused by name."""
  full = HeadSpec(projector=MLPSpec(hidden_dim=8, out_dim=4, hidden_bn=False),
                  predictor=MLPSpec(hidden_dim=8, out_dim=4), prototypes=PrototypeSpec(6),
                  decoder=DecoderSpec(dim=8, depth=1, heads=2), patch_masks=BlockMaskSpec())
  classes = _method_classes()
  assert len(classes) == len(METHODS)
  for cls in classes:
    method = cls(head=full)
    assert method.uses_target or not method.requires_teacher, cls.__name__
    for part in cls.required_heads:
      with pytest.raises(ValueError, match=f"needs a {part} head"):
        cls(head=dataclasses.replace(full, **{part: None}))
