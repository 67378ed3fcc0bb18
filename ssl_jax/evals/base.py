"""Which variables an evaluation reads from a TrainState, and how a stop
signal ends one (without TensorFlow: the training loop imports this)."""


class EvaluationInterrupted(Exception):
  """A stop was requested (SIGTERM) while a split was being evaluated."""


def backbone_variables(state, use_ema: bool):
  """{"params", "batch_stats"} of the online or EMA backbone+heads."""
  if use_ema:
    if not state.ema_params:
      raise ValueError("evaluation of the EMA model was asked for, but this "
                       "method keeps no EMA teacher")
    return {"params": state.ema_params, "batch_stats": state.ema_batch_stats}
  return {"params": state.params, "batch_stats": state.batch_stats}
