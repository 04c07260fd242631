"""Low-res derivation (docs/METHOD.md): blur sigma f/(2 sqrt pi), linear resample, velocity / f."""

from __future__ import annotations

import math

import numpy as np
import pytest

from solvers.lowres import blur_sigma, derive_low, sample_coarse


def test_sigma_matches_the_reference():
    assert blur_sigma(4) == pytest.approx(1.128379, abs=1e-6)
    assert blur_sigma(4) == pytest.approx(4 / 3.544908, rel=1e-6)  # mantaflow's constant


def test_linear_field_is_sampled_at_coarse_centres():
    # blur leaves a linear ramp unchanged away from the border; coarse centre I sits at
    # fine index (I + 0.5) * f - 0.5 -> value 4 I + 1.5 for f = 4
    x = np.arange(32, dtype=np.float32)
    field = np.broadcast_to(x, (32, 32)).copy()
    density, velocity = derive_low(field, np.stack([field, -field], -1), 4)
    assert density.shape == (8, 8) and velocity.shape == (8, 8, 2)
    np.testing.assert_allclose(density[3, 1:-1], 4 * np.arange(1, 7) + 1.5, rtol=1e-6)
    np.testing.assert_allclose(velocity[3, 1:-1, 0], (4 * np.arange(1, 7) + 1.5) / 4, rtol=1e-6)
    np.testing.assert_allclose(velocity[..., 1], -velocity[..., 0], rtol=1e-6)


@pytest.mark.parametrize("factor", [2, 3, 4])
def test_odd_and_even_factors_hit_the_right_cells(factor):
    field = np.zeros((6 * factor, 6 * factor), np.float32)
    field[:] = np.arange(6 * factor)
    out = sample_coarse(field, factor, (0, 1))
    expected = (np.arange(6) + 0.5) * factor - 0.5
    np.testing.assert_allclose(out[0], expected, rtol=1e-6)


def test_mean_is_preserved_for_a_periodic_like_interior_blob_3d():
    rng = np.random.default_rng(0)
    field = np.zeros((32, 32, 32), np.float32)
    field[8:24, 8:24, 8:24] = rng.random((16, 16, 16))
    density, _ = derive_low(field, np.zeros((*field.shape, 3), np.float32), 4)
    assert density.mean() == pytest.approx(field.mean(), rel=0.02)
    assert math.isclose(float(density.max()), float(density.max()))  # finite


def test_velocity_is_in_coarse_cells():
    # a uniform flow of 4 fine cells per frame is 1 coarse cell per frame at f = 4
    velocity = np.full((16, 16, 2), 4.0, np.float32)
    _, low = derive_low(np.zeros((16, 16), np.float32), velocity, 4)
    np.testing.assert_allclose(low, 1.0)
