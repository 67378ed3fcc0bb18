"""Times every special loss kernel against a plain NumPy version of its formula.

    python bench/kernels.py [--quick] [--repeats=5]

Each kernel runs jitted and warm (compile excluded); the time is the median
of ``--repeats`` runs, blocked until ready, alternating with the NumPy
version so both meet the same conditions.  The NumPy column computes the
same formula in float32 the straightforward way (SwAV's and MIRA's loops,
INTL's Newton-Schulz loop, W-MSE's Cholesky); ``speed-up`` is NumPy / JAX.
The second table gives the loss kernels' share of a train step at the
ImageNet configs' shapes: kernel time / (kernel time + the backbone's
forward and backward for the same global batch and views), the backbone
measured here on a few images and scaled linearly.  ``--quick`` shrinks
the largest shapes so the whole script takes minutes on a 2-core CPU.
"""
import argparse
import os
import sys
import time

import numpy as np
from scipy.linalg import solve_triangular
from scipy.special import logsumexp

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import jax  # pylint: disable=g-import-not-at-top,wrong-import-position
import jax.numpy as jnp  # pylint: disable=g-import-not-at-top,wrong-import-position

from bench.timing import median_seconds, paired_median_seconds  # pylint: disable=g-import-not-at-top,wrong-import-position
from ssl_jax import kernels  # pylint: disable=g-import-not-at-top,wrong-import-position


# ---- NumPy versions of the formulas (float32, the straightforward way) ----

def np_sinkhorn(scores, epsilon=0.05, iters=3):
  q = np.exp((scores - scores.max()) / epsilon).T  # [K, B], SwAV's layout
  q /= q.sum()
  k, b = q.shape
  for _ in range(iters):
    q /= q.sum(axis=1, keepdims=True) * k
    q /= q.sum(axis=0, keepdims=True) * b
  return (q * b).T


def np_mira(logits, tau=0.225, beta=2.0 / 3.0, iters=30):
  b = logits.shape[0]
  log_k = logits / (tau * (1 - beta))
  log_k = log_k - logsumexp(log_k, axis=1, keepdims=True)
  power = -beta / (1 - beta)
  log_v = (1 - beta) * (logsumexp(log_k, axis=0) - np.log(b))
  for _ in range(iters):
    log_t = log_k - logsumexp(power * log_v + log_k, axis=1, keepdims=True)
    log_v = (1 - beta) * (logsumexp(log_t, axis=0) - np.log(b))
  log_w = power * log_v + log_k
  return np.exp(log_w - logsumexp(log_w, axis=1, keepdims=True))


def np_iter_norm(z, iters=4):
  zc = z - z.mean(axis=1, keepdims=True)
  sigma = zc @ zc.T / (z.shape[1] - 1)
  trace = np.trace(sigma)
  sigma_n = sigma / trace
  p = np.eye(len(sigma), dtype=z.dtype)
  for _ in range(iters):
    p = 1.5 * p - 0.5 * (p @ p @ p) @ sigma_n
  return (p / np.sqrt(trace)) @ zc


def np_cholesky_whiten(z):
  zc = z - z.mean(axis=0, keepdims=True)
  chol = np.linalg.cholesky(zc.T @ zc / (len(z) - 1))
  return solve_triangular(chol, zc.T, lower=True).T


def np_moco(q, k, queue, temperature=0.2):
  q = q / np.linalg.norm(q, axis=1, keepdims=True)
  k = k / np.linalg.norm(k, axis=1, keepdims=True)
  logits = np.concatenate([(q * k).sum(1, keepdims=True), q @ queue.T], 1) / temperature
  return np.mean(logsumexp(logits, axis=1) - logits[:, 0])


