"""NumPy (float64) references of every loss, written from the papers'
formulas and the official code, loop by loop where that is clearer."""
import math

import numpy as np


def normalize(x):
  x = np.asarray(x, np.float64)
  return x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-12)


def log_softmax(x, axis=-1):
  x = np.asarray(x, np.float64)
  m = x.max(axis=axis, keepdims=True)
  return x - m - np.log(np.exp(x - m).sum(axis=axis, keepdims=True))


def softmax(x, axis=-1):
  return np.exp(log_softmax(x, axis))


def sinkhorn(scores, epsilon=0.05, iters=3):
  q = np.exp(np.asarray(scores, np.float64) / epsilon).T
  k, b = q.shape
  q /= q.sum()
  for _ in range(iters):
    q /= q.sum(axis=1, keepdims=True)
    q /= k
    q /= q.sum(axis=0, keepdims=True)
    q /= b
  return (q * b).T


def swav(scores, assign=(0, 1), temperature=0.1, epsilon=0.05, iters=3, codes_from=None):
  """``codes_from``: scores to compute the Sinkhorn codes from (default
  ``scores``); a constant there is SwAV's stop-gradient on the codes."""
  v = len(scores)
  codes_from = scores if codes_from is None else codes_from
  total = 0.0
  for a in assign:
    codes = sinkhorn(codes_from[a], epsilon, iters)
    sub = 0.0
    for other in range(v):
      if other != a:
        sub -= np.mean(np.sum(codes * log_softmax(scores[other] / temperature), 1))
    total += sub / (v - 1)
  return total / len(assign)


def mira(logits, tau=0.225, beta=2 / 3, iters=30):
  """The official ``mira`` (single process), in float64."""
  k = softmax(np.asarray(logits, np.float64) / tau / (1 - beta), axis=1)
  bs = k.shape[0]
  v = (k.sum(0) / bs) ** (1 - beta)
  for _ in range(iters):
    temp = k / (v ** (-beta / (1 - beta)) * k).sum(1, keepdims=True)
    v = (temp.sum(0) / bs) ** (1 - beta)
  temp = v ** (-beta / (1 - beta)) * k
  return temp / temp.sum(1, keepdims=True)


def mira_loss(student, teacher, tau_s=0.1, tau_t=0.225, beta=2 / 3, iters=30):
  out = 0.0
  for t in range(2):
    target = mira(teacher[t], tau_t, beta, iters)
    qs = np.concatenate([student[v] for v in range(len(student)) if v != t])
    tgt = np.tile(target, (len(student) - 1, 1))
    out += -np.mean(np.sum(tgt * log_softmax(qs / tau_s), 1))
  return out / 2


def cholesky_whiten(z, eps=0.0):
  z = np.asarray(z, np.float64)
  zc = z - z.mean(0)
  c = zc.T @ zc / (len(z) - 1)
  c = (1 - eps) * c + eps * np.eye(c.shape[0])
  return zc @ np.linalg.inv(np.linalg.cholesky(c)).T


def wmse(views, whiten_size=None, eps=0.0):
  v, n, _ = views.shape
  size = whiten_size or n
  w = [np.concatenate([cholesky_whiten(x[i:i + size], eps) for i in range(0, n, size)])
       for x in views]
  losses = [2 - 2 * np.mean(np.sum(normalize(w[i]) * normalize(w[j]), 1))
            for i in range(v) for j in range(i + 1, v)]
  return np.mean(losses)


def simclr(views, temperature=0.1):
  v, n, d = views.shape
  z = normalize(np.reshape(views, (v * n, d)))
  sim = np.exp(z @ z.T / temperature)
  ids = np.tile(np.arange(n), v)
  pos = (ids[:, None] == ids[None]) & ~np.eye(v * n, dtype=bool)
  neg = ids[:, None] != ids[None]
  return -np.mean(np.log((sim * pos).sum(1) / ((sim * pos).sum(1) + (sim * neg).sum(1))))


def mocov2(q, k, queue, temperature=0.2):
  q, k = normalize(q), normalize(k)
  logits = np.concatenate([(q * k).sum(1, keepdims=True), q @ queue.T], 1) / temperature
  return -np.mean(log_softmax(logits)[:, 0])


def mocov3(q, k, temperature=1.0):
  q, k = normalize(q), normalize(k)
  logp = log_softmax(q @ k.T / temperature)
  return -np.mean(np.diag(logp)) * 2 * temperature


def mio_pairwise(z1, z2, tp=0.5, tn=0.5, lam=1.0, regularizer="mean"):
  """MIO Eq. 5: per anchor, its positive and the mean over its 2N-2 negatives."""
  a, b = normalize(z1), normalize(z2)
  n = len(a)
  z = np.concatenate([a, b])
  sig = lambda x: 1 / (1 + np.exp(-x))
  total = 0.0
  for j in range(2 * n):
    k = (j + n) % (2 * n)
    neg = [np.log(1 - sig(z[j] @ z[i] / tn)) for i in range(2 * n) if i not in (j, k)]
    total += np.log(sig(z[j] @ z[k] / tp)) + np.mean(neg)
  base = -total / (2 * n)
  sq = (a - b) ** 2
  return base + lam * (sq.mean() if regularizer == "mean" else sq.sum())


