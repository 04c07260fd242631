"""Advection on the MAC grid: semi-Lagrangian and MacCormack, 2D and 3D Numba kernels.

Conventions are those of :mod:`solvers.grid` (dx = 1, velocities in cells per time unit).
All sampling happens in *index space*: a cell-centred scalar ``f`` has its sample ``f[j, i]``
at index coordinates (y, x) = (j, i), i.e. physical (j + 0.5, i + 0.5); the MAC component
``vel[a]`` has ``vel[a][j, i]`` at index (j, i) of its own grid (mantaflow's "the lookup field
is also shifted"). A back-trace from index point q with displacement ``dt * u`` samples at
``q - dt * u``.

Sampling (shared by every entry point): (bi/tri)linear, with the index coordinate clamped
per axis to ``[0, n - 1]`` before interpolation. For cell-centred data that is the physical
position clamped to ``[0.5, n - 0.5]``, the same as clamping each sample index to
``[0, n - 1]`` (mantaflow's ``getInterpolated``); the weights always sum to 1.

MacCormack (order 2), per cell or face q with displacement ``D = dt * u(q)``::

    fwd = SL(phi, dt)        # fwd(q) = phi(q - D)
    bwd(q) = fwd(q + D)      # SL(fwd, -dt), with the same velocity
    mc = fwd + 0.5 * (phi - bwd)

and a limiter against the 2^d samples of ``phi`` that the forward trace interpolated (the
clamped stencil around ``q - D``): ``"clamp"`` clamps ``mc`` to their [min, max] (mantaflow
``clampMode=1``), ``"revert"`` returns ``fwd`` where ``mc`` leaves that range (Selle et al.
2008; mantaflow ``clampMode=2``, which the tempoGAN scenes use), ``"none"`` keeps ``mc``
(ablation only: it over- and undershoots).

Flags: every cell that is not OBSTACLE is advected, OUTFLOW cells included (matter leaves
through them; ``boundaries.reset_outflow`` empties them afterwards), and gets the full
MacCormack correction. OBSTACLE cells keep their input value, and so does every MAC face
that touches an OBSTACLE cell on either side; the intermediate ``fwd`` obeys the same rule.
(mantaflow advects obstacle cells too and corrects only FLUID cells; with static obstacles
``set_wall_bcs`` after advection makes the velocity the same.)

Kernels are Numba ``parallel=True, cache=True`` loops, ``prange`` over the outermost array
axis; 2D and 3D kernels sit side by side and a dict picks them by dimension. Every public
function takes ``out=`` (and ``work=``) so that a time stepper can run allocation-free;
``out`` must not overlap the inputs.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from numba import njit, prange

from fluidgan.registry import Registry
from solvers.boundaries import require_flags
from solvers.grid import FLUID, OBSTACLE

#: 1: semi-Lagrangian, 2: MacCormack.
ORDERS = (1, 2)

_OBSTACLE = int(OBSTACLE)
_CLAMP, _REVERT, _NONE = 0, 1, 2

#: MacCormack limiters by name (value: the kernels' mode code).
CLAMP_MODES: Registry[int] = Registry("MacCormack clamp", ordered=True)
CLAMP_MODES.register("clamp")(_CLAMP)
CLAMP_MODES.register("revert")(_REVERT)
CLAMP_MODES.register("none")(_NONE)


# ----------------------------------------------------------------------------- sampling


# Arithmetic is float32 throughout and the helpers use selects, not branches: that lets
# LLVM vectorise the loops (AVX-512 gathers); float64 positions or an if around the work
# made the 3D kernels 20-60 % slower. Positions stay exact to ~1e-5 cells up to n = 512.


@njit(inline="always")
def _cell(p, n):
    """Lower stencil index and upper weight of index coordinate ``p`` clamped to [0, n-1]."""
    zero, top = np.float32(0.0), np.float32(n - 1)
    q = p if p > zero else zero  # also sends NaN to the border instead of out of bounds
    q = q if q < top else top
    i = min(int(q), n - 2)
    return i, q - np.float32(i)


@njit(inline="always")
def _lerp_2d(f, y, x):
    """Bilinear sample of ``f`` (ny, nx) at float32 index coordinates (y, x), clamped."""
    j, t = _cell(y, f.shape[0])
    i, s = _cell(x, f.shape[1])
    one = np.float32(1.0)
    return (one - t) * ((one - s) * f[j, i] + s * f[j, i + 1]) + t * (
        (one - s) * f[j + 1, i] + s * f[j + 1, i + 1]
    )


@njit(inline="always")
def _lerp_3d(f, z, y, x):
    """Trilinear sample of ``f`` (nz, ny, nx) at float32 index coordinates, clamped."""
    k, r = _cell(z, f.shape[0])
    j, t = _cell(y, f.shape[1])
    i, s = _cell(x, f.shape[2])
    one = np.float32(1.0)
    lower = (one - t) * ((one - s) * f[k, j, i] + s * f[k, j, i + 1]) + t * (
        (one - s) * f[k, j + 1, i] + s * f[k, j + 1, i + 1]
    )
    upper = (one - t) * ((one - s) * f[k + 1, j, i] + s * f[k + 1, j, i + 1]) + t * (
        (one - s) * f[k + 1, j + 1, i] + s * f[k + 1, j + 1, i + 1]
    )
    return (one - r) * lower + r * upper


@njit(inline="always")
def _limit(value, here, lo, hi, mode):
    """MacCormack limiter: ``value`` clamped, reverted to ``here`` or kept, by ``mode``."""
    clamped = min(max(value, lo), hi)
    reverted = value if clamped == value else here
    return clamped if mode == _CLAMP else (reverted if mode == _REVERT else value)


@njit(inline="always")
def _maccormack_2d(src, fwd, j, i, dy, dx, mode):
    """Limited MacCormack value at sample (j, i) for displacement (dy, dx) = dt*u."""
    y, x = np.float32(j), np.float32(i)
    here = fwd[j, i]
    value = here + np.float32(0.5) * (src[j, i] - _lerp_2d(fwd, y + dy, x + dx))
    j0, _ = _cell(y - dy, src.shape[0])
    i0, _ = _cell(x - dx, src.shape[1])
    lo = min(min(src[j0, i0], src[j0, i0 + 1]), min(src[j0 + 1, i0], src[j0 + 1, i0 + 1]))
    hi = max(max(src[j0, i0], src[j0, i0 + 1]), max(src[j0 + 1, i0], src[j0 + 1, i0 + 1]))
    return _limit(value, here, lo, hi, mode)


@njit(inline="always")
def _maccormack_3d(src, fwd, k, j, i, dz, dy, dx, mode):
    """Limited MacCormack value at sample (k, j, i) for displacement dt*u."""
    z, y, x = np.float32(k), np.float32(j), np.float32(i)
    here = fwd[k, j, i]
    value = here + np.float32(0.5) * (src[k, j, i] - _lerp_3d(fwd, z + dz, y + dy, x + dx))
    k0, _ = _cell(z - dz, src.shape[0])
    j0, _ = _cell(y - dy, src.shape[1])
    i0, _ = _cell(x - dx, src.shape[2])
    lo = hi = src[k0, j0, i0]
    for c in range(k0, k0 + 2):  # unrolled by LLVM: the 8 samples of the forward trace
        a, b = src[c, j0, i0], src[c, j0, i0 + 1]
        e, f = src[c, j0 + 1, i0], src[c, j0 + 1, i0 + 1]
        lo = min(lo, min(min(a, b), min(e, f)))
        hi = max(hi, max(max(a, b), max(e, f)))
    return _limit(value, here, lo, hi, mode)


# ------------------------------------------------------------------- centred velocity


@njit(parallel=True, cache=True)
def _centred_2d(vel, out):
    ny, nx = vel.shape[1:]
    u, v = vel[0], vel[1]
    for j in prange(ny):
        jp = min(j + 1, ny - 1)  # last cell: the upper face is outside, use the lower one
        for i in range(nx):
            ip = min(i + 1, nx - 1)
            out[0, j, i] = 0.5 * (u[j, i] + u[j, ip])
            out[1, j, i] = 0.5 * (v[j, i] + v[jp, i])


@njit(parallel=True, cache=True)
def _centred_3d(vel, out):
    nz, ny, nx = vel.shape[1:]
    u, v, w = vel[0], vel[1], vel[2]
    for k in prange(nz):
        kp = min(k + 1, nz - 1)
        for j in range(ny):
            jp = min(j + 1, ny - 1)
            for i in range(nx):
                ip = min(i + 1, nx - 1)
                out[0, k, j, i] = 0.5 * (u[k, j, i] + u[k, j, ip])
                out[1, k, j, i] = 0.5 * (v[k, j, i] + v[k, jp, i])
                out[2, k, j, i] = 0.5 * (w[k, j, i] + w[kp, j, i])


# -------------------------------------------------------------------- scalar kernels
# ``stag`` is 1 when ``vel`` is a MAC velocity (the cell velocity is the mean of the lower
# and upper face) and 0 when it is already cell-centred (the "mean" of a value with itself
# is exact), so one kernel serves both entry points without a branch in the loop.
# Every kernel computes all cells and keeps the input where a cell (face) is solid with a
# select: a branch around the work makes the 3D loops up to 1.6x slower.


@njit(inline="always")
def _solid(a, b):
    return (a == _OBSTACLE) | (b == _OBSTACLE)


@njit(parallel=True, cache=True)
def _sl_scalar_2d(src, vel, stag, flags, dt, out):
    ny, nx = src.shape
    u, v = vel[0], vel[1]
    h = np.float32(0.5 * dt)
    for j in prange(ny):
        jp = min(j + stag, ny - 1)
        for i in range(nx):
            ip = min(i + stag, nx - 1)
            dx = h * (u[j, i] + u[j, ip])
            dy = h * (v[j, i] + v[jp, i])
            value = _lerp_2d(src, np.float32(j) - dy, np.float32(i) - dx)
            out[j, i] = src[j, i] if flags[j, i] == _OBSTACLE else value


@njit(parallel=True, cache=True)
def _mc_scalar_2d(src, fwd, vel, stag, flags, dt, mode, out):
    ny, nx = src.shape
    u, v = vel[0], vel[1]
    h = np.float32(0.5 * dt)
    for j in prange(ny):
        jp = min(j + stag, ny - 1)
        for i in range(nx):
            ip = min(i + stag, nx - 1)
            dx = h * (u[j, i] + u[j, ip])
            dy = h * (v[j, i] + v[jp, i])
            value = _maccormack_2d(src, fwd, j, i, dy, dx, mode)
            out[j, i] = src[j, i] if flags[j, i] == _OBSTACLE else value


@njit(parallel=True, cache=True)
def _sl_scalar_3d(src, vel, stag, flags, dt, out):
    nz, ny, nx = src.shape
    u, v, w = vel[0], vel[1], vel[2]
    h = np.float32(0.5 * dt)
    for k in prange(nz):
        kp = min(k + stag, nz - 1)
        for j in range(ny):
            jp = min(j + stag, ny - 1)
            for i in range(nx):
                ip = min(i + stag, nx - 1)
                dx = h * (u[k, j, i] + u[k, j, ip])
                dy = h * (v[k, j, i] + v[k, jp, i])
                dz = h * (w[k, j, i] + w[kp, j, i])
                value = _lerp_3d(src, np.float32(k) - dz, np.float32(j) - dy, np.float32(i) - dx)
                out[k, j, i] = src[k, j, i] if flags[k, j, i] == _OBSTACLE else value


@njit(parallel=True, cache=True)
def _mc_scalar_3d(src, fwd, vel, stag, flags, dt, mode, out):
    nz, ny, nx = src.shape
    u, v, w = vel[0], vel[1], vel[2]
    h = np.float32(0.5 * dt)
    for k in prange(nz):
        kp = min(k + stag, nz - 1)
        for j in range(ny):
            jp = min(j + stag, ny - 1)
            for i in range(nx):
                ip = min(i + stag, nx - 1)
                dx = h * (u[k, j, i] + u[k, j, ip])
                dy = h * (v[k, j, i] + v[k, jp, i])
                dz = h * (w[k, j, i] + w[kp, j, i])
                value = _maccormack_3d(src, fwd, k, j, i, dz, dy, dx, mode)
                out[k, j, i] = src[k, j, i] if flags[k, j, i] == _OBSTACLE else value


# ----------------------------------------------------------------------- MAC kernels
# Velocity at a face (mantaflow getAtMACX/Y/Z): the face's own component, the others as the
# mean of the 4 faces around it. Neighbour indices are clamped so that faces of the outer
# layer (open sides) need nothing outside the array. One i-loop per component and row: a
# single loop over all d faces of a cell runs ~2x slower in 3D (register pressure).


@njit(inline="always")
def _xface_2d(u, v, j, i, jp, im, t, q):
    return t * u[j, i], q * (v[j, i] + v[j, im] + v[jp, i] + v[jp, im])


@njit(inline="always")
def _yface_2d(u, v, j, i, jm, ip, t, q):
    return q * (u[j, i] + u[jm, i] + u[j, ip] + u[jm, ip]), t * v[j, i]


@njit(parallel=True, cache=True)
def _sl_mac_2d(vel, flags, dt, out):
    ny, nx = flags.shape
    u, v = vel[0], vel[1]
    t, q = np.float32(dt), np.float32(0.25 * dt)
    for j in prange(ny):
        jm, jp = max(j - 1, 0), min(j + 1, ny - 1)
        for i in range(nx):
            im = max(i - 1, 0)
            dx, dy = _xface_2d(u, v, j, i, jp, im, t, q)
            value = _lerp_2d(u, np.float32(j) - dy, np.float32(i) - dx)
            out[0, j, i] = u[j, i] if _solid(flags[j, i], flags[j, im]) else value
        for i in range(nx):
            ip = min(i + 1, nx - 1)
            dx, dy = _yface_2d(u, v, j, i, jm, ip, t, q)
            value = _lerp_2d(v, np.float32(j) - dy, np.float32(i) - dx)
            out[1, j, i] = v[j, i] if _solid(flags[j, i], flags[jm, i]) else value


@njit(parallel=True, cache=True)
def _mc_mac_2d(vel, fwd, flags, dt, mode, out):
    ny, nx = flags.shape
    u, v = vel[0], vel[1]
    fu, fv = fwd[0], fwd[1]
    t, q = np.float32(dt), np.float32(0.25 * dt)
    for j in prange(ny):
        jm, jp = max(j - 1, 0), min(j + 1, ny - 1)
        for i in range(nx):
            im = max(i - 1, 0)
            dx, dy = _xface_2d(u, v, j, i, jp, im, t, q)
            value = _maccormack_2d(u, fu, j, i, dy, dx, mode)
            out[0, j, i] = u[j, i] if _solid(flags[j, i], flags[j, im]) else value
        for i in range(nx):
            ip = min(i + 1, nx - 1)
            dx, dy = _yface_2d(u, v, j, i, jm, ip, t, q)
            value = _maccormack_2d(v, fv, j, i, dy, dx, mode)
            out[1, j, i] = v[j, i] if _solid(flags[j, i], flags[jm, i]) else value


@njit(inline="always")
def _xface_3d(u, v, w, k, j, i, kp, jp, im, t, q):
    return (
        t * u[k, j, i],
        q * (v[k, j, i] + v[k, j, im] + v[k, jp, i] + v[k, jp, im]),
        q * (w[k, j, i] + w[k, j, im] + w[kp, j, i] + w[kp, j, im]),
    )


@njit(inline="always")
def _yface_3d(u, v, w, k, j, i, kp, jm, ip, t, q):
    return (
        q * (u[k, j, i] + u[k, jm, i] + u[k, j, ip] + u[k, jm, ip]),
        t * v[k, j, i],
        q * (w[k, j, i] + w[k, jm, i] + w[kp, j, i] + w[kp, jm, i]),
    )


@njit(inline="always")
def _zface_3d(u, v, w, k, j, i, km, jp, ip, t, q):
    return (
        q * (u[k, j, i] + u[km, j, i] + u[k, j, ip] + u[km, j, ip]),
        q * (v[k, j, i] + v[km, j, i] + v[k, jp, i] + v[km, jp, i]),
        t * w[k, j, i],
    )


@njit(parallel=True, cache=True)
def _sl_mac_3d(vel, flags, dt, out):
    nz, ny, nx = flags.shape
    u, v, w = vel[0], vel[1], vel[2]
    t, q = np.float32(dt), np.float32(0.25 * dt)
    for k in prange(nz):
        km, kp = max(k - 1, 0), min(k + 1, nz - 1)
        z = np.float32(k)
        for j in range(ny):
            jm, jp = max(j - 1, 0), min(j + 1, ny - 1)
            y = np.float32(j)
            for i in range(nx):
                im = max(i - 1, 0)
                dx, dy, dz = _xface_3d(u, v, w, k, j, i, kp, jp, im, t, q)
                value = _lerp_3d(u, z - dz, y - dy, np.float32(i) - dx)
                out[0, k, j, i] = u[k, j, i] if _solid(flags[k, j, i], flags[k, j, im]) else value
            for i in range(nx):
                ip = min(i + 1, nx - 1)
                dx, dy, dz = _yface_3d(u, v, w, k, j, i, kp, jm, ip, t, q)
                value = _lerp_3d(v, z - dz, y - dy, np.float32(i) - dx)
                out[1, k, j, i] = v[k, j, i] if _solid(flags[k, j, i], flags[k, jm, i]) else value
            for i in range(nx):
                ip = min(i + 1, nx - 1)
                dx, dy, dz = _zface_3d(u, v, w, k, j, i, km, jp, ip, t, q)
                value = _lerp_3d(w, z - dz, y - dy, np.float32(i) - dx)
                out[2, k, j, i] = w[k, j, i] if _solid(flags[k, j, i], flags[km, j, i]) else value


@njit(parallel=True, cache=True)
def _mc_mac_3d(vel, fwd, flags, dt, mode, out):
    nz, ny, nx = flags.shape
    u, v, w = vel[0], vel[1], vel[2]
    fu, fv, fw = fwd[0], fwd[1], fwd[2]
    t, q = np.float32(dt), np.float32(0.25 * dt)
    for k in prange(nz):
        km, kp = max(k - 1, 0), min(k + 1, nz - 1)
        for j in range(ny):
            jm, jp = max(j - 1, 0), min(j + 1, ny - 1)
            for i in range(nx):
                im = max(i - 1, 0)
                dx, dy, dz = _xface_3d(u, v, w, k, j, i, kp, jp, im, t, q)
                value = _maccormack_3d(u, fu, k, j, i, dz, dy, dx, mode)
                out[0, k, j, i] = u[k, j, i] if _solid(flags[k, j, i], flags[k, j, im]) else value
            for i in range(nx):
                ip = min(i + 1, nx - 1)
                dx, dy, dz = _yface_3d(u, v, w, k, j, i, kp, jm, ip, t, q)
                value = _maccormack_3d(v, fv, k, j, i, dz, dy, dx, mode)
                out[1, k, j, i] = v[k, j, i] if _solid(flags[k, j, i], flags[k, jm, i]) else value
            for i in range(nx):
                ip = min(i + 1, nx - 1)
                dx, dy, dz = _zface_3d(u, v, w, k, j, i, km, jp, ip, t, q)
                value = _maccormack_3d(w, fw, k, j, i, dz, dy, dx, mode)
                out[2, k, j, i] = w[k, j, i] if _solid(flags[k, j, i], flags[km, j, i]) else value


_CENTRED = {2: _centred_2d, 3: _centred_3d}
_SL_SCALAR = {2: _sl_scalar_2d, 3: _sl_scalar_3d}
_MC_SCALAR = {2: _mc_scalar_2d, 3: _mc_scalar_3d}
_SL_MAC = {2: _sl_mac_2d, 3: _sl_mac_3d}
_MC_MAC = {2: _mc_mac_2d, 3: _mc_mac_3d}


# ------------------------------------------------------------------------ public API


def centred_velocity(vel: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """Cell-centred velocity ``(d, *shape)`` float32 from the MAC velocity ``vel``.

    Component a of cell c is the mean of its lower and upper a-face; in the last cell along
    an axis, whose upper face lies outside the array, it is the lower face value.
    """
    vel = _as_field(vel)
    dim = _vel_dim(vel)
    out = _output(out, vel.shape, "out", vel)
    _CENTRED[dim](vel, out)
    return out


def advect_scalar(
    field: np.ndarray,
    vel: np.ndarray,
    flags: np.ndarray,
    dt: float,
    order: int = 2,
    clamp: str = "clamp",
    out: np.ndarray | None = None,
    work: np.ndarray | None = None,
) -> np.ndarray:
    """Advect a cell-centred scalar ``field`` (*shape) by the MAC velocity over ``dt``.

    The back-trace starts at the cell centre with the centred velocity (mantaflow
    ``getCentered``): SL for ``order=1``, MacCormack with the ``clamp`` limiter for
    ``order=2`` (see the module docstring). OBSTACLE cells keep their value; all other cells
    (FLUID, OUTFLOW) are advected. ``work`` (*shape) float32 holds the SL pass of
    MacCormack. Returns ``out`` (*shape) float32.
    """
    field, vel = _as_field(field), _as_field(vel)
    dim = _vel_dim(vel)
    _check_shape(field, vel.shape[1:], "field")
    require_flags(flags, vel.shape[1:])
    return _advect_cells(field, vel, 1, flags, dim, dt, order, clamp, out, work)


def advect_scalar_centred(
    field: np.ndarray,
    vel_c: np.ndarray,
    dt: float,
    order: int = 1,
    clamp: str = "clamp",
    out: np.ndarray | None = None,
    work: np.ndarray | None = None,
) -> np.ndarray:
    """Advect a cell-centred scalar by a cell-centred velocity ``vel_c`` (d, *shape).

    The reference semantics for the differentiable torch advection: every cell is advected
    (no flags); cell c is back-traced to ``p = c - dt * vel_c[:, c]`` in index coordinates and
    ``field`` is sampled there (bi/tri)linearly with p clamped per axis to ``[0, n - 1]``
    (physical ``[0.5, n - 0.5]``). ``order=2`` adds the MacCormack step with the same
    velocity and the ``clamp`` limiter. ``vel_c`` is in cells per unit of ``dt``; ``work``
    (*shape) float32 holds the SL pass of MacCormack. Returns ``out`` (*shape) float32.
    """
    field, vel_c = _as_field(field), _as_field(vel_c)
    dim = _vel_dim(vel_c)
    _check_shape(field, vel_c.shape[1:], "field")
    flags = _all_fluid(vel_c.shape[1:])
    return _advect_cells(field, vel_c, 0, flags, dim, dt, order, clamp, out, work)


def advect_mac(
    vel: np.ndarray,
    flags: np.ndarray,
    dt: float,
    order: int = 2,
    clamp: str = "clamp",
    out: np.ndarray | None = None,
    work: np.ndarray | None = None,
) -> np.ndarray:
    """Self-advection of the MAC velocity ``vel`` (d, *shape) over ``dt``.

    Each component is back-traced from its own face with the full velocity at that face
    (the other components averaged from their 4 neighbouring faces, mantaflow getAtMACX/Y/Z)
    and sampled on its own grid, clamped to index range [0, n - 1] per axis; MacCormack per
    component as for scalars. Faces touching an OBSTACLE cell keep their value. ``work``
    (d, *shape) float32 holds the SL pass of MacCormack. Returns ``out`` (d, *shape).
    """
    vel = _as_field(vel)
    dim = _vel_dim(vel)
    require_flags(flags, vel.shape[1:])
    mode = _clamp_mode(clamp)
    _check_order(order)
    out = _output(out, vel.shape, "out", vel)
    if order == 1:
        _SL_MAC[dim](vel, flags, float(dt), out)
        return out
    work = _output(work, vel.shape, "work", vel, out)
    _SL_MAC[dim](vel, flags, float(dt), work)
    _MC_MAC[dim](vel, work, flags, float(dt), mode, out)
    return out


# --------------------------------------------------------------------------- helpers


def _advect_cells(field, vel, stag, flags, dim, dt, order, clamp, out, work):
    mode = _clamp_mode(clamp)
    _check_order(order)
    out = _output(out, field.shape, "out", field, vel)
    if order == 1:
        _SL_SCALAR[dim](field, vel, stag, flags, float(dt), out)
        return out
    work = _output(work, field.shape, "work", field, vel, out)
    _SL_SCALAR[dim](field, vel, stag, flags, float(dt), work)
    _MC_SCALAR[dim](field, work, vel, stag, flags, float(dt), mode, out)
    return out


def _as_field(a: np.ndarray) -> np.ndarray:
    """C-contiguous float32 view of an input (no copy when it already is one)."""
    return np.ascontiguousarray(a, dtype=np.float32)


def _vel_dim(vel: np.ndarray) -> int:
    dim = vel.ndim - 1
    if dim not in (2, 3) or vel.shape[0] != dim:
        raise ValueError(f"velocity must have shape (d, *shape) with d = 2 or 3, got {vel.shape}")
    if min(vel.shape[1:]) < 2:
        raise ValueError(f"grid {vel.shape[1:]} needs at least 2 cells per axis")
    return dim


def _check_shape(a: np.ndarray, shape: tuple[int, ...], name: str) -> None:
    if a.shape != tuple(shape):
        raise ValueError(f"{name} has shape {a.shape}, expected {tuple(shape)}")


def _check_order(order: int) -> None:
    if order not in ORDERS:
        raise ValueError(f"advection order must be one of {ORDERS}, got {order!r}")


def _clamp_mode(clamp: str) -> int:
    # ValueError, not the registry's UserError: the scene config has checked the name
    # already, so a bad one here is a programming error.
    if not isinstance(clamp, str) or clamp not in CLAMP_MODES:
        valid = ", ".join(CLAMP_MODES)
        raise ValueError(f"unknown MacCormack clamp {clamp!r}; valid: {valid}")
    return CLAMP_MODES.get(clamp)


def _output(
    buf: np.ndarray | None, shape: tuple[int, ...], name: str, *inputs: np.ndarray
) -> np.ndarray:
    """``buf`` checked as a float32 C-contiguous array of ``shape`` that overlaps no input."""
    if buf is None:
        return np.empty(shape, dtype=np.float32)
    if not isinstance(buf, np.ndarray) or buf.dtype != np.float32 or buf.shape != shape:
        raise ValueError(f"{name} must be a float32 array of shape {shape}")
    if not buf.flags.c_contiguous or not buf.flags.writeable:
        raise ValueError(f"{name} must be a writeable C-contiguous array")
    if any(np.may_share_memory(buf, a) for a in inputs):
        raise ValueError(f"{name} must not overlap an input array")
    return buf


@lru_cache(maxsize=8)
def _all_fluid(shape: tuple[int, ...]) -> np.ndarray:
    # kept writeable: a read-only array is another Numba type and would compile again
    return np.full(shape, FLUID, dtype=np.uint8)
