"""Pressure projection on the MAC grid: divergence, Poisson solve (PCG), velocity correction.

The Poisson problem follows mantaflow (pressure absorbs dt and density, dx = 1): unknowns p
in the active FLUID cells, ``A p = b`` with A from ``solvers.multigrid`` (OUTFLOW neighbours
are Dirichlet p = 0, OBSTACLE neighbours Neumann walls) and ``b = -div(vel)``. The
correction ``vel[a][c] -= p_c - p_{c - e_a}`` on every face between two non-OBSTACLE cells of
which at least one is FLUID leaves ``div = -(b - A p)``: the divergence after projection is
minus the final residual, so the solve tolerance bounds it directly.

Solvers (``METHODS``): ``"cg"`` (plain CG, the reference), ``"micpcg"`` (MIC(0)-preconditioned
CG, Bridson, "Fluid Simulation for Computer Graphics", tuning 0.97, safety 0.25; serial
triangular solves) and ``"mgpcg"`` (CG preconditioned by one multigrid V-cycle; default).

Stopping: ``max |b - A p| <= tol`` (``tol_mode="absolute"``, mantaflow's accuracy) or
``<= tol * max |b|`` (``"relative"``). Convergence is judged on CG's recursive residual and
then confirmed on the true residual; if float32 round-off made them differ, CG restarts from
the true residual. A NaN/Inf residual, a CG breakdown or no convergence within ``max_iter``
iterations raises ``PressureSolveError``.

Singular systems: a connected region of active cells with no OUTFLOW neighbour (a closed
box, a sealed pocket) has pure Neumann conditions, and A is singular there (constants are in
its null space). Before each solve the right-hand side is projected onto the range of A by
subtracting its mean over each such region (a consistent velocity, with zero normal
velocity on walls, changes it only by round-off); after the solve the same regions' mean
pressure is reset to zero, so warm-started pressures never drift.

Wall boundary conditions (zero normal velocity on OBSTACLE faces) are the caller's business
(mantaflow's ``setWallBcs``): this module never writes a face next to an OBSTACLE cell.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numba import njit, prange
from scipy import ndimage

from fluidgan.errors import UserError
from fluidgan.registry import Registry
from solvers.grid import FLUID, OBSTACLE
from solvers.multigrid import (
    Multigrid,
    PoissonLevel,
    direction_matvec,
    max_abs,
    poisson_level,
    residual,
)

MIC_TUNING = 0.97
MIC_SAFETY = 0.25

_KERNEL = {"parallel": True, "cache": True}
_SUM_KERNEL = {"parallel": True, "cache": True, "fastmath": {"reassoc"}}


class PressureSolveError(RuntimeError):
    """The pressure solve produced NaN/Inf or did not converge."""


@dataclass(frozen=True)
class ProjectionStats:
    """What one projection took: CG iterations, final max-norm residual (the remaining
    divergence, grid units per time unit), whether it converged, the method name."""

    iterations: int
    residual: float
    converged: bool
    method: str


# --------------------------------------------------------------------------------------
# Divergence and velocity correction (MAC layout of solvers.grid)
# --------------------------------------------------------------------------------------


@njit(**_KERNEL)
def _divergence_2d(vel, flags, out):
    ny, nx = flags.shape
    out[:] = 0.0
    for j in prange(1, ny - 1):
        for i in range(1, nx - 1):
            if flags[j, i] == FLUID:
                out[j, i] = (vel[0, j, i + 1] - vel[0, j, i]) + (vel[1, j + 1, i] - vel[1, j, i])


@njit(**_KERNEL)
def _divergence_3d(vel, flags, out):
    nz, ny, nx = flags.shape
    out[:] = 0.0
    for k in prange(1, nz - 1):
        for j in range(1, ny - 1):
            for i in range(1, nx - 1):
                if flags[k, j, i] == FLUID:
                    out[k, j, i] = (
                        (vel[0, k, j, i + 1] - vel[0, k, j, i])
                        + (vel[1, k, j + 1, i] - vel[1, k, j, i])
                        + (vel[2, k + 1, j, i] - vel[2, k, j, i])
                    )


@njit(cache=True)
def _corrects(fa, fb):
    """Whether the face between cells with flags fa, fb gets the pressure gradient."""
    return fa != OBSTACLE and fb != OBSTACLE and (fa == FLUID or fb == FLUID)


@njit(**_KERNEL)
def _subtract_gradient_2d(vel, flags, p):
    ny, nx = flags.shape
    for j in prange(1, ny):
        for i in range(1, nx):
            f = flags[j, i]
            if _corrects(f, flags[j, i - 1]):
                vel[0, j, i] -= p[j, i] - p[j, i - 1]
            if _corrects(f, flags[j - 1, i]):
                vel[1, j, i] -= p[j, i] - p[j - 1, i]


@njit(**_KERNEL)
def _subtract_gradient_3d(vel, flags, p):
    nz, ny, nx = flags.shape
    for k in prange(1, nz):
        for j in range(1, ny):
            for i in range(1, nx):
                f = flags[k, j, i]
                if _corrects(f, flags[k, j, i - 1]):
                    vel[0, k, j, i] -= p[k, j, i] - p[k, j, i - 1]
                if _corrects(f, flags[k, j - 1, i]):
                    vel[1, k, j, i] -= p[k, j, i] - p[k, j - 1, i]
                if _corrects(f, flags[k - 1, j, i]):
                    vel[2, k, j, i] -= p[k, j, i] - p[k - 1, j, i]


_DIVERGENCE = {2: _divergence_2d, 3: _divergence_3d}
_SUBTRACT_GRADIENT = {2: _subtract_gradient_2d, 3: _subtract_gradient_3d}


def _check_velocity(vel: np.ndarray, shape: tuple[int, ...]) -> None:
    if vel.shape != (len(shape), *shape) or vel.dtype != np.float32:
        raise ValueError(
            f"vel must be float32 of shape {(len(shape), *shape)}, got {vel.dtype} {vel.shape}"
        )
    if not vel.flags.c_contiguous:
        raise ValueError("vel must be C-contiguous")


def divergence(vel: np.ndarray, flags: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """Discrete divergence of a MAC velocity ``(d, *shape)``: ``(*shape)`` float32 in
    cells per time unit per cell, 0 outside FLUID cells."""
    _check_velocity(vel, flags.shape)
    if out is None:
        out = np.empty(flags.shape, dtype=np.float32)
    _DIVERGENCE[flags.ndim](vel, flags, out)
    return out


# --------------------------------------------------------------------------------------
# CG pieces not in solvers.multigrid
# --------------------------------------------------------------------------------------


@njit(**_SUM_KERNEL)
def _cg_update(rows, nx, p, r, s, q, alpha):
    """p += alpha s, r -= alpha q; returns (max |r|, r.r)."""
    a = np.float32(alpha)
    part = np.zeros(rows.shape[0])
    for t in prange(rows.shape[0]):
        c0 = rows[t, 0]
        pr, rr, sr, qr = p[c0 : c0 + nx], r[c0 : c0 + nx], s[c0 : c0 + nx], q[c0 : c0 + nx]
        acc = 0.0
        for i in range(nx):
            pr[i] += a * sr[i]
            v = rr[i] - a * qr[i]
            rr[i] = v
            acc += np.float64(v) * np.float64(v)
        part[t] = acc
    total = 0.0
    for t in range(part.size):
        total += part[t]
    return max_abs(rows, nx, r), total


@njit(**_KERNEL)
def _neg_divergence(vel, flags, diag, b):
    """b = -div(vel) on active cells (diag > 0), 0 elsewhere (the pad row is untouched)."""
    n = flags.size
    if flags.ndim == 2:
        _divergence_2d(vel, flags, b[:n].reshape(flags.shape))
    else:
        _divergence_3d(vel, flags, b[:n].reshape(flags.shape))
    for c in prange(n):
        b[c] = -b[c] if diag[c] > 0 else np.float32(0.0)


@njit(cache=True)
def _remove_means(x, cells, labels, counts):
    """Subtract from x its mean over each labelled region (cells, labels 0..K-1)."""
    sums = np.zeros(counts.size)
    for t in range(cells.size):
        sums[labels[t]] += x[cells[t]]
    means = (sums / counts).astype(np.float32)
    for t in range(cells.size):
        x[cells[t]] -= means[labels[t]]


def _neumann_regions(level: PoissonLevel, flags: np.ndarray):
    """(cells, labels, counts) of the connected active regions with no OUTFLOW neighbour."""
    active = level.active
    labels, n = ndimage.label(active, ndimage.generate_binary_structure(flags.ndim, 1))
    if n == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0)
    fluid_neighbours = ndimage.convolve(
        (flags == FLUID).astype(np.int32),
        ndimage.generate_binary_structure(flags.ndim, 1).astype(np.int32),
        mode="constant",
    ) - (flags == FLUID)
    # An active cell touches OUTFLOW iff its diagonal exceeds its count of FLUID neighbours.
    touches_outflow = active & (level.field(level.diag) > fluid_neighbours)
    open_labels = np.unique(labels[touches_outflow])
    closed = np.setdiff1d(np.arange(1, n + 1), open_labels)
    if closed.size == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0)
    relabel = np.full(n + 1, -1, dtype=np.int64)
    relabel[closed] = np.arange(closed.size)
    flat = relabel[labels.ravel()]
    cells = np.flatnonzero(flat >= 0).astype(np.int64)
    region = flat[cells]
    return cells, region, np.bincount(region, minlength=closed.size).astype(np.float64)


# --------------------------------------------------------------------------------------
# Preconditioners (registry)
# --------------------------------------------------------------------------------------


@njit(cache=True)
def _mic0_factor(rows, nx, diag, oy, oz, tuning, safety, precon):
    """Bridson's MIC(0) factor 1/sqrt(e) on active cells, in row order (serial)."""
    # Per axis: its flat offset and those of the two other axes (0 = no such axis, 2D z).
    axes = np.array([[1, oy, oz], [oy, 1, oz], [oz, 1, oy]], dtype=np.int64)
    for t in range(rows.shape[0]):
        c0 = rows[t, 0]
        for i in range(1, nx - 1):
            c = c0 + i
            if diag[c] == 0:
                continue
            e = np.float64(diag[c])
            for a in range(3):
                o = axes[a, 0]
                if o == 0 or diag[c - o] == 0:
                    continue
                m = c - o
                pm2 = np.float64(precon[m]) ** 2
                # Couplings of m to its forward neighbours along the two other axes.
                other = 0
                for b in (1, 2):
                    if axes[a, b] > 0 and diag[m + axes[a, b]] > 0:
                        other += 1
                e -= pm2 + tuning * other * pm2
            if e < safety * diag[c]:
                e = np.float64(diag[c])
            precon[c] = np.float32(1.0 / np.sqrt(e))


