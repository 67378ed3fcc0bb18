"""Backbone features of a whole split, on device, as global arrays."""
import jax
import jax.numpy as jnp

from ssl_jax.data.augment_device import normalize
from ssl_jax.kernels import l2_normalize
from ssl_jax.sharding import batch_sharded, replicated, to_global


def make_feature_fn(model, mesh, mean, std):
  """Jitted (variables, uint8 images [N, S, S, 3]) -> L2-normalised [N, C]."""

  def features(variables, images):
    x = normalize(images, mean, std)[None]
    h = model.apply(variables, x, method=type(model).encode)[0]
    return l2_normalize(h)

  return jax.jit(features, in_shardings=(replicated(mesh), batch_sharded(mesh)),
                 out_shardings=batch_sharded(mesh))


def extract(feature_fn, variables, batches, mesh):
  """Features, labels and masks of every batch, concatenated (global arrays).

  Args:
    batches: iterator of host batches {"image", "label", "mask"} (see
      ``pipeline.eval_batches``).
  Returns:
    (features [M, C] float32, labels [M] int32, mask [M] float32).
  """
  feats, labels, masks = [], [], []
  for host_batch in batches:
    batch = to_global(host_batch, mesh)
    feats.append(feature_fn(variables, batch["image"]))
    labels.append(batch["label"])
    masks.append(batch["mask"])
  return jnp.concatenate(feats), jnp.concatenate(labels), jnp.concatenate(masks)
