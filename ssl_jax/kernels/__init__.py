"""Pure loss kernels: arrays in, arrays out; no flax, no config.

Rows are samples; stacked views are [V, N, D].  Every kernel computes in
``promote_types(input dtype, float32)`` (``kernels.dtypes``): bf16 inputs
are upcast, float64 inputs (under ``jax_enable_x64``) stay float64, and
the "float32" of the docstrings below reads "float64" for them.  Each runs
its Gram / covariance /
Newton–Schulz / Cholesky matmuls at ``precision=HIGHEST``.  Batch
reductions are plain jnp reductions: on batch-sharded global arrays they are
reductions over the global batch.
"""
from ssl_jax.kernels import iternorm
from ssl_jax.kernels.contrastive import (mio_loss, mocov2_loss, mocov3_loss, nnclr_loss,
                                         simclr_loss)
from ssl_jax.kernels.distillation import (dino_center_update, dino_loss, ibot_patch_center_update,
                                          ibot_patch_loss)
from ssl_jax.kernels.intl import intl_loss, intl_loss_terms, intl_trade_off, trace_loss
from ssl_jax.kernels.iternorm import (centered_covariance, iter_norm,
                                      iter_norm_spectral_map,
                                      newton_schulz_whitening_matrix)
from ssl_jax.kernels.kmeans import deepcluster_loss, nearest_centroid, spherical_kmeans
from ssl_jax.kernels.mira import mira_loss, mira_targets
from ssl_jax.kernels.probability import hard_cross_entropy, soft_cross_entropy
from ssl_jax.kernels.reconstruction import mae_loss
from ssl_jax.kernels.redundancy import barlow_twins_loss, vibcreg_loss, vicreg_loss
from ssl_jax.kernels.regression import byol_loss, simsiam_loss
from ssl_jax.kernels.relational import ressl_loss, sce_loss
from ssl_jax.kernels.similarity import (cosine_similarity, l2_normalize, normalized_mse,
                                        pairwise_dot)
from ssl_jax.kernels.sinkhorn import sinkhorn_knopp, swav_loss
from ssl_jax.kernels.uniformity import koleo_loss
from ssl_jax.kernels.whitening import cholesky_whiten, wmse_loss

__all__ = [
    "barlow_twins_loss", "byol_loss", "centered_covariance", "cholesky_whiten",
    "cosine_similarity", "deepcluster_loss", "dino_center_update", "dino_loss",
    "hard_cross_entropy", "ibot_patch_center_update", "ibot_patch_loss",
    "intl_loss", "intl_loss_terms", "intl_trade_off", "iter_norm",
    "iter_norm_spectral_map", "iternorm", "koleo_loss", "l2_normalize", "mae_loss", "mio_loss",
    "mira_loss",
    "mira_targets", "mocov2_loss", "mocov3_loss", "nearest_centroid",
    "newton_schulz_whitening_matrix", "nnclr_loss",
    "normalized_mse", "pairwise_dot", "ressl_loss", "sce_loss", "simclr_loss", "simsiam_loss",
    "sinkhorn_knopp", "soft_cross_entropy", "spherical_kmeans", "swav_loss", "trace_loss",
    "vibcreg_loss",
    "vicreg_loss",
    "wmse_loss",
]