def np_sce(q, k, queue, lam=0.5, temperature=0.1, temperature_m=0.07):
  q = q / np.linalg.norm(q, axis=1, keepdims=True)
  k = k / np.linalg.norm(k, axis=1, keepdims=True)
  sim_q = np.concatenate([(q * k).sum(1, keepdims=True), q @ queue.T], 1)
  sim_k = np.concatenate([np.zeros((len(k), 1), np.float32), k @ queue.T], 1)
  p_k = np.exp(sim_k / temperature_m - logsumexp(sim_k / temperature_m, 1, keepdims=True))
  w = (1 - lam) * p_k
  w[:, 0] += lam
  log_p = sim_q / temperature - logsumexp(sim_q / temperature, 1, keepdims=True)
  return -np.mean((w * log_p).sum(1))


# ---- The cases ----

def _normalized(rng, *shape):
  x = rng.normal(size=shape).astype(np.float32)
  return x / np.linalg.norm(x, axis=-1, keepdims=True)


def cases(quick):
  """(name, shape text, jax fn, numpy fn, args) at the benchmark shapes."""
  rng = np.random.default_rng(0)
  b, k = (1024, 3000) if quick else (4096, 3000)
  scores = _normalized(rng, b, 128) @ _normalized(rng, k, 128).T
  out = [("sinkhorn (3 iters)", f"B={b} K={k}", kernels.sinkhorn_knopp, np_sinkhorn, (scores,)),
         ("mira fixed point (30 iters)", f"B={b} K={k}", kernels.mira_targets, np_mira,
          (scores,))]
  d = 8192
  for n in ((256, 1024) if quick else (256, 1024, 4096)):
    z = rng.normal(size=(n, d)).astype(np.float32)
    out.append(("iternorm (batch Gram, T=4)", f"N={n} D={d}", kernels.iter_norm,
                np_iter_norm, (z,)))
  for dim in (64, 128, 256, 512):
    z = rng.normal(size=(4 * dim, dim)).astype(np.float32)
    out.append(("cholesky whitening", f"N={4 * dim} D={dim}", kernels.cholesky_whiten,
                np_cholesky_whiten, (z,)))
  queue_size = 16384 if quick else 65536
  q, kk = rng.normal(size=(2, 256, 128)).astype(np.float32)
  queue = _normalized(rng, queue_size, 128)
  out.append(("moco v2 NT-Xent + queue", f"N=256 Q={queue_size} D=128", kernels.mocov2_loss,
              np_moco, (q, kk, queue)))
  out.append(("sce + queue", f"N=256 Q={queue_size} D=128", kernels.sce_loss, np_sce,
              (q, kk, queue)))
  return out


def kernel_table(quick, repeats):
  print("| kernel | shape | JAX (ms) | NumPy (ms) | speed-up |")
  print("|---|---|---|---|---|")
  for name, shape, fn, np_fn, args in cases(quick):
    jitted = jax.jit(fn)
    device_args = [jnp.asarray(a) for a in args]
    want = np_fn(*args)
    got = np.asarray(jitted(*device_args))
    np.testing.assert_allclose(got, want, rtol=2e-2, atol=2e-3)  # the same formula
    t_jax, t_np = paired_median_seconds(lambda: jitted(*device_args), lambda: np_fn(*args),
                                        repeats)
    print(f"| {name} | {shape} | {t_jax * 1e3:.1f} | {t_np * 1e3:.1f} | "
          f"{t_np / t_jax:.1f}x |", flush=True)


# ---- Share of a train step at the ImageNet configs' shapes ----

SHARE_CONFIGS = ("intl_imagenet", "mira_imagenet", "sce_imagenet")


def _load_config(name):
  import importlib  # pylint: disable=g-import-not-at-top
  return importlib.import_module(f"configs.{name}").get_config()


