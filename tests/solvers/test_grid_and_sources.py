"""Flags, shapes and sources: the geometry every kernel relies on."""

from __future__ import annotations

import numpy as np
import pytest

from solvers.grid import FLUID, OBSTACLE, OUTFLOW, cell_centres, make_flags
from solvers.sources import DensityInflow, NoiseField, signed_distance


def test_flags_walls_and_open_sides_2d():
    flags = make_flags((6, 8), open_sides=["y+"])  # (ny, nx)
    assert (flags[1:-1, 1:-1] == FLUID).all()
    assert (flags[:-1, 0] == OBSTACLE).all() and (flags[0, 1:-1] == OBSTACLE).all()
    assert (flags[-1, :] == OUTFLOW).all()  # y+ is the last row, corners included


def test_flags_3d_open_x_minus_is_last_axis():
    flags = make_flags((5, 6, 7), open_sides=["x-"], boundary_width=2)
    assert (flags[:, :, :2] == OUTFLOW).all()
    assert (flags[2:-2, 2:-2, -2:] == OBSTACLE).all()
    assert (flags[2:-2, 2:-2, 2:-2] == FLUID).all()


def test_flags_reject_unknown_side():
    with pytest.raises(ValueError, match="unknown side 'z-'"):
        make_flags((8, 8), open_sides=["z-"])


def test_cell_centres_are_half_integers_x_last():
    x, y = cell_centres((3, 4))
    assert x.shape == (1, 4) and y.shape == (3, 1)
    assert x[0, 0] == 0.5 and y[-1, 0] == 2.5


def test_sphere_and_cylinder_distances():
    d = signed_distance("sphere", (16, 16), center=[8.0, 8.0], radius=3.0)
    assert d[7, 7] == pytest.approx(np.hypot(0.5, 0.5) - 3.0)
    c = signed_distance("cylinder", (20, 20, 20), center=[10, 4, 10], radius=3.0, half_height=1.0)
    assert c[10, 4, 10] < 0 and c[10, 7, 10] > 0  # inside near the axis, outside above


def test_noise_is_smooth_periodic_and_seeded():
    a, b = NoiseField(3), NoiseField(3)
    assert np.array_equal(a.tile, b.tile)
    assert not np.array_equal(a.tile, NoiseField(4).tile)
    x = np.linspace(0, 64, 257, dtype=np.float32)
    zero = np.zeros_like(x)
    v = a.sample((x, zero + 5.0, zero))
    assert v[0] == pytest.approx(v[-1], abs=1e-5)  # periodic in the tile size
    assert np.abs(np.diff(v)).max() < 0.5 * v.std()  # smooth at quarter-cell steps


def test_density_inflow_raises_never_lowers_and_ramps_at_the_rim():
    shape = (32, 32)
    sdf = signed_distance("sphere", shape, center=[16.0, 16.0], radius=6.0)
    src = DensityInflow(sdf, 1.0, None, 1.0, 1.0, 0.0, 0.0, (0.0, 1.0), 1.0, 0, None)
    density = np.zeros(shape, np.float32)
    density[16, 16] = 2.0
    flags = make_flags(shape)
    src.apply(density, flags, 0.0)
    assert density[16, 16] == 2.0  # already above the target
    assert density[16, 14] == 1.0  # well inside
    assert 0.0 < density[16, 21] < 1.0  # in the one-cell ramp
    assert density[16, 25] == 0.0
