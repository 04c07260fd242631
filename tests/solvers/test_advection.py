"""Advection kernels: invariants, hand values, and agreement with a numpy/scipy reference."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy.ndimage import map_coordinates

from solvers.advection import (
    advect_mac,
    advect_scalar,
    advect_scalar_centred,
    centred_velocity,
)
from solvers.grid import OBSTACLE, cell_centres, make_flags, zero_velocity

SHAPES = {2: (32, 32), 3: (16, 16, 16)}
ALL_OPEN = {2: ["x-", "x+", "y-", "y+"], 3: ["x-", "x+", "y-", "y+", "z-", "z+"]}


def _random_velocity(shape, scale, seed):
    rng = np.random.default_rng(seed)
    return (scale * rng.uniform(-1, 1, (len(shape), *shape))).astype(np.float32)


def _flags_with_box(shape):
    """Walls, the y+ side open, and a solid box off-centre."""
    flags = make_flags(shape, open_sides=["y+"])
    flags[tuple(slice(n // 4, n // 4 + 3) for n in shape)] = OBSTACLE
    return flags


# ------------------------------------------------------------------ numpy reference
# Written independently of the kernels: scipy's order-1 map_coordinates with mode "nearest"
# is linear interpolation with the sample position clamped to [0, n - 1] per axis.


def _sample(f, pos):
    return map_coordinates(f.astype(np.float64), pos, order=1, mode="nearest")


def _stencil_range(f, pos):
    low = [
        np.minimum(np.floor(np.clip(p, 0, n - 1)).astype(int), n - 2) for p, n in zip(pos, f.shape)
    ]
    corners = [
        f[tuple(i + o for i, o in zip(low, offset))]
        for offset in itertools.product((0, 1), repeat=f.ndim)
    ]
    return np.min(corners, axis=0), np.max(corners, axis=0)


def _ref_advect(f, disp, keep, order, clamp):
    """SL/MacCormack of ``f`` by the displacement ``disp`` (array-axis order, dt*u);
    ``keep`` marks samples that stay as they are (in ``fwd`` too)."""
    grid = np.indices(f.shape).astype(np.float64)
    fwd = np.where(keep, f, _sample(f, grid - disp))
    if order == 1:
        return fwd
    mc = fwd + 0.5 * (f - _sample(fwd, grid + disp))
    lo, hi = _stencil_range(f, grid - disp)
    limited = {
        "clamp": np.clip(mc, lo, hi),
        "revert": np.where((mc < lo) | (mc > hi), fwd, mc),
        "none": mc,
    }[clamp]
    return np.where(keep, f, limited)


def _shifted(a, axis, step):
    """``a`` at index + step along ``axis``, the index clamped to the array."""
    idx = np.clip(np.arange(a.shape[axis]) + step, 0, a.shape[axis] - 1)
    return np.take(a, idx, axis=axis)


def _ref_centred(vel):
    d = vel.shape[0]
    return np.stack([0.5 * (vel[a] + _shifted(vel[a], d - 1 - a, 1)) for a in range(d)])


def _ref_face_velocity(vel, a):
    """Velocity at the a-faces, (d, *shape) in component order (x, y, z)."""
    d = vel.shape[0]
    ax = d - 1 - a
    comps = []
    for b in range(d):
        if b == a:
            comps.append(vel[a].astype(np.float64))
            continue
        bx = d - 1 - b
        v = vel[b].astype(np.float64)
        lower = _shifted(v, ax, -1)
        comps.append(0.25 * (v + lower + _shifted(v, bx, 1) + _shifted(lower, bx, 1)))
    return np.stack(comps)


def _ref_advect_mac(vel, flags, dt, order, clamp):
    d = vel.shape[0]
    solid = flags == OBSTACLE
    out = []
    for a in range(d):
        disp = dt * _ref_face_velocity(vel, a)[::-1]
        keep = solid | _shifted(solid, d - 1 - a, -1)
        out.append(_ref_advect(vel[a], disp, keep, order, clamp))
    return np.stack(out)


# ------------------------------------------------------------------------- tests


@pytest.mark.parametrize("dim", [2, 3])
def test_centred_velocity_hand_values(dim):
    shape = SHAPES[dim]
    vel = zero_velocity(shape)
    for a in range(dim):  # component a grows linearly along its own axis: a * 10 + index
        ax = dim - 1 - a
        vel[a] = np.moveaxis(np.broadcast_to(10.0 * a + np.arange(shape[ax]), shape), -1, ax)
    centred = centred_velocity(vel)
    for a in range(dim):
        ax = dim - 1 - a
        line = np.moveaxis(centred[a], ax, -1)
        expected = 10.0 * a + np.arange(shape[ax]) + 0.5
        expected[-1] = 10.0 * a + shape[ax] - 1  # the upper face of the last cell is outside
        np.testing.assert_array_equal(line, np.broadcast_to(expected, line.shape))


@pytest.mark.parametrize("dim", [2, 3])
@pytest.mark.parametrize(("order", "clamp"), [(1, "clamp"), (2, "clamp"), (2, "revert")])
def test_constant_field_is_preserved(dim, order, clamp):
    shape = SHAPES[dim]
    vel = _random_velocity(shape, 3.0, seed=1)
    field = np.full(shape, 0.7, dtype=np.float32)
    flags = _flags_with_box(shape)
    out = advect_scalar(field, vel, flags, 0.9, order=order, clamp=clamp)
    np.testing.assert_allclose(out, 0.7, rtol=2e-7)
    out = advect_scalar_centred(field, vel, 0.9, order=order, clamp=clamp)
    np.testing.assert_allclose(out, 0.7, rtol=2e-7)


@pytest.mark.parametrize("dim", [2, 3])
@pytest.mark.parametrize("order", [1, 2])
def test_one_cell_translation_is_exact(dim, order):
    shape = SHAPES[dim]
    field = np.random.default_rng(2).random(shape, dtype=np.float32)
    flags = make_flags(shape)
    for a in range(dim):  # u = 1 cell per dt along each axis in turn
        ax = dim - 1 - a
        vel = zero_velocity(shape)
        vel[a] = 1.0
        out = advect_scalar(field, vel, flags, 1.0, order=order)
        # interior cells whose source and whose MacCormack back-check are interior too
        inner = tuple(slice(2, n - 2) for n in shape)
        source = tuple(
            slice(1, n - 3) if k == ax else s for k, (n, s) in enumerate(zip(shape, inner))
        )
        np.testing.assert_array_equal(out[inner], field[source])


@pytest.mark.parametrize("dim", [2, 3])
def test_bilinear_sample_by_hand(dim):
    shape = (8,) * dim
    field = np.random.default_rng(3).random(shape, dtype=np.float32)
    shift = (0.5, 0.25, 0.75)[:dim]  # (x, y, z) in cells: back-trace from c to c - shift
    vel_c = np.stack([np.full(shape, s, dtype=np.float32) for s in shift])
    out = advect_scalar_centred(field, vel_c, 1.0, order=1)
    # c - s lies between samples c - 1 (weight s) and c (weight 1 - s) on each axis
    lower_weight = shift[::-1]  # array-axis order
    cell = (4,) * dim
    expected = 0.0
    for offset in itertools.product((0, 1), repeat=dim):  # 0: the sample one cell below
        w = np.prod([s if o == 0 else 1 - s for o, s in zip(offset, lower_weight)])
        expected += w * field[tuple(c - 1 + o for c, o in zip(cell, offset))]
    assert out[cell] == pytest.approx(expected, rel=1e-6)
    # at the lower corner the trace leaves the grid and is clamped to cell 0
    assert out[(0,) * dim] == field[(0,) * dim]


def _rotation(shape, steps):
    """A MAC solid-body rotation by one turn in ``steps`` steps of dt = 1 about the centre of
    the box, in the plane of components (a, a + 1): x-y in 2D, y-z in 3D. Returns (vel, a)."""
    dim = len(shape)
    centre = shape[0] / 2
    omega = 2 * np.pi / steps
    x = cell_centres(shape)
    a, b = (0, 1) if dim == 2 else (1, 2)  # rotation plane (a, b), components (x, y, z)
    vel = zero_velocity(shape)
    # component a on its faces: at coordinate a = index, b = index + 0.5
    vel[a] = np.broadcast_to(-omega * (x[b] - centre), shape)
    vel[b] = np.broadcast_to(omega * (x[a] - centre), shape)
    return vel, a


@pytest.mark.parametrize(
    ("shape", "steps", "sigma", "radius", "max_ratio"),
    [((64, 64), 300, 5.0, 14, 0.35), ((40, 40, 40), 150, 4.5, 9, 0.35)],
)
def test_maccormack_beats_semi_lagrangian_on_rotating_blob(shape, steps, sigma, radius, max_ratio):
    # measured error(MC)/error(SL): 2D 0.27 (clamp) / 0.29 (revert), 3D 0.26 / 0.28
    vel, a = _rotation(shape, steps)
    x = cell_centres(shape)
    centre = shape[0] / 2
    r2 = sum((x[c] - centre) ** 2 for c in range(len(shape)) if c != a)
    blob = np.exp(-(r2 + (x[a] - centre - radius) ** 2) / (2 * sigma**2)).astype(np.float32)
    flags = make_flags(shape, open_sides=ALL_OPEN[len(shape)])

    def error(order, clamp):
        f, out, work = blob.copy(), np.empty_like(blob), np.empty_like(blob)
        for _ in range(steps):
            advect_scalar(f, vel, flags, 1.0, order=order, clamp=clamp, out=out, work=work)
            f, out = out, f
        return np.linalg.norm(f - blob) / np.linalg.norm(blob)

    sl = error(1, "clamp")
    assert sl > 0.3  # the blob is sharp enough for SL to smear it
    assert error(2, "clamp") < max_ratio * sl
    assert error(2, "revert") < max_ratio * sl


@pytest.mark.parametrize("dim", [2, 3])
def test_maccormack_limiters_create_no_new_extrema(dim):
    shape = SHAPES[dim]
    rng = np.random.default_rng(4)
    field = np.zeros(shape, dtype=np.float32)
    field[tuple(slice(n // 3, 2 * n // 3) for n in shape)] = 1.0  # a sharp box
    field += 0.1 * rng.random(shape, dtype=np.float32)
    vel = _random_velocity(shape, 0.8, seed=5)
    flags = make_flags(shape, open_sides=ALL_OPEN[dim])
    for clamp in ("clamp", "revert"):
        out = advect_scalar(field, vel, flags, 1.0, order=2, clamp=clamp)
        assert out.max() <= field.max() and out.min() >= field.min()
    # the unlimited scheme does over- and undershoot here, so the check above has teeth
    out = advect_scalar(field, vel, flags, 1.0, order=2, clamp="none")
    assert out.max() > field.max() + 1e-3 and out.min() < field.min() - 1e-3


@pytest.mark.parametrize("dim", [2, 3])
@pytest.mark.parametrize("order", [1, 2])
def test_uniform_velocity_stays_uniform(dim, order):
    shape = SHAPES[dim]
    vel = np.stack([np.full(shape, c, dtype=np.float32) for c in (0.7, -0.4, 1.3)[:dim]])
    out = advect_mac(vel, _flags_with_box(shape), 1.0, order=order)
    np.testing.assert_allclose(out, vel, rtol=2e-7)


@pytest.mark.parametrize("dim", [2, 3])
@pytest.mark.parametrize("order", [1, 2])
def test_mac_and_centred_entry_points_agree(dim, order):
    shape = SHAPES[dim]
    field = np.random.default_rng(6).random(shape, dtype=np.float32)
    vel = _random_velocity(shape, 1.5, seed=7)
    centred = centred_velocity(vel)
    # with no obstacle every cell is advected by both, bit for bit the same
    open_flags = make_flags(shape, open_sides=ALL_OPEN[dim])
    np.testing.assert_array_equal(
        advect_scalar(field, vel, open_flags, 1.0, order=order),
        advect_scalar_centred(field, centred, 1.0, order=order),
    )
    # with walls they agree away from the wall layer (traces reach <= 2 * 1.5 + 1 cells)
    walls = make_flags(shape)
    inner = tuple(slice(5, n - 5) for n in shape)
    np.testing.assert_array_equal(
        advect_scalar(field, vel, walls, 1.0, order=order)[inner],
        advect_scalar_centred(field, centred, 1.0, order=order)[inner],
    )


@pytest.mark.parametrize("dim", [2, 3])
@pytest.mark.parametrize(
    ("order", "clamp"), [(1, "clamp"), (2, "clamp"), (2, "revert"), (2, "none")]
)
def test_advect_scalar_matches_reference(dim, order, clamp):
    shape = SHAPES[dim]
    field = np.random.default_rng(8).random(shape, dtype=np.float32)
    vel = _random_velocity(shape, 2.5, seed=9)
    flags = _flags_with_box(shape)
    disp = 0.8 * _ref_centred(vel.astype(np.float64))[::-1]
    expected = _ref_advect(field, disp, flags == OBSTACLE, order, clamp)
    out = advect_scalar(field, vel, flags, 0.8, order=order, clamp=clamp)
    np.testing.assert_allclose(out, expected, atol=2e-5)


@pytest.mark.parametrize("dim", [2, 3])
@pytest.mark.parametrize(("order", "clamp"), [(1, "clamp"), (2, "clamp"), (2, "revert")])
def test_advect_mac_matches_reference(dim, order, clamp):
    shape = SHAPES[dim]
    vel = _random_velocity(shape, 2.5, seed=10)
    flags = _flags_with_box(shape)
    expected = _ref_advect_mac(vel, flags, 0.8, order, clamp)
    out = advect_mac(vel, flags, 0.8, order=order, clamp=clamp)
    np.testing.assert_allclose(out, expected, atol=2e-5)


@pytest.mark.parametrize("order", [1, 2])
def test_3d_kernels_reduce_to_2d_on_extruded_fields(order):
    shape2 = (24, 20)
    rng = np.random.default_rng(11)
    field2 = rng.random(shape2, dtype=np.float32)
    vel2 = _random_velocity(shape2, 2.0, seed=12)
    flags2 = _flags_with_box(shape2)
    nz = 5
    field3 = np.repeat(field2[None], nz, axis=0)
    vel3 = np.zeros((3, nz, *shape2), dtype=np.float32)
    vel3[:2] = vel2[:, None]
    flags3 = np.repeat(flags2[None], nz, axis=0)
    scalar2 = advect_scalar(field2, vel2, flags2, 1.0, order=order)
    scalar3 = advect_scalar(field3, vel3, flags3, 1.0, order=order)
    mac2 = advect_mac(vel2, flags2, 1.0, order=order)
    mac3 = advect_mac(vel3, flags3, 1.0, order=order)
    for k in range(nz):
        np.testing.assert_allclose(scalar3[k], scalar2, atol=1e-6)
        np.testing.assert_allclose(mac3[:2, k], mac2, atol=1e-6)
    np.testing.assert_array_equal(mac3[2], 0.0)


def test_preallocated_buffers_are_used_and_checked():
    shape = SHAPES[2]
    field = np.random.default_rng(13).random(shape, dtype=np.float32)
    vel = _random_velocity(shape, 1.0, seed=14)
    flags = make_flags(shape)
    out, work = np.empty_like(field), np.empty_like(field)
    assert advect_scalar(field, vel, flags, 1.0, out=out, work=work) is out
    vout, vwork = np.empty_like(vel), np.empty_like(vel)
    assert advect_mac(vel, flags, 1.0, out=vout, work=vwork) is vout
    assert centred_velocity(vel, out=vwork) is vwork
    with pytest.raises(ValueError, match="overlap"):
        advect_scalar(field, vel, flags, 1.0, out=field)
    with pytest.raises(ValueError, match="overlap"):
        advect_mac(vel, flags, 1.0, out=vout, work=vout)
    with pytest.raises(ValueError, match="float32"):
        advect_scalar(field, vel, flags, 1.0, out=np.empty(shape))
    with pytest.raises(ValueError, match="clamp"):
        advect_scalar(field, vel, flags, 1.0, clamp="minmod")
    with pytest.raises(ValueError, match="order"):
        advect_mac(vel, flags, 1.0, order=3)
    with pytest.raises(ValueError, match="flags"):
        advect_scalar(field, vel, flags.astype(np.int32), 1.0)


def test_nan_velocity_stays_in_bounds():
    # a NaN position is sent to the border rather than to an out-of-bounds index
    shape = SHAPES[3]
    vel = _random_velocity(shape, 1.0, seed=15)
    vel[:, 8, 8, 8] = np.nan
    field = np.ones(shape, dtype=np.float32)
    out = advect_scalar(field, vel, make_flags(shape), 1.0, order=2)
    assert np.isfinite(out).all()
