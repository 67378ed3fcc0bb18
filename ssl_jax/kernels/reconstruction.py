"""Masked image modelling: MAE's pixel-regression loss."""
import jax.numpy as jnp
from jax import lax

from ssl_jax.kernels.dtypes import as_float, compute_dtype


def mae_loss(pred, target, mask, norm_pix=True, eps=1e-6):
  """MAE (He et al. 2022, Sec. 3 "Reconstruction target"):

      t̂ = (t - mean(t)) / sqrt(var(t) + eps)   per patch (``norm_pix``;
                                               var unbiased, as torch's)
      L = Σ_n,l m_nl mean_k (p_nlk - t̂_nlk)² / Σ_n,l m_nl

  Args:
    pred, target: [N, L, P] predicted and true pixel values of L patches;
      the target gets no gradient.
    mask: [N, L], 1 for the patches the encoder did not see.
    norm_pix: normalise each target patch (MAE's ``norm_pix_loss``).
  Returns:
    float32 scalar.
  """
  dtype = compute_dtype(pred, target)
  pred, target, mask = as_float(pred, dtype), as_float(target, dtype), as_float(mask, dtype)
  target = lax.stop_gradient(target)
  if norm_pix:
    mean = jnp.mean(target, axis=-1, keepdims=True)
    var = jnp.var(target, axis=-1, keepdims=True, ddof=1)
    target = (target - mean) / jnp.sqrt(var + eps)
  per_patch = jnp.mean(jnp.square(pred - target), axis=-1)
  return jnp.sum(per_patch * mask) / jnp.sum(mask)
