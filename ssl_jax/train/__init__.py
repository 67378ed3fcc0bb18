"""The training layer: the pure train step and what it closes over.

``step`` (forward passes, gradients, EMA, guards), ``state`` (the
TrainState pytree), ``optim`` (optax chains and learning-rate schedules)
and ``augment`` (the photometric half of the views, on device).  It imports
methods, models and kernels only: no data pipeline, evaluator or I/O.
"""