def sce(q, k, queue, lam=0.5, temperature=0.1, temperature_m=0.07, in_batch=False):
  """eztorch ``compute_sce_loss``."""
  q, k = normalize(q), normalize(k)
  n = len(q)
  if in_batch:
    sim_q, sim_k = q @ k.T, k @ k.T - 1e9 * np.eye(n)
    mask = np.eye(n)
  else:
    sim_q, sim_k = (q * k).sum(1, keepdims=True), np.zeros((n, 1))
    mask = np.zeros((n, 1))
    mask[:, 0] = 1
  if queue is not None:
    sim_q = np.concatenate([sim_q, q @ queue.T], 1)
    sim_k = np.concatenate([sim_k, k @ queue.T], 1)
    mask = np.concatenate([mask, np.zeros((n, len(queue)))], 1)
  w = lam * mask + (1 - lam) * softmax(sim_k / temperature_m)
  w /= w.sum(1, keepdims=True)
  return -np.mean(np.sum(w * log_softmax(sim_q / temperature), 1))


def ressl(q, k, queue, temperature=0.1, temperature_m=0.04):
  q, k = normalize(q), normalize(k)
  return -np.mean(np.sum(softmax(k @ queue.T / temperature_m)
                         * log_softmax(q @ queue.T / temperature), 1))


def nnclr(z, p, support, temperature=0.1):
  """solo-learn's find_nn and nnclr_loss_func on one device."""
  nn = support[np.argmax(normalize(z) @ support.T, axis=1)]
  logits = normalize(nn) @ normalize(p).T / temperature
  return -np.mean(np.diag(log_softmax(logits)))


def byol(p, z):
  """DeepMind's regression_loss: squared distance of the unit vectors."""
  return np.mean(np.sum((normalize(p) - normalize(z)) ** 2, 1))


def simsiam(p, z):
  return -np.mean(np.sum(normalize(p) * normalize(z), 1))


def barlow(z1, z2, lambd=5e-3, scale=1.0):
  bn = lambda z: (z - z.mean(0)) / np.sqrt(z.var(0) + 1e-5)
  c = bn(np.asarray(z1, np.float64)).T @ bn(np.asarray(z2, np.float64)) / len(z1)
  off = ~np.eye(c.shape[0], dtype=bool)
  return scale * (((1 - np.diag(c)) ** 2).sum() + lambd * (c[off] ** 2).sum())


def vicreg(z1, z2):
  z1, z2 = np.asarray(z1, np.float64), np.asarray(z2, np.float64)
  n, d = z1.shape
  inv = np.mean((z1 - z2) ** 2)
  std = lambda z: np.sqrt(z.var(0, ddof=1) + 1e-4)
  var = np.mean(np.maximum(0, 1 - std(z1))) + np.mean(np.maximum(0, 1 - std(z2)))
  def cov_term(z):
    zc = z - z.mean(0)
    c = zc.T @ zc / (n - 1)
    return (c[~np.eye(d, dtype=bool)] ** 2).sum() / d
  return 25 * inv + 25 * var + cov_term(z1) + cov_term(z2)


def vibcreg(z1, z2):
  """solo-learn's vibcreg_loss_func (weights 25, 25, 200) on one device."""
  z1, z2 = np.asarray(z1, np.float64), np.asarray(z2, np.float64)
  inv = np.mean((z1 - z2) ** 2)
  std = lambda z: np.sqrt(z.var(0, ddof=1) + 1e-4)
  var = np.mean(np.maximum(0, 1 - std(z1))) + np.mean(np.maximum(0, 1 - std(z2)))
  def corr_term(z):
    zc = z - z.mean(0)
    zn = zc / np.maximum(np.linalg.norm(zc, axis=0), 1e-12)
    c = zn.T @ zn
    np.fill_diagonal(c, 0.0)
    return np.mean(c ** 2)
  return 25 * inv + 25 * var + 200 * (corr_term(z1) + corr_term(z2))


def dino(student, teacher, center, ts=0.1, tt=0.04):
  total, count = 0.0, 0
  probs = softmax((teacher - center) / tt)
  for i in range(len(teacher)):
    for j in range(len(student)):
      if i != j:
        total += np.mean(-np.sum(probs[i] * log_softmax(student[j] / ts), 1))
        count += 1
  return total / count


def trade_off(bs):
  return 0.01 * (math.log2(bs) - 3)


def koleo(x, eps=1e-8):
  """-mean_i log min_{j != i} ||x̂_i - x̂_j|| (DINOv2's KoLeoLoss, float64)."""
  x = normalize(x)
  distance = np.linalg.norm(x[:, None] - x[None], axis=-1)
  np.fill_diagonal(distance, np.inf)
  return -np.mean(np.log(distance.min(axis=1) + eps))


def mae(pred, target, mask, norm_pix=True, eps=1e-6):
  """MAE's ``forward_loss``, patch by patch: each target patch normalised by
  its mean and unbiased variance, the squared error averaged over its
  values, then over the removed patches (mask 1)."""
  total = count = 0.0
  for n in range(pred.shape[0]):
    for l in range(pred.shape[1]):
      t = np.asarray(target[n, l], np.float64)
      if norm_pix:
        t = (t - t.mean()) / math.sqrt(t.var(ddof=1) + eps)
      total += mask[n, l] * np.mean((np.asarray(pred[n, l], np.float64) - t) ** 2)
      count += mask[n, l]
  return total / count
