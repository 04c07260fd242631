"""The MAC grid and its cell flags: the conventions every solver kernel shares.

Layout (all kernels, 2D and 3D):

* A grid of ``d`` = 2 or 3 dimensions has ``shape = (ny, nx)`` or ``(nz, ny, nx)``: C order,
  x fastest. Lengths are in cells (dx = 1 in grid units), velocities in cells per time unit,
  ``dt`` in time units.
* Cell ``(..., j, i)`` has its centre at x = i + 0.5, y = j + 0.5 (z = k + 0.5).
* MAC velocity is one float32 array ``vel`` of shape ``(d, *shape)``: ``vel[0]`` holds u_x
  on the lower-x face of each cell (x = i, y = j + 0.5), ``vel[1]`` u_y on its lower-y face,
  ``vel[2]`` u_z on its lower-z face. Components are ordered (x, y, z).
* ``flags`` is a uint8 array of ``shape``: FLUID, OBSTACLE (solid: free slip, the normal
  face velocity is zero) or OUTFLOW (open side: Dirichlet pressure 0, matter may leave).
  The outer layer of ``boundary_width`` >= 1 cells is OBSTACLE on wall sides and OUTFLOW on
  open sides, so no kernel ever needs a neighbour outside the array.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

FLUID = np.uint8(1)
OBSTACLE = np.uint8(2)
OUTFLOW = np.uint8(4)

AXES = "xyz"


def side_names(dim: int) -> list[str]:
    """The domain's sides, ``x-``, ``x+``, ``y-``, … in a fixed order."""
    return [f"{a}{s}" for a in AXES[:dim] for s in "-+"]


def make_flags(
    shape: tuple[int, ...], open_sides: Iterable[str] = (), boundary_width: int = 1
) -> np.ndarray:
    """Flags for a box with walls, except the ``open_sides`` (e.g. ``["y-", "y+"]``).

    Open sides are written last, so an edge shared by a wall and an open side is open, as
    in mantaflow's ``setOpenBound``.
    """
    dim = len(shape)
    if dim not in (2, 3):
        raise ValueError(f"grid must be 2D or 3D, got shape {shape}")
    if boundary_width < 1:
        raise ValueError(f"boundary_width must be >= 1, got {boundary_width}")
    if min(shape) <= 2 * boundary_width:
        raise ValueError(f"grid {shape} too small for boundary width {boundary_width}")
    open_sides = list(open_sides)
    valid = side_names(dim)
    for side in open_sides:
        if side not in valid:
            raise ValueError(f"unknown side {side!r}; valid sides: {', '.join(valid)}")
    flags = np.full(shape, FLUID, dtype=np.uint8)
    for side in valid:
        flags[_side_slab(side, dim, boundary_width)] = OBSTACLE
    for side in open_sides:
        flags[_side_slab(side, dim, boundary_width)] = OUTFLOW
    return flags


def _side_slab(side: str, dim: int, width: int) -> tuple[slice, ...]:
    axis = dim - 1 - AXES.index(side[0])  # array axis of a physical axis (x is last)
    index = [slice(None)] * dim
    index[axis] = slice(0, width) if side[1] == "-" else slice(-width, None)
    return tuple(index)


def cell_centres(shape: tuple[int, ...]) -> tuple[np.ndarray, ...]:
    """Broadcastable cell-centre coordinates (x, y[, z]) in grid units."""
    dim = len(shape)
    return tuple(
        (np.arange(shape[dim - 1 - a], dtype=np.float32) + 0.5).reshape(
            [-1 if ax == dim - 1 - a else 1 for ax in range(dim)]
        )
        for a in range(dim)
    )


def zero_velocity(shape: tuple[int, ...]) -> np.ndarray:
    """A MAC velocity at rest, ``(d, *shape)`` float32."""
    return np.zeros((len(shape), *shape), dtype=np.float32)