def _loss_inputs(method, views, n, rng):
  """Online and target heads' outputs of the right shapes for ``method.loss``."""
  head, keys = method.head, jax.random.split(rng, 4)
  dim = head.projector.out_dim
  online_views = len(method.online_views(len(views), views.num_global))
  target_views = len(method.target_views(views.num_global))

  def outputs(v, key, with_prediction):
    out = {"projection": jax.random.normal(key, (v, n, dim))}
    if head.prototypes is not None:
      out["logits"] = jnp.tanh(jax.random.normal(key, (v, n, head.prototypes.num)))
    if with_prediction and head.predictor is not None:
      out["prediction"] = jax.random.normal(keys[3], (v, n, head.predictor.out_dim))
    return out

  online = outputs(online_views, keys[0], True)
  target = outputs(target_views, keys[1], False) if method.uses_target else None
  return online, target, method.init_state(keys[2], dim)


def _loss_seconds(method, views, n, repeats):
  """Forward and backward of the method's loss (all its kernels) at batch n."""
  online, target, state = _loss_inputs(method, views, n, jax.random.key(0))
  step = jnp.asarray(1000, jnp.int32)
  grad = jax.jit(jax.grad(lambda o: method.loss(o, target, state, step,
                                                jax.random.key(1))[0]))
  return median_seconds(lambda: grad(online), repeats)


def _backbone_seconds_per_image(config, size, repeats, images):
  """Forward + backward of the config's backbone, per image at ``size`` px,
  timed on ``images`` images (enough to fill an accelerator; few on a CPU)."""
  from ssl_jax.models import build_backbone  # pylint: disable=g-import-not-at-top
  model = build_backbone(config.model)
  x = jnp.zeros((1, images, size, size, 3))
  variables = model.init(jax.random.key(0), x, train=True)

  def loss(params):
    out, _ = model.apply({"params": params, "batch_stats": variables["batch_stats"]}, x,
                         train=True, mutable=["batch_stats"])
    return jnp.sum(out)

  grad = jax.jit(jax.grad(loss))
  return median_seconds(lambda: grad(variables["params"]), repeats) / images


def share_table(quick, repeats, backbone_images):
  from ssl_jax.data.views import VIEW_PRESETS  # pylint: disable=g-import-not-at-top
  from ssl_jax.methods import build_method  # pylint: disable=g-import-not-at-top
  scale = 8 if quick else 1
  print(f"\n| config | global batch{' / 8' if quick else ''} | views | loss fwd+bwd (s) | "
        "backbone fwd+bwd (s, scaled) | loss share |")
  print("|---|---|---|---|---|---|")
  per_image = {}
  for name in SHARE_CONFIGS:
    config = _load_config(name)
    views = VIEW_PRESETS.lookup(config.data.views)
    n = config.train.batch_size // scale
    method = build_method(config.method, total_steps=100000, steps_per_epoch=1000)
    t_loss = _loss_seconds(method, views, n, repeats)
    t_backbone = 0.0
    for spec in views.views:
      key = (config.model.name, spec.size)
      if key not in per_image:
        per_image[key] = _backbone_seconds_per_image(config, spec.size, max(1, repeats // 2),
                                                     backbone_images)
      t_backbone += per_image[key] * n
    sizes = "+".join(str(v.size) for v in views.views)
    print(f"| {name} | {n} | {sizes} | {t_loss:.3f} | {t_backbone:.1f} | "
          f"{100 * t_loss / (t_loss + t_backbone):.2f} % |", flush=True)


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--quick", action="store_true", help="smaller shapes (2-core CPU)")
  parser.add_argument("--repeats", type=int, default=5)
  parser.add_argument("--skip_share", action="store_true", help="kernel table only")
  parser.add_argument("--backbone_images", type=int, default=2,
                      help="images per backbone timing in the share table (64+ on a GPU)")
  args = parser.parse_args()
  print(f"{jax.devices()[0].device_kind} x{jax.device_count()}, jax {jax.__version__}, "
        f"{time.strftime('%Y-%m-%d')}\n")
  kernel_table(args.quick, args.repeats)
  if not args.skip_share:
    share_table(args.quick, args.repeats, args.backbone_images)


if __name__ == "__main__":
  main()
