"""Raw-pixel baselines: what a learned representation has to beat.

The "features" are the images themselves, normalised with the dataset's
mean and std and flattened ([N, D], D = H * W * 3), evaluated with the
protocols the learned features get: weighted k-NN (k = 20, T = 0.07,
cosine) on the bank, and the quick linear protocol
(``configs/linear_eval.py:quick``: SGD, momentum 0.9, cosine to 0, batch
128, 10 epochs, no weight decay) trained on the bank and tested on the test
split.  For the linear protocol the pixels are scaled by 1 / sqrt(D), to
the size of a backbone feature, and the rate is 5 x B / 256: of 0.5, 5 and
50 the best on ``synthetic`` and ``digits`` (raw pixels are close to
chance linearly whichever: position and colour vary too much).
"""
from typing import Dict

import jax
import jax.numpy as jnp
import numpy as np
import optax

from ssl_jax.evals.classifier import classifier_accuracy
from ssl_jax.evals.knn import knn_accuracy, make_knn_counter
from ssl_jax.models.linear import init_probe, probe_step


def pixel_features(split, mean, std) -> Dict[str, jax.Array]:
  """``Features`` of an in-memory split: normalised, flattened pixels."""
  x = (np.asarray(split.images, np.float32) / 255.0 - np.asarray(mean, np.float32)) / \
      np.asarray(std, np.float32)
  n = len(split.labels)
  return {"features": jnp.asarray(x.reshape(n, -1)),
          "label": jnp.asarray(split.labels, jnp.int32), "mask": jnp.ones((n,), jnp.float32)}


def pixel_knn_top1(dataset, mesh, k=20, temperature=0.07, chunk=500) -> float:
  """Weighted k-NN top-1 (%) of raw pixels on the test split."""
  count = make_knn_counter(mesh, dataset.num_classes, (k,), temperature)
  test = pixel_features(dataset.test, dataset.mean, dataset.std)
  bank = pixel_features(dataset.bank, dataset.mean, dataset.std)
  return knn_accuracy(count, test, bank, chunk)[f"knn{k}_top1"]


def linear_probe_top1(train, test, num_classes, epochs=10, batch_size=128, base_lr=0.5,
                      seed=0) -> float:
  """Top-1 (%) on ``test`` of a softmax classifier trained on ``train``
  ``Features`` with the quick linear protocol."""
  n = int(train["features"].shape[0])
  steps_per_epoch = n // batch_size
  lr = optax.cosine_decay_schedule(base_lr * batch_size / 256, epochs * steps_per_epoch)
  tx = optax.sgd(lr, momentum=0.9)
  probe = init_probe(tx, int(train["features"].shape[1]), num_classes)
  step = jax.jit(lambda p, x, y: probe_step(p, tx, x, y)[0])
  rng = np.random.default_rng(seed)
  for _ in range(epochs):
    order = rng.permutation(n)
    for i in range(steps_per_epoch):
      idx = order[i * batch_size:(i + 1) * batch_size]
      probe = step(probe, train["features"][idx], train["label"][idx])
  return classifier_accuracy(probe["params"], test, "linear")["linear_top1"]


def pixel_linear_top1(dataset, base_lr=5.0, **kwargs) -> float:
  """The quick linear protocol's top-1 (%) on raw pixels (scaled, above)."""
  def scaled(split):
    f = pixel_features(split, dataset.mean, dataset.std)
    return {**f, "features": f["features"] / np.sqrt(f["features"].shape[1])}
  return linear_probe_top1(scaled(dataset.bank), scaled(dataset.test), dataset.num_classes,
                           base_lr=base_lr, **kwargs)
