"""Volume rendering: Beer–Lambert transmittance by hand, front-to-back order, axes."""

from __future__ import annotations

import numpy as np
import pytest

from fluidgan.io.render import render_density


def test_a_uniform_column_follows_beer_lambert():
    rho = np.full((10, 1, 1), 0.5)
    intensity, opacity = render_density(rho, axis=0, sigma=0.2)
    # Σ_i σρ exp(−iσρ) for i = 0..9, and 1 − exp(−10σρ)
    a = 0.2 * 0.5
    assert intensity[0, 0] == pytest.approx(sum(a * np.exp(-i * a) for i in range(10)))
    assert opacity[0, 0] == pytest.approx(1 - np.exp(-10 * a))


def test_smoke_in_front_hides_smoke_behind():
    front = np.zeros((8, 1, 2))
    front[0, 0, 0], front[7, 0, 0] = 2.0, 1.0  # ray 0: dense cell first
    front[0, 0, 1], front[7, 0, 1] = 1.0, 2.0  # ray 1: the same cells, reversed
    intensity, opacity = render_density(front, axis=0, sigma=1.0)
    assert opacity[0, 0] == pytest.approx(opacity[0, 1])  # same total extinction
    assert intensity[0, 0] > intensity[0, 1]  # what is in front is seen more


def test_axis_and_default_sigma():
    rng = np.random.default_rng(0)
    rho = rng.random((3, 4, 5))
    i_y, _ = render_density(rho, axis=1)
    assert i_y.shape == (3, 5)
    np.testing.assert_allclose(render_density(np.moveaxis(rho, 1, 0), axis=0)[0], i_y)
    _, opacity = render_density(rho, axis=0)
    assert opacity.max() == pytest.approx(0.95)  # the densest ray is 95 % opaque
