"""Collapse diagnostics of an embedding: the quantities INTL and W-MSE study.

- Eigenvalue spectrum of the embedding covariance (INTL Fig. 1 / 3): a
  dimensional collapse shows as eigenvalues falling off a cliff.
- Effective rank (Roy & Vetterli 2007): ``exp(H(p))`` with ``p_i = λ_i / Σλ``
  the normalised covariance eigenvalues; D for a white embedding, 1 when all
  variance lies along one direction.
- Per-dimension std of the L2-normalised embedding (SimSiam Fig. 2): about
  1/sqrt(D) when the embedding spreads over the sphere, 0 at collapse.
- Histogram of pairwise cosine similarities: all mass near 1 is collapse.
"""
from typing import Dict

import jax
import jax.numpy as jnp
from jax import lax

from ssl_jax.kernels.similarity import l2_normalize, pairwise_dot

HISTOGRAM_BINS = 20


def masked_covariance(z, mask):
  """Unbiased covariance of the rows with mask 1: [M, D], [M] -> [D, D] float32."""
  z = jnp.asarray(z, jnp.float32)
  w = jnp.asarray(mask, jnp.float32)[:, None]
  n = jnp.sum(w)
  centred = (z - jnp.sum(w * z, 0) / n) * w
  return jnp.matmul(centred.T, centred, precision=lax.Precision.HIGHEST) / (n - 1.0)


def covariance_spectrum(z, mask):
  """Eigenvalues of the masked covariance, descending and clipped at 0: [D]."""
  eigenvalues = jnp.linalg.eigvalsh(masked_covariance(z, mask))
  return jnp.maximum(eigenvalues[::-1], 0.0)


def effective_rank(eigenvalues):
  """exp of the Shannon entropy of ``λ / Σλ`` (zero eigenvalues contribute 0)."""
  p = eigenvalues / jnp.sum(eigenvalues)
  entropy = -jnp.sum(jnp.where(p > 0, p * jnp.log(jnp.where(p > 0, p, 1.0)), 0.0))
  return jnp.exp(entropy)


def normalized_std(z, mask):
  """[D] std of each dimension of the L2-normalised rows with mask 1."""
  zn = l2_normalize(z)
  w = jnp.asarray(mask, jnp.float32)[:, None]
  n = jnp.sum(w)
  mean = jnp.sum(w * zn, 0) / n
  return jnp.sqrt(jnp.sum(w * (zn - mean) ** 2, 0) / n)


def cosine_histogram(z, mask, max_rows: int = 1024):
  """Fractions of distinct pairs (among the first ``max_rows`` rows) per cosine bin.

  Bins split [-1, 1] into ``HISTOGRAM_BINS`` equal parts.
  """
  zn = l2_normalize(z[:max_rows])
  w = jnp.asarray(mask[:max_rows], jnp.float32)
  cos = jnp.clip(pairwise_dot(zn, zn), -1.0, 1.0)
  pair = w[:, None] * w[None, :] * (1.0 - jnp.eye(zn.shape[0]))
  counts, _ = jnp.histogram(cos, bins=HISTOGRAM_BINS, range=(-1.0, 1.0), weights=pair)
  return counts / jnp.maximum(jnp.sum(counts), 1.0)


@jax.jit
def spectrum_and_rank(z, mask) -> Dict[str, jax.Array]:
  """Covariance eigenvalues [D] and effective rank of ``z`` [M, D]."""
  eigenvalues = covariance_spectrum(z, mask)
  return {"spectrum": eigenvalues, "effective_rank": effective_rank(eigenvalues)}


@jax.jit
def collapse_diagnostics(z, mask) -> Dict[str, jax.Array]:
  """All diagnostics of embedding ``z`` [M, D] with row mask [M]."""
  eigenvalues = covariance_spectrum(z, mask)
  std = normalized_std(z, mask)
  return {"effective_rank": effective_rank(eigenvalues),
          "embedding_std": jnp.mean(std),
          "spectrum": eigenvalues,
          "dimension_std": std,
          "cosine_histogram": cosine_histogram(z, mask)}
