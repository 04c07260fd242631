"""Radially averaged spectra: where in wavenumber a field holds its energy.

Wavenumbers are in **cycles per box length along the longest axis** (cells are cubes, so a
grid of shape S spans S·dx with dx = 1/max(S)): along an axis of n cells the DFT bin m is
κ = m · max(S) / n. Every axis then shares the Nyquist wavenumber max(S)/2, and the
spectra of a low-res grid and of its high-res counterpart live on one κ axis (the low-res
Nyquist is max(s)/2 = max(S)/(2f)).

Shell k collects the bins with round(|κ|) = k. The power spectrum is the **sum** of
|F̂|² over the shell, with F̂ = DFT(f)/N (N cells), so that Parseval reads
Σ_k P(k) = mean(f²): a unit-amplitude sine along the longest axis with κ cycles gives
P(κ) = 1/2. Shells k > max(S)/2 are partial (the corners of the Fourier box).
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
from scipy import fft

LSD_FLOOR = 1e-10  # relative to the total reference power: empty shells do not blow up the log


def nyquist(shape: tuple[int, ...]) -> float:
    """The Nyquist wavenumber max(S)/2 of a grid, in cycles per longest box side."""
    return max(shape) / 2.0


@lru_cache(maxsize=16)
def _shells(shape: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray, int]:
    """Shell index of every rfftn bin (flattened), the bin weights, and the shell count."""
    longest = max(shape)
    axes = [np.fft.fftfreq(n, d=1.0 / longest) for n in shape[:-1]]
    axes.append(np.fft.rfftfreq(shape[-1], d=1.0 / longest))
    grids = np.meshgrid(*axes, indexing="ij", sparse=True)
    kappa = np.sqrt(sum(g * g for g in grids))
    shell = np.rint(kappa).astype(np.int64).ravel()
    # rfftn stores half of the last axis: interior bins stand for themselves and their
    # conjugate twins; bin 0 and (n even) the Nyquist bin are their own twins.
    n = shape[-1]
    weight = np.full(n // 2 + 1, 2.0)
    weight[0] = 1.0
    if n % 2 == 0:
        weight[-1] = 1.0
    weights = np.broadcast_to(weight, kappa.shape).ravel().copy()
    return shell, weights, int(shell.max()) + 1


def radial_power_spectrum(field: np.ndarray, dim: int | None = None) -> np.ndarray:
    """P(k), k = 0, 1, …, of a field (…, *S) whose last ``dim`` axes are spatial.

    Leading axes (frames, components) are averaged. See the module docstring for units
    and normalisation (Σ_k P(k) = mean(f²)). Returns (K,) float64, index = shell k.
    """
    field = np.asarray(field)
    dim = field.ndim if dim is None else dim
    shape = tuple(field.shape[field.ndim - dim :])
    batch = int(np.prod(field.shape[: field.ndim - dim], dtype=np.int64))
    shell, weights, count = _shells(shape)
    spectrum = np.zeros(count)
    flat = field.reshape(batch, *shape)
    for b in range(batch):  # one frame at a time: a 3D rfftn is large
        f_hat = fft.rfftn(flat[b].astype(np.float64, copy=False), workers=-1)
        power = (f_hat.real**2 + f_hat.imag**2).ravel() * weights
        spectrum += np.bincount(shell, weights=power, minlength=count)
    return spectrum / (batch * float(np.prod(shape)) ** 2)


def kinetic_energy_spectrum(velocity: np.ndarray, dim: int | None = None) -> np.ndarray:
    """E(k) = ½ Σ_c P_c(k) of a velocity (…, *S, d); Σ_k E(k) = ½ mean |v|².

    Units: (velocity unit)² -- convert a low-res velocity to high-res cells per frame
    (multiply by the factor) before comparing it with a high-res one.
    """
    velocity = np.asarray(velocity)
    dim = velocity.shape[-1] if dim is None else dim
    components = np.moveaxis(velocity, -1, 0)
    return 0.5 * velocity.shape[-1] * radial_power_spectrum(components, dim)


def band_energy(spectrum: np.ndarray, k_min: float = -math.inf, k_max: float = math.inf) -> float:
    """Σ P(k) over the shells k_min < k ≤ k_max."""
    k = np.arange(len(spectrum))
    return float(spectrum[(k > k_min) & (k <= k_max)].sum())


def energy_fraction_above(
    pred_spectrum: np.ndarray, ref_spectrum: np.ndarray, cutoff: float
) -> float:
    """Σ_{k > cutoff} P_pred(k) / Σ_{k > cutoff} P_ref(k); NaN when the reference has none."""
    ref = band_energy(ref_spectrum, cutoff)
    return band_energy(pred_spectrum, cutoff) / ref if ref > 0 else math.nan


def high_frequency_energy_fraction(
    pred: np.ndarray, ref: np.ndarray, cutoff: float, dim: int | None = None
) -> float:
    """The energy of ``pred`` above ``cutoff`` (usually the low-res Nyquist) relative to the
    reference's: 1 = the right amount of small-scale detail, ≈0 = a smooth interpolation,
    > 1 = too much (noise). Fields (…, *S); leading axes are averaged."""
    return energy_fraction_above(
        radial_power_spectrum(pred, dim), radial_power_spectrum(ref, dim), cutoff
    )


def log_spectral_distance(
    pred_spectrum: np.ndarray,
    ref_spectrum: np.ndarray,
    k_min: float = 0.5,
    k_max: float = math.inf,
) -> float:
    """LSD = sqrt(mean_k (10 log₁₀(P_pred(k) / P_ref(k)))²) in dB over shells k_min < k ≤ k_max.

    Both spectra get a floor of 1e-10 · Σ P_ref, so a shell the reference leaves empty
    does not dominate. 0 for equal spectra; 10 dB = an order of magnitude off on average.
    """
    n = min(len(pred_spectrum), len(ref_spectrum))
    k = np.arange(n)
    band = (k > k_min) & (k <= k_max)
    if not band.any():
        return math.nan
    floor = LSD_FLOOR * float(np.sum(ref_spectrum)) or LSD_FLOOR
    ratio = (pred_spectrum[:n][band] + floor) / (ref_spectrum[:n][band] + floor)
    return float(np.sqrt(np.mean((10.0 * np.log10(ratio)) ** 2)))