@njit(cache=True)
def _mic0_apply(rows, nx, precon, r, q, z):
    """z = (L L^T)^-1 r with Bridson's MIC(0) factor; returns r.z. Serial sweeps."""
    for t in range(rows.shape[0]):
        c0, ym, zm = rows[t, 0], rows[t, 1], rows[t, 3]
        pc, rr, qr = precon[c0 : c0 + nx], r[c0 : c0 + nx], q[c0 : c0 + nx]
        pym, qym, pzm, qzm = (
            precon[ym : ym + nx],
            q[ym : ym + nx],
            precon[zm : zm + nx],
            q[zm : zm + nx],
        )
        for i in range(1, nx - 1):
            s = rr[i] + pc[i - 1] * qr[i - 1] + pym[i] * qym[i] + pzm[i] * qzm[i]
            qr[i] = s * pc[i]
    rz = 0.0
    for t in range(rows.shape[0] - 1, -1, -1):
        c0, yp, zp = rows[t, 0], rows[t, 2], rows[t, 4]
        pc, qr, zr, rr = precon[c0 : c0 + nx], q[c0 : c0 + nx], z[c0 : c0 + nx], r[c0 : c0 + nx]
        zyp, zzp = z[yp : yp + nx], z[zp : zp + nx]
        for i in range(nx - 2, 0, -1):
            s = qr[i] + pc[i] * (zr[i + 1] + zyp[i] + zzp[i])
            v = s * pc[i]
            zr[i] = v
            rz += np.float64(rr[i]) * np.float64(v)
    return rz


