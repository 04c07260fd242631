"""The pressure Poisson operator on a flag grid, and a geometric multigrid V-cycle for it.

Operator (mantaflow's convention, pressure absorbs dt and density; dx = 1): for an *active*
cell c (FLUID with at least one non-OBSTACLE neighbour)

    (A p)_c = d_c p_c - sum over FLUID neighbours n of p_n,

with d_c the number of non-OBSTACLE neighbours (an OUTFLOW neighbour is a Dirichlet p = 0
ghost, an OBSTACLE neighbour a Neumann wall). A is symmetric positive semi-definite.

Storage, shared by every kernel of ``solvers.pressure`` and this module, 2D and 3D alike:

* A field over the grid is a flat float32 vector of length ``n + nx``: the C-order cells,
  then one *pad row* of ``nx`` zeros. Entries outside active cells are always zero.
* ``rows``, int64 ``(R, 5)``, lists the x-rows holding active cells by the flat start index
  of the row itself and of its y-, y+, z-, z+ neighbour rows. In 2D the z entries point at
  the pad row, so one stencil loop serves both dimensions with contiguous, vectorisable row
  slices (flat ``c - offset`` indexing does not vectorise in Numba).
* ``diag``, uint8 of length ``n + nx``: d_c on active cells, 0 elsewhere (the active mask).

Multigrid (McAdams, Sifakis & Teran 2010, "A parallel multigrid Poisson solver for fluids
simulation on large grids"): a symmetric V-cycle used as a CG preconditioner.

* Coarsening: coarse cell C covers fine cells 2C-1 and 2C along each axis, so the one-cell
  boundary layer maps onto the coarse boundary layer and a wall or open side stays on a
  coarse face at every level; n_coarse = (n + 1) // 2 + 1 works for any n (odd, not a power
  of two). A coarse cell is OUTFLOW if any child is OUTFLOW, else FLUID if any child is FLUID,
  else OBSTACLE (McAdams' rule: a Dirichlet condition is never lost, so a non-singular fine
  problem stays non-singular, and every fine fluid cell has a fluid or Dirichlet parent).
  Coarsening stops when the active cells number <= ``COARSEST_MAX`` or an axis is < 4 long.
* Coarse operators are rediscretised on the coarse flags (the same 5/7-point stencil); the
  grid spacing 2^l is folded into the restriction (factor 4 per level).
* Transfers: cell-centred (bi/tri)linear prolongation P, weights (3/4, 1/4) per axis, with
  the weights of OBSTACLE parents dropped and the rest renormalised (so a correction is
  extrapolated, not pulled to zero, at Neumann walls; OUTFLOW parents keep weight and value
  0, the Dirichlet value). Restriction R = 4 P^T / 2^d, exactly the scaled transpose.
* Smoothing: damped Jacobi, plus red-black Gauss-Seidel sweeps over the cells within
  ``BOUNDARY_DEPTH`` of a non-fluid cell ("boundary smoothing", where rediscretisation is
  least accurate). Pre-smoothing: Jacobi then boundary sweeps (red, black); post-smoothing
  is its adjoint: boundary sweeps (black, red) then Jacobi. With R proportional to P^T and a
  symmetric coarsest solve, the V-cycle is a symmetric linear operator, as CG requires.
* Coarsest level: dense pseudo-inverse (handles the singular all-Neumann case), or, for
  a coarsest level too big for that (very thin domains), symmetric red-black sweeps.

Dot products and sums accumulate in float64 per row and are summed in row order, so results
do not depend on the thread count. Kernels that sum floats use ``fastmath={"reassoc"}``
only: it lets LLVM vectorise the float64 row sums; NaN/Inf semantics stay IEEE.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
from numba import njit, prange
from scipy import ndimage

from solvers.grid import FLUID, OBSTACLE, OUTFLOW

COARSEST_MAX = 256  # stop coarsening at this many unknowns
DENSE_MAX = 2048  # largest coarsest level solved with a dense pseudo-inverse
MIN_COARSEN_LENGTH = 4  # an axis shorter than this is not coarsened further
BOUNDARY_DEPTH = 2  # boundary smoothing: cells within this many cells of a non-fluid cell
BOUNDARY_SWEEPS = 2  # red-black sweeps over those cells, before and after the coarse solve
COARSE_SWEEPS = 20  # red-black sweeps of the fallback coarsest "solve"
JACOBI_OMEGA = {2: 0.8, 3: 6.0 / 7.0}  # damped Jacobi weights (Fourier-optimal smoothing)

_KERNEL = {"parallel": True, "cache": True}
_SUM_KERNEL = {"parallel": True, "cache": True, "fastmath": {"reassoc"}}
_ABS_MASK = np.uint32(0x7FFFFFFF)


# --------------------------------------------------------------------------------------
# One grid level: operator layout
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PoissonLevel:
    """The Poisson operator of one flag grid in the flat padded layout (module docstring)."""

    flags: np.ndarray  # (*shape) uint8
    diag: np.ndarray  # (n + nx,) uint8
    rows: np.ndarray  # (R, 5) int64

    @property
    def shape(self) -> tuple[int, ...]:
        return self.flags.shape

    @property
    def n(self) -> int:
        return self.flags.size

    @property
    def nx(self) -> int:
        return self.flags.shape[-1]

    @property
    def offsets(self) -> tuple[int, int]:
        """Flat offsets (oy, oz) of the y and z neighbours; oz = 0 in 2D."""
        shape = self.shape
        return shape[-1], (shape[-1] * shape[-2] if len(shape) == 3 else 0)

    @property
    def active(self) -> np.ndarray:
        """(*shape) bool: the cells that carry an unknown."""
        return self.field(self.diag) > 0

    def vector(self) -> np.ndarray:
        """A zero vector in the padded layout, (n + nx,) float32."""
        return np.zeros(self.n + self.nx, dtype=np.float32)

    def field(self, vec: np.ndarray) -> np.ndarray:
        """The (*shape) view of a padded vector."""
        return vec[: self.n].reshape(self.shape)


def _neighbour_views(a: np.ndarray, axis: int) -> tuple[tuple[slice, ...], tuple[slice, ...]]:
    lo = [slice(1, -1)] * a.ndim
    hi = [slice(1, -1)] * a.ndim
    lo[axis] = slice(0, -2)
    hi[axis] = slice(2, None)
    return tuple(lo), tuple(hi)


def poisson_level(flags: np.ndarray) -> PoissonLevel:
    """Diagonal and row table of the operator on ``flags`` (outer layer must be non-fluid)."""
    flags = np.ascontiguousarray(flags, dtype=np.uint8)
    inner = tuple(slice(1, -1) for _ in flags.shape)
    count = np.zeros(flags.shape, dtype=np.uint8)
    for axis in range(flags.ndim):
        for view in _neighbour_views(flags, axis):
            count[inner] += flags[view] != OBSTACLE
    count[flags != FLUID] = 0
    diag = np.zeros(flags.size + flags.shape[-1], dtype=np.uint8)
    diag[: flags.size] = count.ravel()
    return PoissonLevel(flags=flags, diag=diag, rows=_row_table(flags.shape, count > 0))


def _row_table(shape: tuple[int, ...], active: np.ndarray) -> np.ndarray:
    n, nx = int(np.prod(shape)), shape[-1]
    row_has_active = active.reshape(-1, nx).any(axis=1)
    starts = np.flatnonzero(row_has_active).astype(np.int64) * nx
    oy = nx
    if len(shape) == 3:
        oz = nx * shape[1]
        zm, zp = starts - oz, starts + oz
    else:
        zm = zp = np.full_like(starts, n)  # the zero pad row
    return np.ascontiguousarray(np.stack([starts, starts - oy, starts + oy, zm, zp], axis=1))


def dense_matrix(level: PoissonLevel) -> tuple[np.ndarray, np.ndarray]:
    """(A, idx): the operator as a dense float64 matrix over the active cells ``idx``."""
    idx = np.flatnonzero(level.diag[: level.n])
    pos = np.full(level.n, -1, dtype=np.int64)
    pos[idx] = np.arange(idx.size)
    a = np.diag(level.diag[idx].astype(np.float64))
    for off in (1, *[o for o in level.offsets if o]):
        for nb in (idx - off, idx + off):
            j = pos[nb]
            ok = j >= 0
            a[np.flatnonzero(ok), j[ok]] = -1.0
    return a, idx


# --------------------------------------------------------------------------------------
# Stencil kernels (row table layout); used by the CG loop as well
# --------------------------------------------------------------------------------------


@njit(cache=True)
def _as_float(bits):
    box = np.empty(1, dtype=np.uint32)
    box[0] = bits
    return np.float64(box.view(np.float32)[0])


@njit(**_KERNEL)
def max_abs(rows, nx, v):
    """max |v| over the listed rows; NaN if any entry is NaN (an integer max of the bits)."""
    bits = v.view(np.uint32)
    part = np.zeros(rows.shape[0], dtype=np.uint32)
    for t in prange(rows.shape[0]):
        row = bits[rows[t, 0] : rows[t, 0] + nx]
        m = np.uint32(0)
        for i in range(nx):
            m = max(m, row[i] & _ABS_MASK)
        part[t] = m
    return _as_float(part.max()) if part.size else 0.0


@njit(**_SUM_KERNEL)
def residual(rows, nx, diag, b, x, r):
    """r = b - A x on active cells; returns max |r| (NaN-propagating)."""
    for t in prange(rows.shape[0]):
        c0, ym, yp, zm, zp = rows[t, 0], rows[t, 1], rows[t, 2], rows[t, 3], rows[t, 4]
        x0, d, br, rr = x[c0 : c0 + nx], diag[c0 : c0 + nx], b[c0 : c0 + nx], r[c0 : c0 + nx]
        xym, xyp, xzm, xzp = x[ym : ym + nx], x[yp : yp + nx], x[zm : zm + nx], x[zp : zp + nx]
        for i in range(1, nx - 1):
            nb = (x0[i - 1] + x0[i + 1]) + (xym[i] + xyp[i]) + (xzm[i] + xzp[i])
            v = br[i] - (np.float32(d[i]) * x0[i] - nb)
            rr[i] = v if d[i] > 0 else np.float32(0.0)
    return max_abs(rows, nx, r)


@njit(**_SUM_KERNEL)
def direction_matvec(rows, nx, diag, z, s_old, beta, s, q):
    """s = z + beta s_old and q = A s in one pass; returns s.q (float64)."""
    part = np.zeros(rows.shape[0])
    bt = np.float32(beta)
    for t in prange(rows.shape[0]):
        c0, ym, yp, zm, zp = rows[t, 0], rows[t, 1], rows[t, 2], rows[t, 3], rows[t, 4]
        d, sr, qr = diag[c0 : c0 + nx], s[c0 : c0 + nx], q[c0 : c0 + nx]
        z0, zym, zyp = z[c0 : c0 + nx], z[ym : ym + nx], z[yp : yp + nx]
        zzm, zzp = z[zm : zm + nx], z[zp : zp + nx]
        o0, oym, oyp = s_old[c0 : c0 + nx], s_old[ym : ym + nx], s_old[yp : yp + nx]
        ozm, ozp = s_old[zm : zm + nx], s_old[zp : zp + nx]
        acc = 0.0
        for i in range(1, nx - 1):
            centre = z0[i] + bt * o0[i]
            nb = (z0[i - 1] + bt * o0[i - 1]) + (z0[i + 1] + bt * o0[i + 1])
            nb += (zym[i] + bt * oym[i]) + (zyp[i] + bt * oyp[i])
            nb += (zzm[i] + bt * ozm[i]) + (zzp[i] + bt * ozp[i])
            v = np.float32(d[i]) * centre - nb
            v = v if d[i] > 0 else np.float32(0.0)
            sr[i] = centre
            qr[i] = v
            acc += np.float64(centre) * np.float64(v)
        part[t] = acc
    return _row_sum(part)


@njit(cache=True)
def _row_sum(part):
    total = 0.0
    for t in range(part.size):
        total += part[t]
    return total


@njit(**_SUM_KERNEL)
def jacobi_from_zero(rows, nx, diag, b, x, omega):
    """x = omega b / d: one damped Jacobi sweep from x = 0."""
    w = np.float32(omega)
    for t in prange(rows.shape[0]):
        c0 = rows[t, 0]
        d, br, xr = diag[c0 : c0 + nx], b[c0 : c0 + nx], x[c0 : c0 + nx]
        for i in range(1, nx - 1):
            xr[i] = w * br[i] / np.float32(d[i]) if d[i] > 0 else np.float32(0.0)


@njit(**_SUM_KERNEL)
def jacobi_dot(rows, nx, diag, b, x, out, omega):
    """out = x + omega (b - A x) / d (damped Jacobi, x and out distinct); returns b.out."""
    w = np.float32(omega)
    part = np.zeros(rows.shape[0])
    for t in prange(rows.shape[0]):
        c0, ym, yp, zm, zp = rows[t, 0], rows[t, 1], rows[t, 2], rows[t, 3], rows[t, 4]
        x0, d, br, orow = x[c0 : c0 + nx], diag[c0 : c0 + nx], b[c0 : c0 + nx], out[c0 : c0 + nx]
        xym, xyp, xzm, xzp = x[ym : ym + nx], x[yp : yp + nx], x[zm : zm + nx], x[zp : zp + nx]
        acc = 0.0
        for i in range(1, nx - 1):
            nb = (x0[i - 1] + x0[i + 1]) + (xym[i] + xyp[i]) + (xzm[i] + xzp[i])
            dd = np.float32(d[i])
            v = x0[i] + w * (br[i] - (dd * x0[i] - nb)) / dd if d[i] > 0 else np.float32(0.0)
            orow[i] = v
            acc += np.float64(br[i]) * np.float64(v)
        part[t] = acc
    return _row_sum(part)


@njit(**_KERNEL)
def gauss_seidel_cells(cells, diag, b, x, oy, oz):
    """x_c = (b_c + sum of neighbours) / d_c for the listed cells, which must not neighbour
    one another (one colour of a red-black ordering), so the loop is parallel and exact."""
    for t in prange(cells.size):
        c = cells[t]
        nb = (x[c - 1] + x[c + 1]) + (x[c - oy] + x[c + oy])
        if oz > 0:
            nb += x[c - oz] + x[c + oz]
        x[c] = (b[c] + nb) / np.float32(diag[c])


# --------------------------------------------------------------------------------------
# Hierarchy construction
# --------------------------------------------------------------------------------------


def coarsen_flags(flags: np.ndarray, axes: tuple[bool, ...]) -> np.ndarray:
    """2:1 coarse flags (module docstring); ``axes[k]`` says whether array axis k coarsens."""
    cshape = tuple(coarse_length(n, c) for n, c in zip(flags.shape, axes))
    padded = np.zeros(tuple(2 * m if c else m for m, c in zip(cshape, axes)), dtype=np.uint8)
    padded[tuple(slice(1, 1 + n) if c else slice(None) for n, c in zip(flags.shape, axes))] = flags
    blocks = padded.reshape(sum(((m, 2) if c else (m, 1) for m, c in zip(cshape, axes)), ()))
    child_axes = tuple(range(1, 2 * flags.ndim, 2))
    coarse = np.full(cshape, OBSTACLE, dtype=np.uint8)
    coarse[(blocks == FLUID).any(axis=child_axes)] = FLUID
    coarse[(blocks == OUTFLOW).any(axis=child_axes)] = OUTFLOW
    return coarse


def coarse_length(n: int, coarsened: bool = True) -> int:
    return (n + 1) // 2 + 1 if coarsened else n


def _axis_tables(n: int, coarsened: bool):
    """Per-axis transfer tables: parents (n, 2) of each fine index with prolongation weights,
    children (n_c, 4) of each coarse index with restriction weights (0 = no child)."""
    nc = coarse_length(n, coarsened)
    if not coarsened:
        parents = np.stack([np.arange(n), np.arange(n)], axis=1)
        pw = np.tile(np.array([1.0, 0.0], dtype=np.float32), (n, 1))
        children = np.zeros((nc, 4), dtype=np.int64)
        children[:, 0] = np.arange(nc)
        cw = np.zeros((nc, 4), dtype=np.float32)
        cw[:, 0] = 1.0
        return parents.astype(np.int64), pw, children, cw
    f = np.arange(n)
    p0 = (f + 1) // 2
    p1 = np.where(f % 2 == 1, p0 - 1, p0 + 1)
    parents = np.stack([p0, p1], axis=1).astype(np.int64)
    pw = np.tile(np.array([0.75, 0.25], dtype=np.float32), (n, 1))
    c = np.arange(nc)[:, None]
    children = 2 * c + np.array([-2, -1, 0, 1])[None, :]
    cw = np.tile(np.array([0.25, 0.75, 0.75, 0.25], dtype=np.float32), (nc, 1))
    outside = (children < 0) | (children >= n)
    cw[outside] = 0.0
    children[outside] = 0
    return parents, pw, children.astype(np.int64), cw


def _as3(shape: tuple[int, ...]) -> tuple[int, int, int]:
    return (1, *shape) if len(shape) == 2 else tuple(shape)


@dataclass
class _Transfer:
    parents: tuple[np.ndarray, ...]  # per axis (z, y, x): (n, 2) int64
    parent_w: tuple[np.ndarray, ...]  # (n, 2) float32
    children: tuple[np.ndarray, ...]  # (n_c, 4) int64
    child_w: tuple[np.ndarray, ...]  # (n_c, 4) float32
    inv_weight: np.ndarray  # (n + nx,) float32 on the fine level
    scratch: np.ndarray  # (nz * ny * nx_c,) float32: one coarse-length row per fine row


def _transfer(fine: PoissonLevel, coarse: PoissonLevel, axes: tuple[bool, ...]) -> _Transfer:
    axes3 = (False, *axes) if len(axes) == 2 else axes
    tables = [_axis_tables(n, c) for n, c in zip(_as3(fine.shape), axes3)]
    parents, parent_w, children, child_w = (tuple(t[k] for t in tables) for k in range(4))
    # Sum of the prolongation weights of each fine cell's non-OBSTACLE parents.
    open_parent = (coarse.flags != OBSTACLE).reshape(_as3(coarse.shape)).astype(np.float32)
    total = np.zeros(_as3(fine.shape), dtype=np.float32)
    for a in (0, 1):
        for b in (0, 1):
            for c in (0, 1):
                w = (
                    parent_w[0][:, a, None, None]
                    * parent_w[1][None, :, b, None]
                    * parent_w[2][None, None, :, c]
                )
                idx = np.ix_(parents[0][:, a], parents[1][:, b], parents[2][:, c])
                total += w * open_parent[idx]
    inv = np.zeros(fine.vector().shape, dtype=np.float32)
    inv_field = fine.field(inv)
    ok = fine.active & (total.reshape(fine.shape) > 0)
    inv_field[ok] = 1.0 / total.reshape(fine.shape)[ok]
    nz, ny, _ = _as3(fine.shape)
    scratch = np.zeros(nz * ny * coarse.nx, dtype=np.float32)
    return _Transfer(parents, parent_w, children, child_w, inv, scratch)


def _boundary_colours(level: PoissonLevel, depth: int) -> tuple[np.ndarray, np.ndarray]:
    """Flat indices of active cells within ``depth`` cells of a non-fluid cell, by colour."""
    if depth <= 0:
        near = np.zeros(level.shape, dtype=bool)
    else:
        cross = ndimage.generate_binary_structure(len(level.shape), 1)
        near = ndimage.binary_dilation(level.flags != FLUID, cross, iterations=depth)
    return _colour_split(level, near & level.active)


def _colour_split(level: PoissonLevel, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    parity = sum(np.indices(level.shape)).ravel() % 2
    cells = np.flatnonzero(mask.ravel())
    return (
        np.ascontiguousarray(cells[parity[cells] == 0], dtype=np.int64),
        np.ascontiguousarray(cells[parity[cells] == 1], dtype=np.int64),
    )


def build_hierarchy(flags: np.ndarray) -> list[PoissonLevel]:
    """Levels from fine to coarsest (module docstring for the rules)."""
    levels = [poisson_level(flags)]
    while True:
        last = levels[-1]
        n_active = int(np.count_nonzero(last.diag))
        if n_active <= COARSEST_MAX or min(last.shape) < MIN_COARSEN_LENGTH:
            return levels
        levels.append(poisson_level(coarsen_flags(last.flags, (True,) * last.flags.ndim)))


# --------------------------------------------------------------------------------------
# Transfer and coarsest-level kernels (3D form; a 2D grid is (1, ny, nx))
# --------------------------------------------------------------------------------------


@njit(**_SUM_KERNEL)
def _residual_restrict_x(rows, nx, diag, b, x, inv_w, work, scratch, nxc, children_x, cw_x):
    """Residual (b - A x) / W of each fine row, restricted along x into ``scratch``."""
    for t in prange(rows.shape[0]):
        c0, ym, yp, zm, zp = rows[t, 0], rows[t, 1], rows[t, 2], rows[t, 3], rows[t, 4]
        x0, d, br, iw = x[c0 : c0 + nx], diag[c0 : c0 + nx], b[c0 : c0 + nx], inv_w[c0 : c0 + nx]
        xym, xyp, xzm, xzp = x[ym : ym + nx], x[yp : yp + nx], x[zm : zm + nx], x[zp : zp + nx]
        res = work[c0 : c0 + nx]
        for i in range(1, nx - 1):
            nb = (x0[i - 1] + x0[i + 1]) + (xym[i] + xyp[i]) + (xzm[i] + xzp[i])
            v = (br[i] - (np.float32(d[i]) * x0[i] - nb)) * iw[i]
            res[i] = v if d[i] > 0 else np.float32(0.0)
        out = scratch[(c0 // nx) * nxc : (c0 // nx + 1) * nxc]
        for cx in range(nxc):
            s = np.float32(0.0)
            for m in range(4):
                s += cw_x[cx, m] * res[children_x[cx, m]]
            out[cx] = s


@njit(**_SUM_KERNEL)
def _restrict_yz(crows, nxc, nyc, cdiag, bc, scratch, ny, children_y, cw_y, children_z, cw_z,
                 scale):  # fmt: skip
    """Coarse right-hand side: the x-restricted rows combined along y and z, masked."""
    for t in prange(crows.shape[0]):
        c0 = crows[t, 0]
        row = c0 // nxc
        cz, cy = row // nyc, row % nyc
        out, d = bc[c0 : c0 + nxc], cdiag[c0 : c0 + nxc]
        out[:] = 0.0
        for a in range(4):
            wz = cw_z[cz, a]
            if wz == 0.0:
                continue
            for b in range(4):
                w = wz * cw_y[cy, b]
                if w == 0.0:
                    continue
                src = scratch[(children_z[cz, a] * ny + children_y[cy, b]) * nxc :][:nxc]
                for i in range(nxc):
                    out[i] += w * src[i]
        s = np.float32(scale)
        for i in range(nxc):
            out[i] = out[i] * s if d[i] > 0 else np.float32(0.0)


@njit(**_SUM_KERNEL)
def _prolong_add(rows, nx, ny, diag, x, inv_w, e, nxc, nyc, scratch, par_x, pw_x, par_y, pw_y,
                 par_z, pw_z):  # fmt: skip
    """x += P e on active fine cells (renormalised linear interpolation of coarse ``e``)."""
    for t in prange(rows.shape[0]):
        c0 = rows[t, 0]
        row = c0 // nx
        k, j = row // ny, row % ny
        tmp = scratch[row * nxc : (row + 1) * nxc]
        tmp[:] = 0.0
        for a in range(2):
            wz = pw_z[k, a]
            if wz == 0.0:
                continue
            for b in range(2):
                w = wz * pw_y[j, b]
                src = e[(par_z[k, a] * nyc + par_y[j, b]) * nxc :][:nxc]
                for i in range(nxc):
                    tmp[i] += w * src[i]
        xr, d, iw = x[c0 : c0 + nx], diag[c0 : c0 + nx], inv_w[c0 : c0 + nx]
        for i in range(1, nx - 1):
            if d[i] > 0:
                v = pw_x[i, 0] * tmp[par_x[i, 0]] + pw_x[i, 1] * tmp[par_x[i, 1]]
                xr[i] += iw[i] * v


@njit(**_SUM_KERNEL)
def _dense_solve(pinv, idx, b, x):
    """x[idx] = pinv @ b[idx]."""
    m = idx.size
    g = np.empty(m)
    for i in range(m):
        g[i] = b[idx[i]]
    for i in prange(m):
        s = 0.0
        for j in range(m):
            s += pinv[i, j] * g[j]
        x[idx[i]] = np.float32(s)


# --------------------------------------------------------------------------------------
# V-cycle
# --------------------------------------------------------------------------------------


@njit(cache=True)
def _smooth_boundary(red, black, diag, b, x, oy, oz, sweeps, forward):
    for _ in range(sweeps):
        if forward:
            gauss_seidel_cells(red, diag, b, x, oy, oz)
            gauss_seidel_cells(black, diag, b, x, oy, oz)
        else:
            gauss_seidel_cells(black, diag, b, x, oy, oz)
            gauss_seidel_cells(red, diag, b, x, oy, oz)


@njit(**_SUM_KERNEL)
def _dot_rows(rows, nx, a, b):
    part = np.zeros(rows.shape[0])
    for t in prange(rows.shape[0]):
        c0 = rows[t, 0]
        ar, br = a[c0 : c0 + nx], b[c0 : c0 + nx]
        acc = 0.0
        for i in range(nx):
            acc += np.float64(ar[i]) * np.float64(br[i])
        part[t] = acc
    return _row_sum(part)


@njit(cache=True)
def _seg(data, off, k):
    """Segment k of a packed buffer (``_pack``)."""
    return data[off[k] : off[k + 1]]


@njit(cache=True)
def _vcycle(r0, z0, h, vec, rows, roff, bs, xs, ts, work, diag, inv_w, scratch, soff, red,
            redoff, black, blackoff, par, poff, pw, child, coff, cw, pinv, coarse_idx, omega,
            b_sweeps, c_sweeps):  # fmt: skip
    """z0 = V-cycle(r0); returns r0.z0.

    Level l's arrays are segments of packed buffers (``Multigrid``): ``vec`` segments of the
    level vectors bs (right-hand side; r0 at l = 0), xs (pre-smoothed iterate), ts (result;
    z0 at l = 0), work, diag, inv_w; ``h[l]`` = (nz, ny, nx, oy, oz); transfer tables of
    level l and axis a (z, y, x = 0, 1, 2) are segment 3 l + a of par/pw and child/cw.
    """
    n_levels = h.shape[0]
    for lv in range(n_levels - 1):
        nz, ny, nx, oy, oz = h[lv, 0], h[lv, 1], h[lv, 2], h[lv, 3], h[lv, 4]
        nyc, nxc = h[lv + 1, 1], h[lv + 1, 2]
        b = r0 if lv == 0 else _seg(bs, vec, lv)
        x, d, rw = _seg(xs, vec, lv), _seg(diag, vec, lv), _seg(rows, roff, lv)
        rd, bk, sc = _seg(red, redoff, lv), _seg(black, blackoff, lv), _seg(scratch, soff, lv)
        jacobi_from_zero(rw, nx, d, b, x, omega)
        _smooth_boundary(rd, bk, d, b, x, oy, oz, b_sweeps, True)
        tx, ty, tz = 3 * lv + 2, 3 * lv + 1, 3 * lv
        _residual_restrict_x(
            rw, nx, d, b, x, _seg(inv_w, vec, lv), _seg(work, vec, lv), sc, nxc,
            _seg(child, coff, tx), _seg(cw, coff, tx),
        )  # fmt: skip
        scale = 4.0 / (8.0 if nz > 1 else 4.0)
        _restrict_yz(
            _seg(rows, roff, lv + 1), nxc, nyc, _seg(diag, vec, lv + 1), _seg(bs, vec, lv + 1),
            sc, ny, _seg(child, coff, ty), _seg(cw, coff, ty), _seg(child, coff, tz),
            _seg(cw, coff, tz), scale,
        )  # fmt: skip
    last = n_levels - 1
    bl = r0 if last == 0 else _seg(bs, vec, last)
    tl = z0 if last == 0 else _seg(ts, vec, last)
    if pinv.shape[0] > 0:
        _dense_solve(pinv, coarse_idx, bl, tl)
    else:
        tl[:] = 0.0
        oy, oz, d = h[last, 3], h[last, 4], _seg(diag, vec, last)
        rd, bk = _seg(red, redoff, last), _seg(black, blackoff, last)
        _smooth_boundary(rd, bk, d, bl, tl, oy, oz, c_sweeps, True)
        _smooth_boundary(rd, bk, d, bl, tl, oy, oz, c_sweeps, False)
    rz = 0.0
    for lv in range(n_levels - 2, -1, -1):
        nz, ny, nx, oy, oz = h[lv, 0], h[lv, 1], h[lv, 2], h[lv, 3], h[lv, 4]
        nyc, nxc = h[lv + 1, 1], h[lv + 1, 2]
        b = r0 if lv == 0 else _seg(bs, vec, lv)
        out = z0 if lv == 0 else _seg(ts, vec, lv)
        x, d, rw = _seg(xs, vec, lv), _seg(diag, vec, lv), _seg(rows, roff, lv)
        tx, ty, tz = 3 * lv + 2, 3 * lv + 1, 3 * lv
        _prolong_add(
            rw, nx, ny, d, x, _seg(inv_w, vec, lv), _seg(ts, vec, lv + 1), nxc, nyc,
            _seg(scratch, soff, lv), _seg(par, poff, tx), _seg(pw, poff, tx),
            _seg(par, poff, ty), _seg(pw, poff, ty), _seg(par, poff, tz), _seg(pw, poff, tz),
        )  # fmt: skip
        rd, bk = _seg(red, redoff, lv), _seg(black, blackoff, lv)
        _smooth_boundary(rd, bk, d, b, x, oy, oz, b_sweeps, False)
        rz = jacobi_dot(rw, nx, d, b, x, out, omega)
    if n_levels == 1:
        rz = _dot_rows(_seg(rows, roff, 0), h[0, 2], r0, z0)
    return rz


def _pack(arrays: list[np.ndarray], dtype, width: int | None = None):
    """Concatenate arrays along axis 0: (data, offsets), segment k = data[off[k]:off[k+1]]."""
    off = np.zeros(len(arrays) + 1, dtype=np.int64)
    off[1:] = np.cumsum([a.shape[0] for a in arrays])
    shape = (int(off[-1]),) if width is None else (int(off[-1]), width)
    data = np.zeros(shape, dtype=dtype)
    for a, lo, hi in zip(arrays, off[:-1], off[1:]):
        data[lo:hi] = a
    return data, off


class Multigrid:
    """The V-cycle preconditioner for the operator of ``level`` (built once, static flags)."""

    def __init__(self, level: PoissonLevel, omega: float | None = None):
        levels = build_hierarchy(level.flags)
        levels[0] = level
        self.levels = levels
        dim = len(level.shape)
        self.omega = JACOBI_OMEGA[dim] if omega is None else float(omega)
        transfers = [_transfer(f, c, (True,) * dim) for f, c in itertools.pairwise(levels)]
        self._pinv, self._coarse_idx = _coarsest_inverse(levels[-1])
        colours = [_boundary_colours(lv, BOUNDARY_DEPTH) for lv in levels[:-1]]
        colours.append(_colour_split(levels[-1], levels[-1].active))
        none2, none4 = np.zeros((0, 2)), np.zeros((0, 4))
        tables = [t for t in transfers for _ in range(3)] + [None] * 3
        axis = [a for _ in levels for a in range(3)]
        vectors = [lv.vector() for lv in levels]
        f32 = np.float32
        self._args = (
            np.array([(*_as3(lv.shape), *lv.offsets) for lv in levels], dtype=np.int64),
            _pack(vectors, f32)[1],
            *_pack([lv.rows for lv in levels], np.int64, 5),
            *(_pack(vectors, f32)[0] for _ in range(4)),  # bs, xs, ts, work
            _pack([lv.diag for lv in levels], np.uint8)[0],
            _pack([*(t.inv_weight for t in transfers), vectors[-1]], f32)[0],
            *_pack([*(t.scratch for t in transfers), np.zeros(0)], f32),
            *_pack([c[0] for c in colours], np.int64),
            *_pack([c[1] for c in colours], np.int64),
            *_pack([t.parents[a] if t else none2 for t, a in zip(tables, axis)], np.int64, 2),
            _pack([t.parent_w[a] if t else none2 for t, a in zip(tables, axis)], f32, 2)[0],
            *_pack([t.children[a] if t else none4 for t, a in zip(tables, axis)], np.int64, 4),
            _pack([t.child_w[a] if t else none4 for t, a in zip(tables, axis)], f32, 4)[0],
            self._pinv,
            self._coarse_idx,
            self.omega,
            BOUNDARY_SWEEPS,
            COARSE_SWEEPS,
        )

    def apply(self, r: np.ndarray, z: np.ndarray) -> float:
        """z = M r for padded fine vectors; returns r.z (float64)."""
        return _vcycle(r, z, *self._args)

    def describe(self) -> str:
        return " -> ".join("x".join(map(str, lv.shape)) for lv in self.levels)


def _coarsest_inverse(level: PoissonLevel) -> tuple[np.ndarray, np.ndarray]:
    """Dense pseudo-inverse of the coarsest operator and its cells; empty when too big."""
    if np.count_nonzero(level.diag) > DENSE_MAX:
        return np.zeros((0, 0)), np.zeros(0, dtype=np.int64)
    a, idx = dense_matrix(level)
    pinv = np.linalg.pinv(a, hermitian=True) if idx.size else np.zeros((0, 0))
    return np.ascontiguousarray(pinv), idx.astype(np.int64)
