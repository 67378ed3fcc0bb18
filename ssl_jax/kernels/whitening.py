"""Cholesky whitening and the W-MSE loss.

Ermolov et al., "Whitening for Self-Supervised Representation Learning"
(official code and solo-learn's ``Whitening2d``):

    Z̃ = Z - mean(Z),  C = Z̃ᵀZ̃ / (N-1),  C' = (1-ε) C + ε I,
    C' = L Lᵀ (Cholesky),  W = L⁻¹,  output Z̃ Wᵀ          (cov(output) = I)

In jit a failed Cholesky (singular C', e.g. D > N with ε = 0) returns NaN
without an error; here it falls back to C' + δ I with δ a small fraction of
the mean variance, only when the first factorisation is not finite.
"""
import jax
import jax.numpy as jnp
from jax import lax

from ssl_jax.kernels.similarity import cosine_similarity

_HIGHEST = lax.Precision.HIGHEST


def _cholesky_with_fallback(c, jitter):
  d = c.shape[0]
  mean_var = jnp.trace(c) / d
  # A scale-free shift; all-constant input (zero variance) gets jitter itself.
  shift = jitter * jnp.where(mean_var > 1e-30, mean_var, 1.0)
  # Decide on a gradient-free trial factorisation, then factorise inside the
  # chosen branch: a NaN factor kept in the graph would turn its (zero)
  # cotangent into NaN gradients.
  ok = jnp.all(jnp.isfinite(jnp.linalg.cholesky(lax.stop_gradient(c))))
  eye = jnp.eye(d, dtype=c.dtype)
  return lax.cond(ok, jnp.linalg.cholesky,
                  lambda m: jnp.linalg.cholesky(m + shift * eye), c)


def cholesky_whiten(z, eps=0.0, jitter=1e-4):
  """W-MSE whitening of a batch.

  Args:
    z: [N, D] embeddings.
    eps: shrinkage toward I, ``C' = (1-ε) C + ε I`` (the reference's ``w_eps``).
    jitter: relative diagonal shift used only if the Cholesky of C' fails.
  Returns:
    [N, D] float32 whitened embeddings.
  """
  z = jnp.asarray(z, jnp.float32)
  n, d = z.shape
  zc = z - jnp.mean(z, axis=0, keepdims=True)
  cov = jnp.matmul(zc.T, zc, precision=_HIGHEST) / (n - 1)
  cov = (1.0 - eps) * cov + eps * jnp.eye(d, dtype=jnp.float32)
  chol = _cholesky_with_fallback(cov, jitter)
  # Z̃ Wᵀ = Z̃ L⁻ᵀ as one right-side triangular solve X Lᵀ = Z̃ (N D² flops,
  # half a GEMM's; measured faster on CPU than forming L⁻¹ and multiplying).
  return lax.linalg.triangular_solve(chol, zc, left_side=False, lower=True,
                                     transpose_a=True)


def wmse_loss(views, rng=None, whiten_size=None, iters=1, eps=0.0):
  """W-MSE loss: whiten each view in sub-batches, then 2 - 2 cos per pair.

      L = mean over iterations and view pairs (i < j) of
          2 - 2 mean_n cos(ẑ_i,n, ẑ_j,n)

  Args:
    views: [V, N, D] projections of V >= 2 views.
    rng: key for the random split into whitening sub-batches (one
      permutation per iteration, shared by the views); None keeps the order.
    whiten_size: sub-batch size (divides N); None whitens the whole batch.
    iters: number of random splits (``w_iter``).
    eps: whitening shrinkage.
  Returns:
    float32 scalar.
  """
  views = jnp.asarray(views, jnp.float32)
  num_views, n, d = views.shape
  size = n if whiten_size is None else whiten_size
  if n % size:
    raise ValueError(f"whiten_size {size} must divide the batch {n}")
  whiten = jax.vmap(lambda x: cholesky_whiten(x, eps))  # over sub-batches
  total = 0.0
  for it in range(iters):
    perm = (jnp.arange(n) if rng is None
            else jax.random.permutation(jax.random.fold_in(rng, it), n))
    w = [whiten(views[v][perm].reshape(n // size, size, d)).reshape(n, d)
         for v in range(num_views)]
    pairs = [(i, j) for i in range(num_views) for j in range(i + 1, num_views)]
    # Both views get gradients, as in the official norm_mse_loss (solo-learn's
    # "simplified" form stops the gradient into view j instead).
    total += sum(2.0 - 2.0 * jnp.mean(cosine_similarity(w[i], w[j]))
                 for i, j in pairs) / len(pairs)
  return total / iters