#: Preconditioner factories ``level -> object with apply(r, z) -> r.z`` (``None``: no
#: preconditioner, z = r), listed cheapest set-up first.
METHODS: Registry[Callable[[PoissonLevel], object | None]] = Registry(
    "pressure method", ordered=True
)
register_method = METHODS.register


@register_method("cg")
def _no_preconditioner(level: PoissonLevel) -> None:
    return None


@register_method("micpcg")
class MIC0:
    """Modified incomplete Cholesky, level 0 fill (Bridson's book, tuning 0.97, safety 0.25)."""

    def __init__(self, level: PoissonLevel):
        self._rows, self._nx = level.rows, level.nx
        self._precon = level.vector()
        self._q = level.vector()
        oy, oz = level.offsets
        _mic0_factor(level.rows, level.nx, level.diag, oy, oz, MIC_TUNING, MIC_SAFETY, self._precon)

    def apply(self, r: np.ndarray, z: np.ndarray) -> float:
        return _mic0_apply(self._rows, self._nx, self._precon, r, self._q, z)


register_method("mgpcg")(Multigrid)

#: The stopping tolerance ``(tol, level, b) -> max |b - A p|`` allowed, by ``tol_mode``.
TOL_MODES: Registry[Callable[[float, PoissonLevel, np.ndarray], float]] = Registry(
    "pressure tol_mode", ordered=True
)


