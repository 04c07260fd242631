"""Body forces on the MAC velocity: Boussinesq buoyancy and vorticity confinement.

Conventions of :mod:`solvers.grid`; both functions update ``vel`` (d, *shape) float32 in
place. A face is the lower face of cell c along axis a, between cells c - e_a and c; faces
with index 0 along a (outside the domain) are never touched, nor is any face with an
OBSTACLE cell on either side.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from solvers.boundaries import require_flags, require_velocity
from solvers.grid import FLUID, OBSTACLE

_FLUID = int(FLUID)
_OBSTACLE = int(OBSTACLE)
_EPS = 1e-6  # keeps N = grad|w| / (|grad|w|| + eps) finite where |w| is flat


@njit(inline="always")
def _open_face(here, there):
    """A face gets a force when neither cell is solid and at least one is fluid."""
    return here != _OBSTACLE and there != _OBSTACLE and (here == _FLUID or there == _FLUID)


# -------------------------------------------------------------------------- buoyancy


@njit(parallel=True, cache=True)
def _buoyancy_2d(vel, rho, flags, accel):
    ny, nx = flags.shape
    hx, hy = 0.5 * accel[0], 0.5 * accel[1]
    for j in prange(ny):
        for i in range(nx):
            c = flags[j, i]
            if i > 0 and _open_face(c, flags[j, i - 1]):
                vel[0, j, i] += hx * (rho[j, i] + rho[j, i - 1])
            if j > 0 and _open_face(c, flags[j - 1, i]):
                vel[1, j, i] += hy * (rho[j, i] + rho[j - 1, i])


@njit(parallel=True, cache=True)
def _buoyancy_3d(vel, rho, flags, accel):
    nz, ny, nx = flags.shape
    hx, hy, hz = 0.5 * accel[0], 0.5 * accel[1], 0.5 * accel[2]
    for k in prange(nz):
        for j in range(ny):
            for i in range(nx):
                c = flags[k, j, i]
                if i > 0 and _open_face(c, flags[k, j, i - 1]):
                    vel[0, k, j, i] += hx * (rho[k, j, i] + rho[k, j, i - 1])
                if j > 0 and _open_face(c, flags[k, j - 1, i]):
                    vel[1, k, j, i] += hy * (rho[k, j, i] + rho[k, j - 1, i])
                if k > 0 and _open_face(c, flags[k - 1, j, i]):
                    vel[2, k, j, i] += hz * (rho[k, j, i] + rho[k - 1, j, i])


# -------------------------------------------------------------- vorticity confinement
# Three passes (mantaflow vorticityConfinement): curl of the centred velocity and its norm
# -> force N x w in fluid cells -> force averaged onto the faces. The curl uses central
# differences and is 0 on the outer layer of cells, where its stencil would leave the array.


@njit(parallel=True, cache=True)
def _curl_2d(vel, curl, norm):
    ny, nx = norm.shape
    u, v = vel[0], vel[1]
    for j in prange(ny):
        for i in range(nx):
            if j == 0 or i == 0 or j == ny - 1 or i == nx - 1:
                curl[j, i] = 0.0
                norm[j, i] = 0.0
                continue
            # centred v at (j, i +- 1) and centred u at (j +- 1, i), each a mean of 2 faces
            dvdx = 0.25 * (v[j, i + 1] + v[j + 1, i + 1] - v[j, i - 1] - v[j + 1, i - 1])
            dudy = 0.25 * (u[j + 1, i] + u[j + 1, i + 1] - u[j - 1, i] - u[j - 1, i + 1])
            w = dvdx - dudy
            curl[j, i] = w
            norm[j, i] = abs(w)


@njit(parallel=True, cache=True)
def _confinement_force_2d(curl, norm, flags, strength, force):
    ny, nx = norm.shape
    for j in prange(ny):
        for i in range(nx):
            if flags[j, i] != _FLUID or j == 0 or i == 0 or j == ny - 1 or i == nx - 1:
                force[0, j, i] = 0.0
                force[1, j, i] = 0.0
                continue
            gx = 0.5 * (norm[j, i + 1] - norm[j, i - 1])
            gy = 0.5 * (norm[j + 1, i] - norm[j - 1, i])
            scale = strength * curl[j, i] / (np.sqrt(gx * gx + gy * gy) + _EPS)
            # N x (0, 0, w) = (N_y w, -N_x w)
            force[0, j, i] = scale * gy
            force[1, j, i] = -scale * gx


@njit(parallel=True, cache=True)
def _add_cell_force_2d(vel, force, flags, dt):
    ny, nx = flags.shape
    h = 0.5 * dt
    for j in prange(ny):
        for i in range(nx):
            c = flags[j, i]
            if c == _OBSTACLE:
                continue
            if i > 0 and flags[j, i - 1] != _OBSTACLE:
                vel[0, j, i] += h * (force[0, j, i] + force[0, j, i - 1])
            if j > 0 and flags[j - 1, i] != _OBSTACLE:
                vel[1, j, i] += h * (force[1, j, i] + force[1, j - 1, i])


@njit(parallel=True, cache=True)
def _curl_3d(vel, curl, norm):
    nz, ny, nx = norm.shape
    u, v, w = vel[0], vel[1], vel[2]
    for k in prange(nz):
        for j in range(ny):
            for i in range(nx):
                if k == 0 or j == 0 or i == 0 or k == nz - 1 or j == ny - 1 or i == nx - 1:
                    curl[0, k, j, i] = 0.0
                    curl[1, k, j, i] = 0.0
                    curl[2, k, j, i] = 0.0
                    norm[k, j, i] = 0.0
                    continue
                # d(centred a)/d(b) = 0.25 * (sum of the 2 faces of a at +b - the 2 at -b)
                dvdx = 0.25 * (
                    v[k, j, i + 1] + v[k, j + 1, i + 1] - v[k, j, i - 1] - v[k, j + 1, i - 1]
                )
                dwdx = 0.25 * (
                    w[k, j, i + 1] + w[k + 1, j, i + 1] - w[k, j, i - 1] - w[k + 1, j, i - 1]
                )
                dudy = 0.25 * (
                    u[k, j + 1, i] + u[k, j + 1, i + 1] - u[k, j - 1, i] - u[k, j - 1, i + 1]
                )
                dwdy = 0.25 * (
                    w[k, j + 1, i] + w[k + 1, j + 1, i] - w[k, j - 1, i] - w[k + 1, j - 1, i]
                )
                dudz = 0.25 * (
                    u[k + 1, j, i] + u[k + 1, j, i + 1] - u[k - 1, j, i] - u[k - 1, j, i + 1]
                )
                dvdz = 0.25 * (
                    v[k + 1, j, i] + v[k + 1, j + 1, i] - v[k - 1, j, i] - v[k - 1, j + 1, i]
                )
                wx, wy, wz = dwdy - dvdz, dudz - dwdx, dvdx - dudy
                curl[0, k, j, i] = wx
                curl[1, k, j, i] = wy
                curl[2, k, j, i] = wz
                norm[k, j, i] = np.sqrt(wx * wx + wy * wy + wz * wz)


@njit(parallel=True, cache=True)
def _confinement_force_3d(curl, norm, flags, strength, force):
    nz, ny, nx = norm.shape
    for k in prange(nz):
        for j in range(ny):
            for i in range(nx):
                inner = 0 < k < nz - 1 and 0 < j < ny - 1 and 0 < i < nx - 1
                if flags[k, j, i] != _FLUID or not inner:
                    force[0, k, j, i] = 0.0
                    force[1, k, j, i] = 0.0
                    force[2, k, j, i] = 0.0
                    continue
                gx = 0.5 * (norm[k, j, i + 1] - norm[k, j, i - 1])
                gy = 0.5 * (norm[k, j + 1, i] - norm[k, j - 1, i])
                gz = 0.5 * (norm[k + 1, j, i] - norm[k - 1, j, i])
                scale = strength / (np.sqrt(gx * gx + gy * gy + gz * gz) + _EPS)
                nx_, ny_, nz_ = scale * gx, scale * gy, scale * gz
                wx, wy, wz = curl[0, k, j, i], curl[1, k, j, i], curl[2, k, j, i]
                force[0, k, j, i] = ny_ * wz - nz_ * wy
                force[1, k, j, i] = nz_ * wx - nx_ * wz
                force[2, k, j, i] = nx_ * wy - ny_ * wx


@njit(parallel=True, cache=True)
def _add_cell_force_3d(vel, force, flags, dt):
    nz, ny, nx = flags.shape
    h = 0.5 * dt
    for k in prange(nz):
        for j in range(ny):
            for i in range(nx):
                if flags[k, j, i] == _OBSTACLE:
                    continue
                if i > 0 and flags[k, j, i - 1] != _OBSTACLE:
                    vel[0, k, j, i] += h * (force[0, k, j, i] + force[0, k, j, i - 1])
                if j > 0 and flags[k, j - 1, i] != _OBSTACLE:
                    vel[1, k, j, i] += h * (force[1, k, j, i] + force[1, k, j - 1, i])
                if k > 0 and flags[k - 1, j, i] != _OBSTACLE:
                    vel[2, k, j, i] += h * (force[2, k, j, i] + force[2, k - 1, j, i])


_BUOYANCY = {2: _buoyancy_2d, 3: _buoyancy_3d}
_CURL = {2: _curl_2d, 3: _curl_3d}
_CONFINEMENT_FORCE = {2: _confinement_force_2d, 3: _confinement_force_3d}
_ADD_CELL_FORCE = {2: _add_cell_force_2d, 3: _add_cell_force_3d}
_CURL_COMPONENTS = {2: 1, 3: 3}


# ------------------------------------------------------------------------ public API


def add_buoyancy(vel: np.ndarray, density: np.ndarray, flags: np.ndarray, accel) -> None:
    """Boussinesq buoyancy, in place (mantaflow KnAddBuoyancy).

    ``accel`` is a d-vector (x, y[, z]) in cells per time unit per unit density, already
    multiplied by dt (the caller passes mantaflow's ``-g * dt / dx``). Each face between two
    cells of which at least one is FLUID and neither OBSTACLE gets
    ``vel[a] += accel[a] * 0.5 * (rho_c + rho_{c - e_a})``. (mantaflow requires both cells
    FLUID; here a fluid-OUTFLOW face is pushed too.) ``density`` is (*shape) float32.
    """
    dim = require_velocity(vel)
    shape = vel.shape[1:]
    density = np.ascontiguousarray(density, dtype=np.float32)
    if density.shape != shape:
        raise ValueError(f"density has shape {density.shape}, expected {shape}")
    require_flags(flags, shape)
    accel = np.asarray(accel, dtype=np.float64)
    if accel.shape != (dim,):
        raise ValueError(f"accel must have {dim} components (x, y[, z]), got {accel.shape}")
    _BUOYANCY[dim](vel, density, flags, accel)


def vorticity_workspace(shape: tuple[int, ...]) -> np.ndarray:
    """Scratch array for :func:`vorticity_confinement`: (c + 1 + d, *shape) float32.

    Rows: the curl (c = 1 component in 2D, 3 in 3D), its norm, then the cell force (d).
    """
    dim = len(shape)
    return np.empty((_CURL_COMPONENTS[dim] + 1 + dim, *shape), dtype=np.float32)


def vorticity_confinement(
    vel: np.ndarray,
    flags: np.ndarray,
    strength: float,
    dt: float = 1.0,
    work: np.ndarray | None = None,
) -> None:
    """Vorticity confinement (Fedkiw et al. 2001, mantaflow's), in place.

    From the centred velocity: w = curl u (central differences; a scalar z-component in
    2D; 0 on the outer layer of cells), N = grad|w| / (|grad|w|| + 1e-6) (central
    differences), cell force F = strength * (N x w) in FLUID cells (0 elsewhere), then each
    face not touching an OBSTACLE cell gets ``dt * 0.5 * (F_a(c) + F_a(c - e_a))``.
    ``strength`` is dimensionless (velocity gain per time unit per unit vorticity); ``work``
    as :func:`vorticity_workspace`.
    """
    dim = require_velocity(vel)
    shape = vel.shape[1:]
    require_flags(flags, shape)
    if work is None:
        work = vorticity_workspace(shape)
    expected = (_CURL_COMPONENTS[dim] + 1 + dim, *shape)
    if work.dtype != np.float32 or work.shape != expected or not work.flags.c_contiguous:
        raise ValueError(f"work must be a C-contiguous float32 array of shape {expected}")
    nc = _CURL_COMPONENTS[dim]
    curl, norm, force = work[:nc], work[nc], work[nc + 1 :]
    if dim == 2:
        curl = curl[0]
    _CURL[dim](vel, curl, norm)
    _CONFINEMENT_FORCE[dim](curl, norm, flags, float(strength), force)
    _ADD_CELL_FORCE[dim](vel, force, flags, float(dt))
