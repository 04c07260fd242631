"""Pointwise and structural errors between a predicted field and the ground truth.

Pure functions on numpy arrays of any dimension, computed in float64. ``pred`` and ``ref``
have the same shape; ``data_range`` L is a fixed, stated constant (density lies in
[0, 1], so L = 1 by default) -- never the range of the data at hand, which would make
values of different methods and frames incomparable.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import ndimage

SSIM_K1 = 0.01
SSIM_K2 = 0.03
SSIM_SIGMA = 1.5
SSIM_TRUNCATE = 3.5  # window radius int(3.5 σ + 0.5) = 5 cells: the 11-tap window of Wang et al.


def _f64(x: np.ndarray) -> np.ndarray:
    return np.asarray(x, dtype=np.float64)


def _check(pred: np.ndarray, ref: np.ndarray) -> None:
    if np.shape(pred) != np.shape(ref):
        raise ValueError(f"shapes differ: prediction {np.shape(pred)} vs reference {np.shape(ref)}")


def squared_error_sum(pred: np.ndarray, ref: np.ndarray, mask: np.ndarray | None = None) -> float:
    """Σ (pred − ref)² over all cells (or the cells where ``mask`` is true)."""
    _check(pred, ref)
    diff = _f64(pred) - _f64(ref)
    if mask is not None:
        diff = diff[mask]
    return float(np.dot(diff.ravel(), diff.ravel()))


def mse(pred: np.ndarray, ref: np.ndarray, mask: np.ndarray | None = None) -> float:
    """MSE = Σ (pred − ref)² / n over the n cells (of ``mask``); NaN when n = 0."""
    n = int(np.count_nonzero(mask)) if mask is not None else int(np.size(ref))
    return squared_error_sum(pred, ref, mask) / n if n else math.nan


def psnr_from_mse(value: float, data_range: float = 1.0) -> float:
    """PSNR = 10 log₁₀(L² / MSE) in dB; +inf for MSE = 0, NaN for an undefined MSE."""
    if math.isnan(value):
        return math.nan
    if value == 0:
        return math.inf
    return 10.0 * math.log10(data_range**2 / value)


def psnr(
    pred: np.ndarray, ref: np.ndarray, data_range: float = 1.0, mask: np.ndarray | None = None
) -> float:
    """PSNR = 10 log₁₀(L² / MSE) dB with the fixed data range L, MSE over all cells (or
    ``mask``). Over a sequence (T, *S) this is the pooled PSNR (one MSE over all frames)."""
    return psnr_from_mse(mse(pred, ref, mask), data_range)


def smoke_mask(ref: np.ndarray, threshold: float = 0.01) -> np.ndarray:
    """Cells where the ground-truth density exceeds ``threshold`` (absolute density).

    The mask comes from the reference only, so every method is scored on the same cells;
    it keeps PSNR from being dominated by empty air that every method gets right.
    """
    return np.asarray(ref) > threshold


def relative_l2(pred: np.ndarray, ref: np.ndarray) -> float:
    """‖pred − ref‖₂ / ‖ref‖₂ over all cells; +inf when ref = 0 and pred ≠ 0, 0 when both are 0."""
    num = math.sqrt(squared_error_sum(pred, ref))
    den = float(np.linalg.norm(_f64(ref).ravel()))
    if den == 0:
        return 0.0 if num == 0 else math.inf
    return num / den


def ssim_window_radius(sigma: float = SSIM_SIGMA, truncate: float = SSIM_TRUNCATE) -> int:
    return int(truncate * sigma + 0.5)


def _blur(a: np.ndarray, sigma: float, truncate: float) -> np.ndarray:
    return ndimage.gaussian_filter(a, sigma, mode="reflect", truncate=truncate)


def local_moments(
    x: np.ndarray, sigma: float = SSIM_SIGMA, truncate: float = SSIM_TRUNCATE
) -> tuple[np.ndarray, np.ndarray]:
    """Local mean μ and variance σ² of ``x`` under the SSIM window (float64, shape of x).

    Computed once per reference frame when several predictions are scored against it.
    """
    x = _f64(x)
    mu = _blur(x, sigma, truncate)
    return mu, _blur(x * x, sigma, truncate) - mu * mu


def ssim_map(
    pred: np.ndarray,
    ref: np.ndarray,
    data_range: float = 1.0,
    sigma: float = SSIM_SIGMA,
    truncate: float = SSIM_TRUNCATE,
    ref_moments: tuple[np.ndarray, np.ndarray] | None = None,
) -> np.ndarray:
    """Local SSIM of one d-dimensional field (Wang, Bovik, Sheikh, Simoncelli 2004)::

        SSIM = (2 μ_x μ_y + C₁)(2 σ_xy + C₂) / ((μ_x² + μ_y² + C₁)(σ_x² + σ_y² + C₂))
        C₁ = (K₁ L)², C₂ = (K₂ L)², K₁ = 0.01, K₂ = 0.03, L = ``data_range``

    μ, σ², σ_xy are local moments under an isotropic Gaussian window (σ = 1.5 cells,
    truncated at 3.5 σ, borders mirrored), population (not sample) moments -- the
    settings of the paper and of scikit-image's ``gaussian_weights=True``. Every axis of
    the arrays is spatial: call it once per frame. ``ref_moments``: :func:`local_moments`
    of ``ref`` if already known.
    """
    _check(pred, ref)
    x, y = _f64(pred), _f64(ref)
    mu_x, var_x = local_moments(x, sigma, truncate)
    mu_y, var_y = ref_moments if ref_moments is not None else local_moments(y, sigma, truncate)
    cov = _blur(x * y, sigma, truncate) - mu_x * mu_y
    c1 = (SSIM_K1 * data_range) ** 2
    c2 = (SSIM_K2 * data_range) ** 2
    return ((2 * mu_x * mu_y + c1) * (2 * cov + c2)) / (
        (mu_x * mu_x + mu_y * mu_y + c1) * (var_x + var_y + c2)
    )


def ssim(
    pred: np.ndarray,
    ref: np.ndarray,
    data_range: float = 1.0,
    sigma: float = SSIM_SIGMA,
    truncate: float = SSIM_TRUNCATE,
    ref_moments: tuple[np.ndarray, np.ndarray] | None = None,
) -> float:
    """Mean SSIM of one d-dimensional field (see :func:`ssim_map`).

    The mean leaves out a border of one window radius (5 cells) along every axis longer
    than two radii, where the mirrored padding would bias the local moments -- as
    scikit-image does. 1 for identical fields; in [-1, 1].
    """
    local = ssim_map(pred, ref, data_range, sigma, truncate, ref_moments)
    r = ssim_window_radius(sigma, truncate)
    inner = tuple(slice(r, n - r) if n > 2 * r else slice(None) for n in local.shape)
    return float(local[inner].mean())
