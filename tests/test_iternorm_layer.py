"""The IterNorm layer against solo-learn's (tests/official/iternorm_generate.py):
outputs in training and evaluation, running statistics, gradient."""
import os

import jax
import jax.numpy as jnp
import numpy as np

from ssl_jax.models.iternorm import IterNorm, channels_per_group

FIXTURE = os.path.join(os.path.dirname(__file__), "official", "iternorm", "solo_iternorm.npz")


def test_channels_per_group_follows_solo_learns_rule():
  assert channels_per_group(24, 4) == 6
  assert channels_per_group(2048, 64) == 32
  assert channels_per_group(100, 64) == 2
  assert channels_per_group(24, 5) == 2  # ceil(24 / 5) = 5 does not divide 24: halved


def test_iternorm_equals_solo_learns_in_float64():
  f = np.load(FIXTURE)
  jax.config.update("jax_enable_x64", True)
  try:
    layer = IterNorm(num_groups=4)
    views = jnp.asarray(f["views"])
    variables = layer.init(jax.random.key(0), views[:2], train=True)
    params = {"scale": jnp.asarray(f["scale"]), "bias": jnp.asarray(f["bias"])}
    start = jax.tree.map(lambda a: a.astype(jnp.float64), variables["batch_stats"])
    assert int(f["channels"]) == channels_per_group(24, 4)

    def train(x):
      return layer.apply({"params": params, "batch_stats": start}, x,
                         train=True, mutable=["batch_stats"])
    y, updated = train(views[:2])
    np.testing.assert_allclose(np.asarray(y[0]), f["train0"], rtol=1e-9, atol=1e-10)
    np.testing.assert_allclose(np.asarray(y[1]), f["train1"], rtol=1e-9, atol=1e-10)
    stats = updated["batch_stats"]
    np.testing.assert_allclose(np.asarray(stats["mean"]), f["running_mean"], rtol=1e-9,
                               atol=1e-12)
    np.testing.assert_allclose(np.asarray(stats["whitening"]), f["running_wm"], rtol=1e-9,
                               atol=1e-12)
    y2 = layer.apply({"params": params, "batch_stats": stats}, views[2:], train=False)
    np.testing.assert_allclose(np.asarray(y2[0]), f["eval2"], rtol=1e-9, atol=1e-10)
    grad = jax.grad(lambda x: jnp.sum(train(x[None])[0][0] * f["weights"]))(views[0])
    np.testing.assert_allclose(np.asarray(grad), f["grad0"], rtol=1e-7, atol=1e-10)
  finally:
    jax.config.update("jax_enable_x64", False)
