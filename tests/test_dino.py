"""DINO's schedules and optimiser against the official loop's formulas
(facebookresearch/dino main_dino.py and utils.py, written out here) and
PyTorch's own AdamW."""
import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import pytest

from ssl_jax.methods import build_method
from ssl_jax.train import optim
from ssl_jax.train.step import _hold

torch = pytest.importorskip("torch")


def _cosine_scheduler(base, final, epochs, per_epoch, warmup_epochs=0, warmup_start=0.0):
  """utils.cosine_scheduler, in numpy as the official code computes it."""
  warmup = np.linspace(warmup_start, base, warmup_epochs * per_epoch)
  iters = np.arange(epochs * per_epoch - warmup_epochs * per_epoch)
  cosine = final + 0.5 * (base - final) * (1 + np.cos(np.pi * iters / len(iters)))
  return np.concatenate((warmup, cosine))


def _dino(**fields):
  config = ml_collections.ConfigDict({
      "name": "dino", "projector": {"hidden_dim": 8, "out_dim": 4, "num_layers": 3},
      "num_prototypes": 6, **fields})
  return build_method(config, total_steps=fields.pop("total", 40), steps_per_epoch=4)


@pytest.mark.parametrize("warmup_epochs", [0, 1, 3])
def test_teacher_temperature_follows_dinos_per_epoch_linspace(warmup_epochs):
  method = _dino(warmup_teacher_temp=0.04, teacher_temp=0.07,
                 warmup_teacher_temp_epochs=warmup_epochs)
  epochs = 10
  official = np.concatenate((np.linspace(0.04, 0.07, warmup_epochs),
                             np.ones(epochs - warmup_epochs) * 0.07))
  got = np.asarray(jax.vmap(method.teacher_temperature)(jnp.arange(epochs * 4)))
  np.testing.assert_allclose(got, np.repeat(official, 4), rtol=1e-6)


def test_teacher_update_after_step_s_uses_the_official_momentum_of_step_s():
  """The step applies ``ema_schedule(s + 1)`` after step s; DINO's loop
  applies ``momentum_schedule[it]`` after iteration it."""
  method = _dino(ema_momentum=0.996)
  official = _cosine_scheduler(0.996, 1.0, 10, 4)
  schedule = method.ema_schedule(40)
  got = np.asarray(jax.vmap(lambda s: schedule(s + 1))(jnp.arange(40)))
  np.testing.assert_allclose(got, official, rtol=0, atol=1e-7)


def _official_adamw_steps(params, grads, lrs, wds, clip, freeze_steps):
  """train_one_epoch's update: per-iteration lr and wd (wd on the first,
  regularised group only), ``clip_gradients``, ``cancel_gradients_last_layer``
  and torch.optim.AdamW."""
  tensors = {k: torch.tensor(v, dtype=torch.float64, requires_grad=True)
             for k, v in params.items()}
  regularized = [tensors[k] for k in tensors if tensors[k].ndim > 1]
  rest = [tensors[k] for k in tensors if tensors[k].ndim == 1]
  opt = torch.optim.AdamW([{"params": regularized}, {"params": rest, "weight_decay": 0.0}])
  for it, grad in enumerate(grads):
    for i, group in enumerate(opt.param_groups):
      group["lr"] = lrs[it]
      if i == 0:
        group["weight_decay"] = wds[it]
    for k, p in tensors.items():
      p.grad = torch.tensor(grad[k], dtype=torch.float64)
      norm = p.grad.norm(2)
      coef = clip / (norm + 1e-6)
      if coef < 1:
        p.grad.mul_(coef)
      if it < freeze_steps and k.startswith("prototypes"):
        p.grad = None
    opt.step()
  return {k: p.detach().numpy() for k, p in tensors.items()}


def test_adamw_with_decay_schedule_clipping_and_a_frozen_last_layer_equals_dinos():
  """Six steps, the prototypes frozen for two: our optimiser with the step's
  freezing rule equals the official loop's torch AdamW.  Without a separate
  step count for the frozen group its first released updates are ~3x too
  large (Adam's bias correction), which this catches."""
  jax.config.update("jax_enable_x64", True)
  try:
    rng = np.random.default_rng(0)
    params = {"backbone/kernel": rng.normal(size=(4, 3)), "backbone/bias": rng.normal(size=3),
              "prototypes/kernel": rng.normal(size=(5, 3))}
    # Gradients of norm ~1-12: some above the clip of 3, some below.  (The
    # decay schedule is float32, hence 1e-7.)
    grads = [{k: rng.normal(size=v.shape) * rng.uniform(0.3, 4.0) for k, v in params.items()}
             for _ in range(6)]
    lrs = _cosine_scheduler(0.01, 1e-4, 3, 2, warmup_epochs=1)
    wds = _cosine_scheduler(0.04, 0.4, 3, 2)
    want = _official_adamw_steps(params, grads, lrs, wds, clip=3.0, freeze_steps=2)

    config = ml_collections.ConfigDict({
        "name": "adamw", "weight_decay": 0.04, "weight_decay_end": 0.4, "clip_grad": 3.0,
        "momentum": 0.9, "exclude_bias_and_norm": True})
    tx = optim.make_optimizer(config, lambda s: jnp.asarray(lrs)[s], total_steps=6,
                              own_parts=("prototypes",))
    nest = lambda flat: {g: {n: jnp.asarray(flat[f"{g}/{n}"]) for n in ("kernel", "bias")
                             if f"{g}/{n}" in flat} for g in ("backbone", "prototypes")}
    p = nest(params)
    state = tx.init(p)
    for s, grad in enumerate(grads):
      frozen = {"prototypes": jnp.asarray(s < 2)}
      g = _hold(frozen, jax.tree.map(jnp.zeros_like, p), nest(grad))
      updates, new_state = tx.update(g, state, p)
      updates = _hold(frozen, jax.tree.map(jnp.zeros_like, updates), updates)
      state = _hold(frozen, state, new_state)
      p = jax.tree.map(lambda a, u: a + u, p, updates)
    for key, value in want.items():
      group, name = key.split("/")
      np.testing.assert_allclose(np.asarray(p[group][name]), value, rtol=1e-7, atol=1e-9,
                                 err_msg=key)
  finally:
    jax.config.update("jax_enable_x64", False)


def test_a_weight_decay_schedule_needs_the_runs_length():
  config = ml_collections.ConfigDict({"name": "adamw", "weight_decay": 0.04,
                                      "weight_decay_end": 0.4, "momentum": 0.9,
                                      "exclude_bias_and_norm": True})
  with pytest.raises(ValueError, match="total steps"):
    optim.make_optimizer(config, 0.1)
