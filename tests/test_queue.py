"""The key queue of MoCo v2, SCE and ReSSL: FIFO order, pointer, normalised keys, every crop."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from ml_collections import ConfigDict

from ssl_jax.methods import build_method
from ssl_jax.methods.queue import enqueue, init_queue
from tests import kernel_refs as R
from tests.method_configs import TINY, method_name


def test_keys_go_in_fifo_order_normalised_and_the_oldest_are_overwritten():
  state = init_queue(jax.random.key(0), 8, 3)
  start = np.asarray(state["queue"])
  batches = [np.random.default_rng(i).normal(size=(2, 3)) * 5 for i in range(5)]
  for i, keys in enumerate(batches[:3]):
    state = enqueue(state, jnp.asarray(keys, jnp.float32))
    assert int(state["ptr"]) == 2 * (i + 1)
  queue = np.asarray(state["queue"])
  for i, keys in enumerate(batches[:3]):
    np.testing.assert_allclose(queue[2 * i:2 * i + 2], R.normalize(keys), rtol=1e-6)
  np.testing.assert_array_equal(queue[6:], start[6:])  # not written yet
  np.testing.assert_allclose(np.linalg.norm(queue, axis=1), 1.0, rtol=1e-6)
  state = enqueue(state, jnp.asarray(batches[3], jnp.float32))
  assert int(state["ptr"]) == 0  # the ring wrapped
  state = enqueue(state, jnp.asarray(batches[4], jnp.float32))
  queue = np.asarray(state["queue"])
  np.testing.assert_allclose(queue[:2], R.normalize(batches[4]), rtol=1e-6)  # oldest gone
  np.testing.assert_allclose(queue[2:4], R.normalize(batches[1]), rtol=1e-6)
  with pytest.raises(ValueError, match="must be a multiple of the 3 keys"):
    enqueue(state, jnp.ones((3, 3)))


@pytest.mark.parametrize("key", sorted(k for k in TINY if "queue_size" in TINY[k]
                                        and method_name(k) not in ("ressl", "nnclr")))
def test_a_step_enqueues_the_keys_of_every_global_crop(key):
  config = ConfigDict({"name": method_name(key), **TINY[key]})
  method = build_method(config, total_steps=10, steps_per_epoch=10)
  n, d = 4, TINY[key]["projector"]["out_dim"]
  state = method.init_state(jax.random.key(0), d)
  rng = np.random.default_rng(1)
  online = {"projection": jnp.asarray(rng.normal(size=(2, n, d)), jnp.float32)}
  target = {"projection": jnp.asarray(rng.normal(size=(2, n, d)), jnp.float32)}
  _, aux = method.loss(online, target, state, jnp.int32(0), jax.random.key(2))
  queue = np.asarray(aux.state["queue"])
  keys = np.asarray(target["projection"]).reshape(2 * n, d)  # crop 0, then crop 1
  np.testing.assert_allclose(queue[:2 * n], R.normalize(keys), rtol=1e-5, atol=1e-6)
  assert int(aux.state["ptr"]) == 2 * n


@pytest.mark.parametrize("name", ["mocov2", "sce", "ressl"])
def test_one_directional_form_queries_view_0_or_1_against_one_key(name):
  """MoCo v2's official loss: view 0's query against view 1's key; SCE's
  pseudo-code: every other view against view 0's key; ReSSL (always one
  way): every view but the weak view 1 against its key.  The queue receives
  only that key view."""
  symmetric = {} if name == "ressl" else {"symmetric": False}
  config = ConfigDict({"name": name, **TINY[name], **symmetric})
  method = build_method(config, total_steps=10, steps_per_epoch=10)
  key_view = 0 if name == "sce" else 1
  assert method.target_views(2) == (key_view,)
  assert method.online_views(4, 2) == {"mocov2": (0,), "sce": (1, 2, 3),
                                       "ressl": (0, 2, 3)}[name]
  n, d = 4, TINY[name]["projector"]["out_dim"]
  state = method.init_state(jax.random.key(0), d)
  rng = np.random.default_rng(1)
  q = rng.normal(size=(len(method.online_views(4, 2)), n, d))
  k = rng.normal(size=(1, n, d))
  loss, aux = method.loss({"projection": jnp.asarray(q), "prediction": jnp.asarray(q)},
                          {"projection": jnp.asarray(k)}, state, jnp.int32(0),
                          jax.random.key(2))
  queue = np.asarray(state["queue"])
  if name == "mocov2":
    ref = lambda a, b: R.mocov2(a, b, queue, method.temperature)
  elif name == "ressl":
    ref = lambda a, b: R.ressl(a, b, queue, method.temperature, method.temperature_m)
  else:
    ref = lambda a, b: R.sce(a, b, queue, method.lam, method.temperature, method.temperature_m)
  want = np.mean([ref(q[j], k[0]) for j in range(len(q))])
  np.testing.assert_allclose(float(loss), want, rtol=1e-5)
  np.testing.assert_allclose(np.asarray(aux.state["queue"])[:n], R.normalize(k[0]),
                             rtol=1e-5, atol=1e-6)
  assert int(aux.state["ptr"]) == n


def test_nnclr_swaps_each_projection_for_its_neighbour_and_enqueues_view_0():
  """solo-learn's NNCLR step: nn(z1) against p2 and nn(z2) against p1,
  averaged; the support set then receives z1 (view 0) alone."""
  config = ConfigDict({"name": "nnclr", **TINY["nnclr"]})
  method = build_method(config, total_steps=10, steps_per_epoch=10)
  n, d = 4, TINY["nnclr"]["projector"]["out_dim"]
  state = method.init_state(jax.random.key(0), d)
  rng = np.random.default_rng(1)
  z, p = rng.normal(size=(2, n, d)), rng.normal(size=(2, n, d))
  loss, aux = method.loss({"projection": jnp.asarray(z), "prediction": jnp.asarray(p)},
                          None, state, jnp.int32(0), jax.random.key(2))
  support = np.asarray(state["queue"])
  want = 0.5 * (R.nnclr(z[0], p[1], support, method.temperature)
                + R.nnclr(z[1], p[0], support, method.temperature))
  np.testing.assert_allclose(float(loss), want, rtol=1e-5)
  np.testing.assert_allclose(np.asarray(aux.state["queue"])[:n], R.normalize(z[0]),
                             rtol=1e-5, atol=1e-6)
  assert int(aux.state["ptr"]) == n
