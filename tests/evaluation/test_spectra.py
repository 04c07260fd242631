"""Spectra of fields whose spectrum is known by hand."""

from __future__ import annotations

import numpy as np
import pytest

from fluidgan.evaluation.spectra import (
    band_energy,
    high_frequency_energy_fraction,
    kinetic_energy_spectrum,
    log_spectral_distance,
    nyquist,
    radial_power_spectrum,
)


def sine(shape, axis, cycles, amplitude=1.0):
    n = shape[axis]
    x = (np.arange(n) + 0.5) / n
    profile = amplitude * np.sin(2 * np.pi * cycles * x)
    view = [1] * len(shape)
    view[axis] = n
    return np.broadcast_to(profile.reshape(view), shape).copy()


def test_single_sine_along_the_longest_axis():
    p = radial_power_spectrum(sine((16, 32), axis=1, cycles=3))
    assert p[3] == pytest.approx(0.5)
    assert p.sum() == pytest.approx(0.5)  # nothing anywhere else


def test_wavenumbers_are_per_longest_box_side_on_non_square_grids():
    # 2 cycles over the 16 cells along y = 4 cycles per 32-cell longest side
    p = radial_power_spectrum(sine((16, 32), axis=0, cycles=2, amplitude=2.0))
    assert p[4] == pytest.approx(2.0)  # amplitude² / 2
    assert nyquist((16, 32)) == 16


def brute_force_spectrum(field):
    """Full complex fftn, shells by |κ|, no half-spectrum weights."""
    shape = field.shape
    f_hat = np.fft.fftn(field) / field.size
    grids = np.meshgrid(*[np.fft.fftfreq(n, 1 / max(shape)) for n in shape], indexing="ij")
    shell = np.rint(np.sqrt(sum(g**2 for g in grids))).astype(int)
    return np.bincount(shell.ravel(), weights=(np.abs(f_hat) ** 2).ravel())


@pytest.mark.parametrize("shape", [(9, 14), (6, 10, 15), (8, 8, 7)])
def test_half_spectrum_agrees_with_the_full_fft_and_parseval(shape):
    field = np.random.default_rng(0).standard_normal(shape)
    p = radial_power_spectrum(field)
    np.testing.assert_allclose(p, brute_force_spectrum(field), rtol=1e-10, atol=1e-14)
    assert p.sum() == pytest.approx(np.mean(field**2))


def test_leading_axes_are_averaged():
    a, b = sine((8, 8), 1, 1), sine((8, 8), 1, 2, amplitude=2.0)
    p = radial_power_spectrum(np.stack([a, b]), dim=2)
    assert p[1] == pytest.approx(0.25) and p[2] == pytest.approx(1.0)


def test_kinetic_energy_spectrum():
    v = np.zeros((8, 12, 2))
    v[..., 0] = 3.0  # uniform flow: all energy at k = 0, E = |v|²/2
    v[..., 1] = sine((8, 12), 1, 2)
    e = kinetic_energy_spectrum(v)
    assert e[0] == pytest.approx(4.5) and e[2] == pytest.approx(0.25)
    assert e.sum() == pytest.approx(0.5 * np.mean(np.sum(v**2, axis=-1)))


def test_high_frequency_energy_fraction():
    shape = (32, 32)
    low, high = sine(shape, 1, 2), sine(shape, 0, 12)
    cutoff = nyquist((8, 8))  # a factor-4 low-res grid: 4
    ref = low + high
    assert high_frequency_energy_fraction(ref, ref, cutoff) == pytest.approx(1.0)
    assert high_frequency_energy_fraction(low, ref, cutoff) == pytest.approx(0.0, abs=1e-20)
    assert high_frequency_energy_fraction(low + 0.5 * high, ref, cutoff) == pytest.approx(0.25)
    assert band_energy(radial_power_spectrum(ref), cutoff) == pytest.approx(0.5)


def test_log_spectral_distance():
    p = np.array([1.0, 2.0, 3.0, 0.5, 0.1])
    assert log_spectral_distance(p, p) == 0.0
    assert log_spectral_distance(10 * p, p) == pytest.approx(10.0, rel=1e-6)
    assert log_spectral_distance(100 * p, p, k_min=2.5) == pytest.approx(20.0, rel=1e-6)
    assert np.isnan(log_spectral_distance(p, p, k_min=10))
