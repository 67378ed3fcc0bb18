"""The jobs: the loop and all I/O around the training layer.

``pretrain``, ``linear_eval`` and ``knn_eval`` run from ``ssl_jax.main``
(``config.job``); ``export`` and ``report`` are command-line tools of their
own (``python -m ssl_jax.jobs.export``, ``python -m ssl_jax.jobs.report``).
"""
