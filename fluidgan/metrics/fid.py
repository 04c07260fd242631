"""Fréchet distance between Gaussian fits of two feature sets (FID when the features are
Inception pool3).

    d² = ‖μ₁ − μ₂‖² + tr Σ₁ + tr Σ₂ − 2 tr (Σ₁Σ₂)^{1/2}

All in float64. The trace term is Σᵢ √λᵢ over the eigenvalues of a *symmetric* PSD matrix
with the same non-zero spectrum as Σ₁Σ₂, so no general matrix square root
(scipy.linalg.sqrtm, with its complex round-off and deprecated ``disp``) is needed:

- Σ₂ = L Lᵀ (Cholesky): Lᵀ Σ₁ L (D x D), one Cholesky and one eigvalsh;
- Σ₂ singular: Σ₁^{1/2} Σ₂ Σ₁^{1/2} (D x D);
- Σ₂ from N ≤ D centred samples B (N x D): B Σ₁ Bᵀ / (N − 1) (N x N) -- exact for
  rank-deficient covariances and much cheaper when N ≪ D.

FID is biased in N (it decreases with more samples): report N with it and compare values
only at equal N.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class GaussianStats:
    """``mu``: (D,) float64; ``sigma``: (D, D) float64 unbiased covariance; ``n`` samples."""

    mu: np.ndarray
    sigma: np.ndarray
    n: int


def gaussian_stats(features: np.ndarray) -> GaussianStats:
    """Mean and covariance (ddof = 1) of (N, D) features, accumulated in float64."""
    x = np.asarray(features, dtype=np.float64)
    if x.ndim != 2 or x.shape[0] < 2:
        raise ValueError(f"need (N >= 2, D) features, got shape {x.shape}")
    mu = x.mean(axis=0)
    centred = x - mu  # two passes: no cancellation between E[xxᵀ] and μμᵀ
    sigma = centred.T @ centred / (x.shape[0] - 1)
    return GaussianStats(mu, sigma, int(x.shape[0]))


def _symmetric(m: np.ndarray) -> np.ndarray:
    return (m + m.T) / 2


def _clip_noise(w: np.ndarray) -> np.ndarray:
    """Eigenvalues below the round-off floor D·ε·λ_max set to 0.

    A singular covariance has eigenvalues that are zero up to round-off; their square
    roots (√1e-15 ≈ 3e-8 each, over hundreds of them) would bias the trace term by far
    more than the round-off itself.
    """
    floor = w.shape[0] * np.finfo(np.float64).eps * max(float(w.max(initial=0.0)), 0.0)
    return np.where(w > floor, w, 0.0)


def _trace_sqrt_of_psd(m: np.ndarray) -> float:
    """Σᵢ √λᵢ(m) for a symmetric PSD ``m`` = tr m^{1/2}."""
    return float(np.sqrt(_clip_noise(np.linalg.eigvalsh(_symmetric(m)))).sum())


def psd_sqrt(a: np.ndarray) -> np.ndarray:
    """Symmetric square root of a symmetric positive semi-definite matrix."""
    w, v = np.linalg.eigh(_symmetric(a))
    return (v * np.sqrt(_clip_noise(w))) @ v.T


def trace_sqrt_product(sigma1: np.ndarray, sigma2: np.ndarray) -> float:
    """tr (Σ₁Σ₂)^{1/2} from two (D, D) covariances."""
    try:
        chol = np.linalg.cholesky(sigma2)
        return _trace_sqrt_of_psd(chol.T @ sigma1 @ chol)
    except np.linalg.LinAlgError:  # Σ₂ singular
        s1 = psd_sqrt(sigma1)
        return _trace_sqrt_of_psd(s1 @ sigma2 @ s1)


def frechet_distance(mu1, sigma1, mu2, sigma2) -> float:
    """d² between N(μ₁, Σ₁) and N(μ₂, Σ₂); shapes (D,), (D, D); float64 throughout."""
    mu1, mu2 = np.asarray(mu1, np.float64), np.asarray(mu2, np.float64)
    sigma1, sigma2 = np.asarray(sigma1, np.float64), np.asarray(sigma2, np.float64)
    if mu1.shape != mu2.shape or sigma1.shape != sigma2.shape:
        raise ValueError(f"feature sizes differ: {mu1.shape} vs {mu2.shape}")
    diff = mu1 - mu2
    tr_covmean = trace_sqrt_product(sigma1, sigma2)
    return float(diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2.0 * tr_covmean)


def fid_from_stats(a: GaussianStats, b: GaussianStats) -> float:
    return frechet_distance(a.mu, a.sigma, b.mu, b.sigma)


def fid_to_features(ref: GaussianStats, features: np.ndarray) -> float:
    """FID between reference statistics and (N, D) features.

    With N ≤ D the features' covariance is B Bᵀ-shaped (rank < N): the trace term comes
    from the N x N matrix B Σ_ref Bᵀ / (N − 1), exactly and in O(N D²) instead of O(D³).
    """
    x = np.asarray(features, dtype=np.float64)
    n, d = x.shape
    if d != ref.mu.shape[0]:
        raise ValueError(f"feature sizes differ: {d} vs {ref.mu.shape[0]}")
    if n > d:
        return fid_from_stats(ref, gaussian_stats(x))
    if n < 2:
        raise ValueError(f"need N >= 2 features, got {n}")
    mu = x.mean(axis=0)
    b = x - mu
    tr_sigma = float((b * b).sum()) / (n - 1)
    tr_covmean = _trace_sqrt_of_psd(b @ ref.sigma @ b.T / (n - 1))
    diff = ref.mu - mu
    return float(diff @ diff + np.trace(ref.sigma) + tr_sigma - 2.0 * tr_covmean)


def fid_from_features(f1: np.ndarray, f2: np.ndarray) -> float:
    """FID between two (N, D) feature sets."""
    return fid_to_features(gaussian_stats(f1), f2)
