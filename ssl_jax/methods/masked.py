"""Masked image modelling: MAE (He et al. 2022).

The ViT encodes a random (1 - mask_ratio) of each view's patches; the
decoder (``models.decoder``) predicts every patch's pixels from them and
mask tokens; the loss is the mean squared error on the removed patches,
against per-patch normalised pixels (``kernels.mae_loss``).  One view (the
official recipe crops and flips once); with more, the loss is their mean.
No projector, no teacher: evaluation reads the backbone's pooled tokens.
"""
import dataclasses

import jax
import jax.numpy as jnp

from ssl_jax import kernels
from ssl_jax.methods.base import HeadSpec, LossAux, Method
from ssl_jax.models.decoder import DecoderSpec


@dataclasses.dataclass(frozen=True)
class MAE(Method):
  """MAE; ``norm_pix_loss``: regress per-patch normalised pixels (the
  paper's default target, +0.5 to +1 point in its Table 1d)."""
  collapse_hint = ("not collapse in the usual sense (nothing pulls views together): a low "
                   "rank of the CLS features means the encoder leaves the work to the decoder; "
                   "a decoder far wider or deeper than the paper's, or a mask ratio far from 0.75")
  norm_pix_loss: bool = True

  required_heads = ("decoder",)
  online_crops = "global"

  def loss(self, online, target, state, step, rng):
    del target, step, rng
    per_view = jax.vmap(kernels.mae_loss, in_axes=(0, 0, 0, None))(
        online["reconstruction"], online["target"], online["mask"], self.norm_pix_loss)
    loss = jnp.mean(per_view)
    return loss, LossAux(state, {"masked_fraction": jnp.mean(online["mask"])})


def make(decoder_dim=512, decoder_depth=8, decoder_heads=16, mask_ratio=0.75,
         norm_pix_loss=True):
  """MAE with the paper's decoder (512-d, 8 blocks, 16 heads) and mask ratio."""
  return MAE(head=HeadSpec(decoder=DecoderSpec(decoder_dim, decoder_depth, decoder_heads,
                                               mask_ratio)),
             norm_pix_loss=norm_pix_loss)
