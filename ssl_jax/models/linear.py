"""A linear classifier on features, and one optimiser step of it: the online
probe of pretraining, the head of linear evaluation, the raw-pixel baseline.

The online probe (solo-learn, BYOL) trains a softmax classifier on the
stop-gradient features of the first training view, with its own optimiser,
inside the pretraining step; it never changes the representation.  Its
test accuracy during pretraining is ``online_linear_top1``.
"""
import jax
import jax.numpy as jnp
import optax


def init_linear(dim: int, num_classes: int):
  """Zero weights: the loss is convex, so the start does not matter."""
  return {"kernel": jnp.zeros((dim, num_classes), jnp.float32),
          "bias": jnp.zeros((num_classes,), jnp.float32)}


def linear_logits(params, features):
  """[N, C] @ [C, K] + [K] -> [N, K] float32."""
  return jnp.asarray(features, jnp.float32) @ params["kernel"] + params["bias"]


def cross_entropy(logits, labels, mask=None):
  """Mean softmax cross-entropy over the rows with mask 1 (all rows if None)."""
  losses = optax.softmax_cross_entropy_with_integer_labels(logits, labels)
  if mask is None:
    return jnp.mean(losses)
  return jnp.sum(losses * mask) / jnp.maximum(jnp.sum(mask), 1.0)


def init_probe(tx, dim: int, num_classes: int):
  params = init_linear(dim, num_classes)
  return {"params": params, "opt_state": tx.init(params)}


def probe_step(probe, tx, features, labels):
  """One optimiser step of the online probe on stop-gradient ``features`` [N, C].

  Returns (new probe, {"online_linear_loss", "online_linear_train_top1"}).
  """
  features = jax.lax.stop_gradient(features)

  def loss_fn(params):
    logits = linear_logits(params, features)
    return cross_entropy(logits, labels), logits

  (loss, logits), grads = jax.value_and_grad(loss_fn, has_aux=True)(probe["params"])
  updates, opt_state = tx.update(grads, probe["opt_state"], probe["params"])
  params = optax.apply_updates(probe["params"], updates)
  top1 = jnp.mean(jnp.argmax(logits, -1) == labels) * 100.0
  return ({"params": params, "opt_state": opt_state},
          {"online_linear_loss": loss, "online_linear_train_top1": top1})