@TOL_MODES.register("absolute")
def _absolute_tolerance(tol: float, level: PoissonLevel, b: np.ndarray) -> float:
    return tol


@TOL_MODES.register("relative")
def _relative_tolerance(tol: float, level: PoissonLevel, b: np.ndarray) -> float:
    return tol * max_abs(level.rows, level.nx, b)


# --------------------------------------------------------------------------------------
# The projector
# --------------------------------------------------------------------------------------


class Projector:
    """Pressure projection for static ``flags`` ((*shape) uint8, outer layer non-fluid).

    Builds the operator, the preconditioner and all work arrays once; ``project(vel)``
    then makes ``vel`` ((d, *shape) float32, modified in place) discretely divergence-free
    to ``tol`` and returns ``ProjectionStats``. ``warm_start`` starts each solve from the
    previous pressure. ``pressure`` is the last pressure, (*shape) float32 (absorbs dt and
    density, mantaflow's convention).
    """

    def __init__(
        self,
        flags: np.ndarray,
        method: str = "mgpcg",
        tol: float = 1e-3,
        tol_mode: str = "absolute",
        max_iter: int = 1000,
        warm_start: bool = True,
    ):
        if method not in METHODS:
            raise UserError(f"pressure method {method!r} unknown; valid: {', '.join(METHODS)}")
        if tol_mode not in TOL_MODES:
            raise UserError(
                f"pressure tol_mode {tol_mode!r} unknown; valid: {', '.join(TOL_MODES)}"
            )
        if not tol > 0:
            raise UserError(f"pressure tol must be > 0, got {tol}")
        if max_iter < 1:
            raise UserError(f"pressure max_iter must be >= 1, got {max_iter}")
        _check_flags(flags)
        self.method, self.tol, self.tol_mode = method, float(tol), tol_mode
        self.max_iter, self.warm_start = int(max_iter), bool(warm_start)
        self._flags = np.ascontiguousarray(flags, dtype=np.uint8)
        self._level = level = poisson_level(self._flags)
        self._b, self._p, self._r, self._z = (level.vector() for _ in range(4))
        self._s, self._s_old, self._q = (level.vector() for _ in range(3))
        self._neumann = _neumann_regions(level, self._flags)
        self._precond = METHODS.get(method)(level)

    @property
    def pressure(self) -> np.ndarray:
        """The last pressure, a (*shape) float32 view (0 outside active cells)."""
        return self._level.field(self._p)

    def project(self, vel: np.ndarray) -> ProjectionStats:
        """Make ``vel`` divergence-free in place; raises PressureSolveError on failure."""
        lv = self._level
        _check_velocity(vel, lv.shape)
        _neg_divergence(vel, self._flags, lv.diag, self._b)
        if self._neumann[0].size:
            _remove_means(self._b, *self._neumann)
        if not self.warm_start:
            self._p[:] = 0.0
        iterations, res = self._solve(TOL_MODES[self.tol_mode](self.tol, lv, self._b))
        if self._neumann[0].size:
            _remove_means(self._p, *self._neumann)
        _SUBTRACT_GRADIENT[lv.flags.ndim](vel, self._flags, lv.field(self._p))
        return ProjectionStats(iterations, res, True, self.method)

    def _fail(self, why: str, iterations: int, res: float) -> PressureSolveError:
        return PressureSolveError(
            f"pressure solve ({self.method}) {why} after {iterations} iterations, "
            f"max-norm residual {res:.3g} (tolerance {self.tol:g} {self.tol_mode})"
        )

    def _solve(self, tol: float) -> tuple[int, float]:
        """Preconditioned CG on A p = b from the current p; returns (iterations, residual)."""
        lv = self._level
        if tol == 0.0:  # relative tolerance with b = 0: p = 0 is exact
            self._p[:] = 0.0
            return 0, 0.0
        res = residual(lv.rows, lv.nx, lv.diag, self._b, self._p, self._r)
        iterations = 0
        while np.isfinite(res) and res > tol:
            iterations, res = self._cg_run(tol, iterations)
            if np.isfinite(res):  # CG's recursive residual drifts in float32: confirm
                res = residual(lv.rows, lv.nx, lv.diag, self._b, self._p, self._r)
        if not np.isfinite(res):
            raise self._fail("produced a non-finite residual", iterations, res)
        return iterations, res

    def _cg_run(self, tol: float, iterations: int) -> tuple[int, float]:
        """CG iterations from the residual in r until the recursive residual <= tol (or a
        breakdown, or non-finite values); returns (iterations so far, recursive residual)."""
        lv, p, r, q, precond = self._level, self._p, self._r, self._q, self._precond
        rows, nx, diag = lv.rows, lv.nx, lv.diag
        z = r if precond is None else self._z
        rho = _dot_self(rows, nx, r) if precond is None else precond.apply(r, z)
        beta, res = 0.0, np.inf
        while True:
            if iterations >= self.max_iter:
                raise self._fail("did not converge", iterations, max_abs(rows, nx, r))
            iterations += 1
            self._s, self._s_old = self._s_old, self._s
            sigma = direction_matvec(rows, nx, diag, z, self._s_old, beta, self._s, q)
            if not (np.isfinite(sigma) and np.isfinite(rho)):
                return iterations, np.nan
            if sigma <= 0.0:  # breakdown (round-off at a tiny residual): restart
                return iterations, max_abs(rows, nx, r)
            res, rr = _cg_update(rows, nx, p, r, self._s, q, rho / sigma)
            if not np.isfinite(res) or res <= tol:
                return iterations, res
            rho_new = rr if precond is None else precond.apply(r, z)
            beta, rho = rho_new / rho, rho_new


@njit(**_SUM_KERNEL)
def _dot_self(rows, nx, v):
    part = np.zeros(rows.shape[0])
    for t in prange(rows.shape[0]):
        row = v[rows[t, 0] : rows[t, 0] + nx]
        acc = 0.0
        for i in range(nx):
            acc += np.float64(row[i]) * np.float64(row[i])
        part[t] = acc
    total = 0.0
    for t in range(part.size):
        total += part[t]
    return total


def _check_flags(flags: np.ndarray) -> None:
    if flags.ndim not in (2, 3):
        raise ValueError(f"flags must be 2D or 3D, got shape {flags.shape}")
    if flags.dtype != np.uint8:
        raise ValueError(f"flags must be uint8, got {flags.dtype}")
    if min(flags.shape) < 3:
        raise ValueError(f"grid {flags.shape} too small")
    interior = np.zeros(flags.shape, dtype=bool)
    interior[tuple(slice(1, -1) for _ in flags.shape)] = True
    if np.any((flags == FLUID) & ~interior):
        raise ValueError("the outer layer of flags must be non-fluid (OBSTACLE or OUTFLOW)")
