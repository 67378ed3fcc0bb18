"""The train step: forward passes, value_and_grad, optax, EMA, guards.

``make_train_step`` closes over the static parts (model, method, optimizer,
schedules, views) and returns a pure ``step(state, batch, rng)``.  The step
never knows which method it runs: it asks the method which views to encode
with which network and hands it the stacked outputs.
"""
import dataclasses
from typing import Callable, Dict, Optional, Sequence

import jax
import jax.numpy as jnp
import optax

from ssl_jax.train.augment import ViewAugmenter
from ssl_jax.models import batch_axes
from ssl_jax.models.linear import probe_step
from ssl_jax.train.state import TrainState


@dataclasses.dataclass(frozen=True)
class Schedules:
  """Step -> value functions the step evaluates."""
  learning_rate: Callable
  ema_momentum: Optional[Callable] = None


def group_by_shape(views: Sequence[jax.Array], masked: Sequence[int] = ()):
  """Lists of view indices sharing a shape (and being all in ``masked`` or
  all out of it), in order of first appearance."""
  groups: Dict[tuple, list] = {}
  for i, v in enumerate(views):
    groups.setdefault((tuple(v.shape), i in masked), []).append(i)
  return list(groups.values())


def encode_views(model, params, batch_stats, views, train=True, method=None,
                 bn_pooling="per_view", rng=None, masked=()):
  """Runs ``model`` on a list of views, one forward pass per view size.

  Views of one size are stacked to [G, N, H, W, 3]; ``bn_pooling`` says
  which layers pool their BatchNorm statistics over those views
  (``models.encoder.BN_POOLINGS``).  With "all" and views of several sizes
  the backbone runs once per size and the heads once on every view's
  features, so the heads' statistics pool over all views (SwAV's and
  DeepCluster v2's model, DINO's ``MultiCropWrapper``).  Running
  statistics are updated group after group.  ``rng``: the key of stochastic
  layers (a ViT's stochastic depth from ``fold_in(rng, g)`` for group g,
  MAE's and iBOT's masking from ``fold_in(fold_in(rng, g), 1)``); None:
  they pass everything.  ``method``: None (the online network) or
  ``project`` (the teacher: no predictor).  ``masked``: indices of the
  views the online network masks (iBOT's global crops), run as groups of
  their own with ``mask_patches=True``.

  Returns:
    ({key: [V, N, ...]} in the order of ``views``, new batch_stats).  A key
    only some views have (iBOT's "patch_logits" and "mask", of the masked
    views) is stacked over those views, in order.
  """
  groups = group_by_shape(views, masked)
  if (bn_pooling == "all" and len(groups) > 1 and model.head.decoder is None
      and model.head.patch_masks is None):
    return _encode_pooled_heads(model, params, batch_stats, views, groups, train, method,
                                rng)
  per_view = [None] * len(views)
  for g, idx in enumerate(groups):
    x = jnp.stack([views[i] for i in idx])
    kwargs = {"mask_patches": True} if idx[0] in masked else {}
    out, mutated = model.apply({"params": params, "batch_stats": batch_stats}, x,
                               train=train, bn_pooling=bn_pooling, rngs=group_rngs(rng, g),
                               mutable=["batch_stats"], method=method, **kwargs)
    batch_stats = mutated["batch_stats"]
    for j, i in enumerate(idx):
      per_view[i] = {k: v[j] for k, v in out.items()}
  keys = list(dict.fromkeys(k for o in per_view for k in o))
  stacked = {k: jnp.stack([o[k] for o in per_view if k in o]) for k in keys}
  return stacked, batch_stats


def group_rngs(rng, g):
  """The keys of view group g's stochastic layers (``encode_views``)."""
  if rng is None:
    return {}
  group_rng = jax.random.fold_in(rng, g)
  return {"dropout": group_rng, "masking": jax.random.fold_in(group_rng, 1)}


def _encode_pooled_heads(model, params, batch_stats, views, groups, train, method, rng):
  """``encode_views`` with "all" over several sizes: the backbone per size
  (statistics pooled within it), then the heads once on [1, V * N, C]."""
  features = [None] * len(views)
  for g, idx in enumerate(groups):
    x = jnp.stack([views[i] for i in idx])
    h, mutated = model.apply({"params": params, "batch_stats": batch_stats}, x, train=train,
                             bn_pooling="all", rngs=group_rngs(rng, g),
                             mutable=["batch_stats"], method=type(model).backbone_features)
    batch_stats = mutated["batch_stats"]
    for j, i in enumerate(idx):
      features[i] = h[j]
  v, n = len(views), features[0].shape[0]
  z = batch_axes.merge(jnp.stack(features), 2)[None]  # example-major: stays split
  out, mutated = model.apply({"params": params, "batch_stats": batch_stats}, z, train=train,
                             with_predictor=method is None, mutable=["batch_stats"],
                             method=type(model).heads)
  return ({k: batch_axes.split(x[0], (v, n)) for k, x in out.items()},
          mutated["batch_stats"])


def _all_finite(*trees):
  """Whether every leaf of ``trees`` is finite, as one scalar flag.

  The per-leaf flags are sorted and the first read: XLA folds a reduction
  over stacked scalars into a chain of ands and fusion copies that chain
  into every consumer of the flag (one select per state leaf), so compile
  time grew with leaves x leaves.  A sort is neither folded nor copied.
  """
  flags = [jnp.all(jnp.isfinite(x)) for tree in trees for x in jax.tree.leaves(tree)]
  return jax.lax.sort(jnp.stack(flags).astype(jnp.int32))[0] == 1


def _select(ok, new, old):
  return jax.tree.map(lambda a, b: jnp.where(ok, a, b), new, old)


