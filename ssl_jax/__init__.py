"""ssl_jax: self-supervised pretraining of image encoders in JAX.

The loss kernels are re-exported here: ``ssl_jax.sinkhorn_knopp`` is
``ssl_jax.kernels.sinkhorn_knopp``.
"""
from ssl_jax import storage as _storage

# Before any path is opened: etils caches its choice of gs:// client.
_storage.configure_backends()

from ssl_jax.kernels import *  # noqa: F401,F403  pylint: disable=wildcard-import
from ssl_jax.kernels import __all__  # noqa: F401
