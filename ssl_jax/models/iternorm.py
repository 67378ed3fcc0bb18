"""IterNorm as a layer: group whitening by Newton-Schulz iterations.

Huang et al. 2019, in the form solo-learn's VIbCReg projector ends with
(``solo.utils.whitening.IterNorm``, num_groups=64, T=5): the D features are
split into G groups of c channels; in training each group of a [N, D] batch
is centred and multiplied by W = P_T / sqrt(tr Σ), Σ = ε I + X̃ᵀX̃ / N
(``kernels.newton_schulz_whitening_matrix``); the running mean and W are
EMAs (PyTorch momentum 0.1) that evaluation uses instead; an affine
scale and shift follow.  Inputs are [V, N, D] like BatchNorm's: each view
group is whitened on its own and folds into the running statistics in turn.
"""
import flax.linen as nn
import jax
import jax.numpy as jnp

from ssl_jax.kernels.dtypes import as_float
from ssl_jax.kernels.iternorm import newton_schulz_whitening_matrix


def channels_per_group(features: int, num_groups: int) -> int:
  """solo-learn's rule: ceil(D / G) channels, halved until they divide D."""
  channels = (features - 1) // num_groups + 1
  while features % channels:
    channels //= 2
  return channels


class IterNorm(nn.Module):
  """[V, N, D] -> [V, N, D] float32."""
  num_groups: int = 64
  iters: int = 5
  epsilon: float = 1e-5
  momentum: float = 0.9

  @nn.compact
  def __call__(self, x, train: bool):
    d = x.shape[-1]
    c = channels_per_group(d, self.num_groups)
    g = d // c
    x = as_float(x)  # float32 at least (float64 stays: the reference test)
    eye = jnp.eye(c, dtype=x.dtype)
    ra_mean = self.variable("batch_stats", "mean", jnp.zeros, (g, c), jnp.float32)
    ra_wm = self.variable("batch_stats", "whitening",
                          lambda: jnp.tile(jnp.eye(c, dtype=jnp.float32), (g, 1, 1)))
    x = x.reshape(x.shape[:-1] + (g, c))  # [V, N, G, c]
    if train:
      mean = jnp.mean(x, axis=1)                               # [V, G, c]
      xc = x - mean[:, None]
      sigma = self.epsilon * eye + jnp.einsum(
          "vngi,vngj->vgij", xc, xc, precision=jax.lax.Precision.HIGHEST) / x.shape[1]
      whiten = jax.vmap(jax.vmap(lambda s: newton_schulz_whitening_matrix(s, self.iters)))
      wm = whiten(sigma)                                       # [V, G, c, c]
      if not self.is_initializing():
        for v in range(x.shape[0]):  # one update per view, as separate calls would
          ra_mean.value = self.momentum * ra_mean.value + (1 - self.momentum) * mean[v]
          ra_wm.value = self.momentum * ra_wm.value + (1 - self.momentum) * wm[v]
    else:
      xc = x - ra_mean.value
      wm = jnp.broadcast_to(ra_wm.value, (x.shape[0],) + ra_wm.value.shape)
    y = jnp.einsum("vgij,vngj->vngi", wm, xc, precision=jax.lax.Precision.HIGHEST)
    y = y.reshape(y.shape[:-2] + (d,))
    scale = self.param("scale", nn.initializers.ones, (d,), jnp.float32)
    bias = self.param("bias", nn.initializers.zeros, (d,), jnp.float32)
    return y * scale + bias