def _hold(frozen, old, new):
  """``new`` with every leaf under a frozen group's key taken from ``old``.

  ``frozen`` is ``Method.frozen_parts``; the trees are params-shaped, or an
  optimiser state whose per-parameter entries nest the params' keys.
  """
  if not frozen:
    return new

  def pick(path, a, b):
    for entry in path:
      key = getattr(entry, "key", None)
      if key in frozen:
        return jnp.where(frozen[key], a, b)
    return b
  return jax.tree_util.tree_map_with_path(pick, old, new)


def _ema(ema, online, momentum):
  return jax.tree.map(lambda e, p: momentum * e + (1.0 - momentum) * p, ema, online)


def _update_teacher(method, ema_params, params, momentum):
  """EMA of ``teacher_parts``; ``copied_teacher_parts`` follow the online model."""
  out = {}
  for part, value in ema_params.items():
    if part in method.copied_teacher_parts:
      out[part] = params[part]
    else:
      out[part] = _ema(value, params[part], momentum)
  return out


def _train_probe(old_probe, probe_tx, features, labels, ok):
  """One step of the online probe -> (probe, metrics); the old probe is kept
  unless both this update and the main step are finite."""
  probe, metrics = probe_step(old_probe, probe_tx, features, labels)
  probe_ok = ok & jnp.isfinite(metrics["online_linear_loss"])
  return _select(probe_ok, probe, old_probe), metrics


def make_train_step(model, method, tx: optax.GradientTransformation,
                    schedules: Schedules, augmenter: ViewAugmenter, probe_tx=None):
  """Returns ``step(state, batch, rng) -> (state, metrics)``.

  ``batch`` holds ``views``, a tuple of uint8 [N, S_v, S_v, 3] (global
  arrays, batch-sharded), and from an indexed split ``index``, int [N]:
  each example's index in the split.  ``augmenter`` (built once by the job) applies the
  photometric augmentation and normalisation here, with keys from
  ``fold_in(rng, state.step)``.  A step whose loss, gradients, new
  parameters or new optimiser state are not finite leaves params,
  optimiser, statistics and method state unchanged and counts itself in
  ``skipped_steps`` and ``consecutive_skips``.  With
  ``probe_tx``, the online linear probe in ``state.probe`` takes one step on
  the stop-gradient backbone features of the first online view and
  ``batch["label"]``.
  """
  view_set = augmenter.view_set
  online_ids = method.online_views(len(view_set), view_set.num_global)
  target_ids = method.target_views(view_set.num_global)
  masked = tuple(online_ids.index(i) for i in method.masked_views(view_set.num_global))
  encode = lambda *a, **k: encode_views(model, *a, bn_pooling=method.bn_pooling, **k)

  def step(state: TrainState, batch, rng):
    state = state.replace(params=method.prepare_params(state.params))
    rng = jax.random.fold_in(rng, state.step)
    aug_rng, loss_rng = jax.random.split(rng)
    drop_rng = jax.random.fold_in(rng, 1)  # the online network's stochastic depth
    views = augmenter(batch["views"], aug_rng)

    target, ema_stats = None, state.ema_batch_stats
    if method.uses_target:
      target, ema_stats = encode(state.ema_params, state.ema_batch_stats,
                                 [views[i] for i in target_ids],
                                 method=type(model).project)
      target = jax.lax.stop_gradient(target)

    def loss_fn(params):
      online, stats = encode(params, state.batch_stats, [views[i] for i in online_ids],
                             rng=drop_rng, masked=masked)
      loss, aux = method.objective(online, target, state.method_state, state.step, loss_rng,
                                   index=batch.get("index"))
      return loss, (aux, stats, online["features"][0])

    (loss, (aux, stats, features)), grads = jax.value_and_grad(loss_fn, has_aux=True)(state.params)
    frozen = method.frozen_parts(state.step)
    grads = _hold(frozen, jax.tree.map(jnp.zeros_like, grads), grads)
    updates, opt_state = tx.update(grads, state.opt_state, state.params)
    updates = _hold(frozen, jax.tree.map(jnp.zeros_like, updates), updates)
    opt_state = _hold(frozen, state.opt_state, opt_state)
    params = optax.apply_updates(state.params, updates)

    # What is written must be finite too: an infinite lr or an overflowing
    # optimiser turns finite gradients into non-finite parameters.
    ok = _all_finite(loss, grads, params, opt_state)
    params = _select(ok, params, state.params)
    new = state.replace(
        step=state.step + 1, params=params,
        batch_stats=_select(ok, stats, state.batch_stats),
        opt_state=_select(ok, opt_state, state.opt_state),
        method_state=_select(ok, aux.state, state.method_state),
        skipped_steps=state.skipped_steps + (~ok).astype(jnp.int32),
        consecutive_skips=jnp.where(ok, 0, state.consecutive_skips + 1))
    metrics = {"loss": loss, "lr": schedules.learning_rate(state.step),
               "grad_norm": optax.tree.norm(grads),
               "skipped_steps": new.skipped_steps,
               "consecutive_skips": new.consecutive_skips, **aux.metrics}
    if probe_tx is not None:
      probe, probe_metrics = _train_probe(state.probe, probe_tx, features, batch["label"], ok)
      new = new.replace(probe=probe)
      metrics.update(probe_metrics)
    if method.uses_target:
      # The teacher used at step s+1 is m(s+1) teacher + (1 - m(s+1)) online,
      # the INTL/MoCo order (momentum update before the forward pass).
      m = schedules.ema_momentum(state.step + 1)
      teacher = _update_teacher(method, state.ema_params, params, m)
      new = new.replace(ema_params=_select(ok, teacher, state.ema_params),
                        ema_batch_stats=_select(ok, ema_stats, state.ema_batch_stats))
      metrics["ema_momentum"] = m
    return new, metrics

  return step
