"""Kernel Inception Distance (Bińkowski et al. 2018): the unbiased MMD² estimate with the
cubic polynomial kernel k(x, y) = (xᵀy / D + 1)³, averaged over random subsets.

    MMD²_u = 1/(m(m−1)) Σ_{i≠j} k(xᵢ, xⱼ) + 1/(n(n−1)) Σ_{i≠j} k(yᵢ, yⱼ) − 2/(mn) Σ_{i,j} k(xᵢ, yⱼ)

Unbiased in N (unlike FID), so values at different N are comparable; it can be negative.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class KIDResult:
    """Mean and standard deviation of MMD²_u over ``subsets`` subsets of ``subset_size``."""

    mean: float
    std: float
    subsets: int
    subset_size: int


def polynomial_kernel(
    x: np.ndarray, y: np.ndarray, degree: int = 3, coef: float = 1.0
) -> np.ndarray:
    """(m, D), (n, D) -> (m, n) kernel matrix (xᵀy / D + coef)^degree in float64."""
    return (x @ y.T / x.shape[1] + coef) ** degree


def mmd2_unbiased(x: np.ndarray, y: np.ndarray, degree: int = 3, coef: float = 1.0) -> float:
    """MMD²_u between samples x (m, D) and y (n, D), m, n >= 2."""
    x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
    m, n = x.shape[0], y.shape[0]
    k_xx = polynomial_kernel(x, x, degree, coef)
    k_yy = polynomial_kernel(y, y, degree, coef)
    k_xy = polynomial_kernel(x, y, degree, coef)
    xx = (k_xx.sum() - np.trace(k_xx)) / (m * (m - 1))
    yy = (k_yy.sum() - np.trace(k_yy)) / (n * (n - 1))
    return float(xx + yy - 2.0 * k_xy.mean())


def kernel_inception_distance(
    real: np.ndarray,
    fake: np.ndarray,
    subsets: int = 100,
    subset_size: int = 1000,
    degree: int = 3,
    coef: float = 1.0,
    seed: int = 0,
) -> KIDResult:
    """KID of (N_r, D) vs (N_f, D) features; the subset size is capped at min(N_r, N_f).

    Subsets are drawn without replacement from ``numpy.random.default_rng(seed)``; with
    subset_size = N_r = N_f every subset is the whole set and the result is exact.
    """
    size = min(subset_size, real.shape[0], fake.shape[0])
    if size < 2:
        raise ValueError("KID needs at least 2 samples on each side")
    rng = np.random.default_rng(seed)
    values = np.array(
        [
            mmd2_unbiased(
                real[rng.choice(real.shape[0], size, replace=False)],
                fake[rng.choice(fake.shape[0], size, replace=False)],
                degree,
                coef,
            )
            for _ in range(subsets)
        ]
    )
    return KIDResult(float(values.mean()), float(values.std()), subsets, int(size))
