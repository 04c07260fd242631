"""Boundary conditions on the MAC grid: free-slip walls and open (outflow) cells.

Conventions of :mod:`solvers.grid`; both functions work in place. Also holds the argument
checks that every in-place kernel wrapper of the solver shares.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from solvers.grid import OBSTACLE, OUTFLOW

_OBSTACLE = int(OBSTACLE)
_OUTFLOW = int(OUTFLOW)


@njit(parallel=True, cache=True)
def _wall_bcs_2d(vel, flags):
    ny, nx = flags.shape
    for j in prange(ny):
        for i in range(nx):
            solid = flags[j, i] == _OBSTACLE
            # the lower face of cell 0 has no cell below it: it touches only this cell
            if solid or (i > 0 and flags[j, i - 1] == _OBSTACLE):
                vel[0, j, i] = 0.0
            if solid or (j > 0 and flags[j - 1, i] == _OBSTACLE):
                vel[1, j, i] = 0.0


@njit(parallel=True, cache=True)
def _wall_bcs_3d(vel, flags):
    nz, ny, nx = flags.shape
    for k in prange(nz):
        for j in range(ny):
            for i in range(nx):
                solid = flags[k, j, i] == _OBSTACLE
                if solid or (i > 0 and flags[k, j, i - 1] == _OBSTACLE):
                    vel[0, k, j, i] = 0.0
                if solid or (j > 0 and flags[k, j - 1, i] == _OBSTACLE):
                    vel[1, k, j, i] = 0.0
                if solid or (k > 0 and flags[k - 1, j, i] == _OBSTACLE):
                    vel[2, k, j, i] = 0.0


@njit(parallel=True, cache=True)
def _reset_outflow(field, flags):
    """Both arguments flat (n,): the rule is cell-local, so one kernel serves 2D and 3D."""
    for n in prange(flags.size):
        if flags[n] == _OUTFLOW:
            field[n] = 0.0


_WALL_BCS = {2: _wall_bcs_2d, 3: _wall_bcs_3d}


def set_wall_bcs(vel: np.ndarray, flags: np.ndarray) -> None:
    """Free-slip walls, in place: zero the normal velocity on every face touching an
    OBSTACLE cell on either side (mantaflow setWallBcs for static obstacles).

    Only ``vel[a]`` on a-faces is touched, so tangential components along a wall are kept.
    """
    dim = require_velocity(vel)
    require_flags(flags, vel.shape[1:])
    _WALL_BCS[dim](vel, flags)


def reset_outflow(field: np.ndarray, flags: np.ndarray) -> None:
    """Zero a cell-centred scalar ``field`` (*shape) float32 in OUTFLOW cells, in place
    (mantaflow resetOutflow): what reached an open side has left the domain."""
    _require_float32(field, "field")
    require_flags(flags, field.shape)
    _reset_outflow(field.reshape(-1), flags.reshape(-1))


def require_velocity(vel: np.ndarray) -> int:
    """Dimension d of a MAC velocity (d, *shape) that a kernel can update in place."""
    _require_float32(vel, "vel")
    dim = vel.ndim - 1
    if dim not in (2, 3) or vel.shape[0] != dim:
        raise ValueError(f"vel must have shape (d, *shape) with d = 2 or 3, got {vel.shape}")
    return dim


def require_flags(flags: np.ndarray, shape: tuple[int, ...]) -> None:
    """Check that ``flags`` is a C-contiguous uint8 array of ``shape``."""
    if not isinstance(flags, np.ndarray) or flags.dtype != np.uint8:
        raise ValueError("flags must be a uint8 numpy array (see solvers.grid.make_flags)")
    if flags.shape != tuple(shape) or not flags.flags.c_contiguous:
        raise ValueError(f"flags must be C-contiguous of shape {tuple(shape)}, got {flags.shape}")


def _require_float32(a: np.ndarray, name: str) -> None:
    if not isinstance(a, np.ndarray) or a.dtype != np.float32:
        raise ValueError(f"{name} must be a float32 numpy array")
    if not a.flags.c_contiguous or not a.flags.writeable:
        raise ValueError(f"{name} must be a writeable C-contiguous array")
