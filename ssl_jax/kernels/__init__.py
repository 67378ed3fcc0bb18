"""Pure loss kernels: arrays in, arrays out; no flax, no config.

Rows are samples; stacked views are [V, N, D].  Every kernel computes in
float32 and runs the Gram / covariance / Newton–Schulz matmuls at
``precision=HIGHEST``.
"""
from ssl_jax.kernels import iternorm
from ssl_jax.kernels.intl import intl_loss, intl_loss_terms, intl_trade_off, trace_loss
from ssl_jax.kernels.iternorm import (centered_covariance, iter_norm,
                                      iter_norm_spectral_map,
                                      newton_schulz_whitening_matrix)
from ssl_jax.kernels.similarity import (cosine_similarity, l2_normalize,
                                        normalized_mse)

__all__ = [
    "centered_covariance", "cosine_similarity", "intl_loss", "intl_loss_terms", "intl_trade_off",
    "iter_norm", "iter_norm_spectral_map", "l2_normalize",
    "newton_schulz_whitening_matrix", "normalized_mse", "trace_loss",
]
