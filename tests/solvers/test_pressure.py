"""Pressure projection: divergence after projection on the MAC grid, agreement with a dense
direct solve and between the three Krylov methods, walls, determinism and failure reports."""

from __future__ import annotations

import numba
import numpy as np
import pytest

from fluidgan.errors import UserError
from solvers.boundaries import set_wall_bcs
from solvers.grid import FLUID, OBSTACLE, OUTFLOW, make_flags
from solvers.multigrid import dense_matrix, poisson_level
from solvers.pressure import METHODS, PressureSolveError, Projector, divergence

CASES = {2: (40, 56), 3: (20, 24, 28)}  # non-square on purpose: (z,) y, x


def scene(shape: tuple[int, ...], open_sides=("y+",)) -> np.ndarray:
    """A box with one open side and a spherical obstacle off-centre."""
    flags = make_flags(shape, open_sides)
    idx = np.indices(shape)
    centre = [0.4 * n for n in shape]
    r2 = sum((i + 0.5 - c) ** 2 for i, c in zip(idx, centre))
    flags[(r2 < (0.15 * min(shape)) ** 2) & (flags == FLUID)] = OBSTACLE
    return flags


def rough_velocity(shape: tuple[int, ...], seed: int = 0) -> np.ndarray:
    """A strongly divergent MAC velocity: smooth waves plus noise, O(1) cells per step."""
    rng = np.random.default_rng(seed)
    idx = np.indices(shape)
    vel = rng.normal(0.0, 0.3, size=(len(shape), *shape)).astype(np.float32)
    for a in range(len(shape)):
        vel[a] += np.sin(0.3 * idx[-1 - a] + a) * np.cos(0.2 * idx[a - 1])
    return np.ascontiguousarray(vel)


def numpy_divergence(vel: np.ndarray, flags: np.ndarray) -> np.ndarray:
    """Independent MAC divergence in float64: sum over axes of upper minus lower face."""
    dim = flags.ndim
    div = np.zeros(flags.shape)
    for a in range(dim):
        axis = dim - 1 - a  # component x lives along the last array axis
        face = vel[a].astype(np.float64)
        div += np.roll(face, -1, axis=axis) - face  # the wrap only reaches the outer layer
    div[flags != FLUID] = 0.0
    return div


def numpy_correction(vel: np.ndarray, flags: np.ndarray, p: np.ndarray) -> np.ndarray:
    """vel - grad p on faces between two non-solid cells, at least one fluid (float64)."""
    out = vel.astype(np.float64)
    dim = flags.ndim
    for a in range(dim):
        axis = dim - 1 - a
        lower = [slice(None)] * dim
        upper = [slice(None)] * dim
        lower[axis], upper[axis] = slice(0, -1), slice(1, None)
        here, there = flags[tuple(upper)], flags[tuple(lower)]
        open_face = (here != OBSTACLE) & (there != OBSTACLE) & ((here == FLUID) | (there == FLUID))
        grad = p[tuple(upper)] - p[tuple(lower)]
        out[a][tuple(upper)] -= np.where(open_face, grad, 0.0)
    return out


def projected(flags, method="mgpcg", tol=1e-4, seed=0, **kw):
    vel = rough_velocity(flags.shape, seed)
    set_wall_bcs(vel, flags)
    projector = Projector(flags, method=method, tol=tol, **kw)
    stats = projector.project(vel)
    return vel, stats, projector


@pytest.mark.parametrize("method", sorted(METHODS))
@pytest.mark.parametrize("dim", [2, 3])
def test_divergence_after_projection_is_below_the_tolerance(dim, method):
    flags = scene(CASES[dim])
    before = rough_velocity(flags.shape)
    set_wall_bcs(before, flags)
    vel, stats, _ = projected(flags, method, tol=1e-3)
    assert np.abs(numpy_divergence(before, flags)).max() > 1.0  # there was work to do
    div = numpy_divergence(vel, flags)
    assert stats.converged and stats.iterations > 0
    assert np.abs(div).max() <= 1e-3 * (1 + 1e-3)  # the tolerance, not a rounding less
    assert np.abs(div).max() <= stats.residual * (1 + 1e-3) + 1e-6
    np.testing.assert_allclose(divergence(vel, flags), div, atol=1e-6)


