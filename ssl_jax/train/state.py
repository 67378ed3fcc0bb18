"""TrainState: everything a run needs to continue, as one pytree of arrays.

No functions, no optimizer object, no RNG: orbax saves it as it is and the
step is a pure function of (state, batch, base key).
"""
from typing import Any

import flax
import jax
import jax.numpy as jnp

from ssl_jax.models.linear import init_probe


@flax.struct.dataclass
class TrainState:
  step: jax.Array             # int32 scalar: optimizer steps taken
  params: Any                 # online {"backbone", "projector", "predictor"?}
  batch_stats: Any            # online BatchNorm running statistics
  opt_state: Any
  ema_params: Any             # EMA teacher params ({} without a teacher)
  ema_batch_stats: Any        # the teacher's own running statistics
  method_state: Any           # queues, centres, ... ({} when none)
  skipped_steps: jax.Array    # int32: steps whose update was dropped as non-finite
  consecutive_skips: jax.Array  # int32: of those, how many in a row up to now
  probe: Any                  # online linear probe {"params", "opt_state"} ({} if off)


def teacher_subset(tree, method):
  """The parameter groups the method's teacher keeps (never the predictor)."""
  parts = method.teacher_parts + method.copied_teacher_parts
  return {k: v for k, v in tree.items() if k in parts}


def init_train_state(rng, model, method, tx, image_size: int, probe_tx=None,
                     num_classes: int = 0) -> TrainState:
  """Fresh state: model init on a dummy [1, 2, S, S, 3] batch, teacher = copy.

  With ``probe_tx``, an online linear probe over ``num_classes`` on the
  backbone features, optimised by ``probe_tx``.
  """
  init_rng, state_rng = jax.random.split(rng)
  dummy = jnp.zeros((1, 2, image_size, image_size, 3), jnp.float32)
  # Parameters are replicated, so the sharding-friendly ("partitionable")
  # threefry buys nothing here, and on CPU it compiles ~4x slower.
  with jax.threefry_partitionable(False):
    variables = model.init(init_rng, dummy, train=True)
  params, batch_stats = variables["params"], variables.get("batch_stats", {})
  dim = method.head.projector.out_dim if method.head.projector else 0
  probe = {}
  if probe_tx is not None:
    features = jax.eval_shape(lambda v: model.apply(v, dummy[0], method=type(model).embed),
                              variables)["features"]
    probe = init_probe(probe_tx, features.shape[-1], num_classes)
  teacher = method.uses_target
  return TrainState(
      step=jnp.zeros((), jnp.int32),
      params=params,
      batch_stats=batch_stats,
      opt_state=tx.init(params),
      ema_params=teacher_subset(params, method) if teacher else {},
      ema_batch_stats=teacher_subset(batch_stats, method) if teacher else {},
      method_state=method.init_state(state_rng, dim),
      skipped_steps=jnp.zeros((), jnp.int32),
      consecutive_skips=jnp.zeros((), jnp.int32),
      probe=probe)
