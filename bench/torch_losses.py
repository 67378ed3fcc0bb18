"""The losses of bench/torch_reference.py in PyTorch, as ssl_jax's kernels
compute them (tests/test_torch_reference.py checks the values agree)."""
import torch
import torch.nn.functional as F


def simclr(views, temperature):
  """NT-Xent over V views [V, N, D]: each row's positives are its other views."""
  v, n, _ = views.shape
  z = F.normalize(views.reshape(v * n, -1), dim=-1)
  s = z @ z.T / temperature
  ids = torch.arange(v * n, device=z.device) % n
  self_mask = torch.eye(v * n, dtype=torch.bool, device=z.device)
  pos_mask = (ids[:, None] == ids[None, :]) & ~self_mask
  neg_inf = torch.finfo(s.dtype).min
  log_pos = torch.logsumexp(s.masked_fill(~pos_mask, neg_inf), 1)
  log_all = torch.logsumexp(s.masked_fill(self_mask, neg_inf), 1)
  return (log_all - log_pos).mean()


def _iter_norm_batch(z, iters):
  """INTL's IterNorm over the batch axis: W Z̃ with W from the [N, N] Gram."""
  zc = z - z.mean(1, keepdim=True)
  sigma = zc @ zc.T / (z.shape[1] - 1)
  trace = sigma.diagonal().sum().clamp_min(1e-8)
  sigma_n = sigma / trace
  eye = torch.eye(sigma.shape[0], device=z.device, dtype=z.dtype)
  p = eye
  for _ in range(iters):
    p = 1.5 * p - 0.5 * torch.linalg.matrix_power(p, 3) @ sigma_n
  return (p / trace.sqrt()) @ zc


def _trace_loss(t):
  tc = t - t.mean(1, keepdim=True)
  var = (tc * tc).sum(1) / (t.shape[1] - 1)
  return ((var - 1) ** 2).sum()


def intl(views, iters):
  """INTL without a teacher: nmse of views 1.. against view 0, whitened, plus
  β (TL(t_i) + TL(t_0)), β = 0.01 (log2 N - 3)."""
  n = views.shape[1]
  beta = 0.01 * (torch.log2(torch.tensor(float(n))) - 3.0)
  t = [_iter_norm_batch(z, iters) for z in views]
  anchor, queries = t[0], t[1:]
  mse = torch.stack([2 - 2 * F.cosine_similarity(q, anchor, dim=-1).mean()
                     for q in queries]).mean()
  trace = torch.stack([_trace_loss(q) + _trace_loss(anchor) for q in queries]).mean()
  return mse + beta * trace


@torch.no_grad()
def mira_targets(logits, tau, beta, iters):
  """MIRA's fixed point in log space (``kernels.mira_targets``)."""
  b = logits.shape[0]
  log_k = F.log_softmax(logits / (tau * (1 - beta)), dim=1)
  power = -beta / (1 - beta)
  log_v_of = lambda log_t: (1 - beta) * (torch.logsumexp(log_t, 0) - torch.log(
      torch.tensor(float(b))))
  log_v = log_v_of(log_k)
  for _ in range(iters):
    log_t = log_k - torch.logsumexp(power * log_v + log_k, 1, keepdim=True)
    log_v = log_v_of(log_t)
  log_w = power * log_v + log_k
  return torch.softmax(log_w, 1)


def mira(student, teacher, tau_s, tau_t, beta, iters):
  """½ Σ_t mean over crops ≠ t of CE(targets_t, student / τ_s)."""
  total = 0.0
  for t in range(2):
    target = mira_targets(teacher[t], tau_t, beta, iters)
    others = torch.stack([student[v] for v in range(student.shape[0]) if v != t])
    total = total + (-(target[None] * F.log_softmax(others / tau_s, -1)).sum(-1)).mean()
  return total / 2