@pytest.mark.parametrize("dim", [2, 3])
def test_relative_tolerance_scales_with_the_initial_divergence(dim):
    flags = scene(CASES[dim])
    vel = projected(flags, tol=1e-4, tol_mode="relative")[0]
    before = rough_velocity(flags.shape)
    set_wall_bcs(before, flags)
    scale = np.abs(numpy_divergence(before, flags)).max()
    assert np.abs(numpy_divergence(vel, flags)).max() <= 1e-4 * scale * 1.01


@pytest.mark.parametrize("open_sides", [("y+",), ()], ids=["outflow", "closed"])
def test_projection_equals_a_dense_direct_solve(open_sides):
    """Against numpy's direct solve of the same Poisson system (least squares in the closed,
    singular case: the velocity correction does not see the constant)."""
    flags = scene((14, 18), open_sides)
    vel = rough_velocity(flags.shape, seed=3)
    set_wall_bcs(vel, flags)
    a, idx = dense_matrix(poisson_level(flags))
    b = -numpy_divergence(vel, flags).ravel()[idx]
    if open_sides:
        sol = np.linalg.solve(a, b)
    else:
        sol = np.linalg.lstsq(a, b - b.mean(), rcond=None)[0]
    p = np.zeros(flags.size)
    p[idx] = sol
    expected = numpy_correction(vel, flags, p.reshape(flags.shape))
    Projector(flags, tol=1e-5).project(vel)  # float32 bottoms out near 1e-6
    np.testing.assert_allclose(vel, expected, atol=1e-4)


@pytest.mark.parametrize("dim", [2, 3])
def test_the_three_methods_agree(dim):
    flags = scene(CASES[dim])
    results = {m: projected(flags, m, tol=1e-5)[0] for m in METHODS}
    reference = results.pop("cg")
    for method, vel in results.items():
        np.testing.assert_allclose(vel, reference, atol=1e-4, err_msg=method)


def test_projection_is_idempotent_and_leaves_walls_alone():
    flags = scene(CASES[3])
    vel, _, projector = projected(flags, tol=1e-5)
    again = vel.copy()
    projector.project(again)
    np.testing.assert_allclose(again, vel, atol=1e-4)
    walled = vel.copy()
    set_wall_bcs(walled, flags)
    np.testing.assert_array_equal(walled, vel)  # no face touching a solid got a value


def test_outflow_cells_hold_zero_pressure():
    flags = scene(CASES[2])
    _, _, projector = projected(flags)
    assert np.all(projector.pressure[flags == OUTFLOW] == 0.0)
    assert np.abs(projector.pressure[flags == FLUID]).max() > 0.0


def test_same_result_whatever_the_thread_count():
    """Reductions are per row and summed serially, so `--workers` cannot change a file."""
    flags = scene(CASES[3])
    threads = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        one = projected(flags)[0]
        numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
        many = projected(flags)[0]
    finally:
        numba.set_num_threads(threads)
    np.testing.assert_array_equal(one, many)


def test_failures_are_reported():
    flags = scene(CASES[2])
    vel = rough_velocity(flags.shape)
    with pytest.raises(PressureSolveError, match="did not converge after 2 iterations"):
        Projector(flags, method="cg", tol=1e-6, max_iter=2).project(vel)
    vel[0, 5, 5] = np.nan
    with pytest.raises(PressureSolveError, match="non-finite"):
        Projector(flags).project(vel)
    with pytest.raises(UserError, match="pressure method 'sor' unknown"):
        Projector(flags, method="sor")
