"""Low-res data derived from the high-res simulation, every frame (docs/METHOD.md).

Density is blurred with a Gaussian of sigma = f / (2 sqrt(pi)) high-res cells (the width
whose frequency response matches a box filter of f cells at low frequencies, mantaflow's
``blurRealGrid``) and sampled linearly at the coarse cell centres. Velocity likewise, then
divided by f so that it is in coarse cells per frame.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import ndimage


def blur_sigma(factor: int) -> float:
    return factor / (2.0 * math.sqrt(math.pi))


def blur(field: np.ndarray, factor: int, axes: tuple[int, ...] | None = None) -> np.ndarray:
    """Gaussian blur over the spatial ``axes`` (default all), replicating the border."""
    return ndimage.gaussian_filter(
        field, blur_sigma(factor), mode="nearest", truncate=3.0, axes=axes
    )


def sample_coarse(field: np.ndarray, factor: int, axes: tuple[int, ...]) -> np.ndarray:
    """Linear samples at the coarse cell centres along ``axes``.

    Coarse cell I has its centre at fine index coordinate (I + 0.5)·f − 0.5; the weights
    are the same for every coarse cell, so each axis is two strided slices.
    """
    c0 = 0.5 * factor - 0.5
    lo, w = math.floor(c0), np.float32(c0 - math.floor(c0))
    out = field
    for axis in axes:
        picks = np.arange(field.shape[axis] // factor) * factor + lo
        below = np.take(out, picks, axis=axis)
        out = below if w == 0 else (1 - w) * below + w * np.take(out, picks + 1, axis=axis)
    return out.astype(np.float32)


def derive_low(
    density: np.ndarray, velocity: np.ndarray, factor: int
) -> tuple[np.ndarray, np.ndarray]:
    """One high-res frame -> its low-res frame.

    density (*S) and velocity (*S, d) in high-res cells per frame ->
    density (*s) and velocity (*s, d) in low-res cells per frame, s = S / f.
    """
    dim = density.ndim
    axes = tuple(range(dim))
    low_density = sample_coarse(blur(density, factor), factor, axes)
    low_velocity = sample_coarse(blur(velocity, factor, axes), factor, axes) / np.float32(factor)
    return low_density, low_velocity.astype(np.float32)
