"""Physics-aware augmentation: scale, rotation, flip, the same for every grid and frame.

A transform is one d×d matrix ``A = s·F·R`` (scale s, rotation R, flip F) acting on positions
relative to the tile centre and on velocity vectors alike: a field sampled at ``p`` in the
source lands at ``q = A (p - c)`` in the tile, and its velocity becomes ``A u`` (velocity × s,
vectors rotated by R, the flipped component negated). Positions and vectors are ordered
(x, y[, z]), x along the last array axis.

Both grids get the same physical transform: the high-res tile of ``factor·n`` cells is centred
on ``factor·c`` in high-res cells, so low and high tiles always cover the same region and
their ratio stays exactly ``factor``. Each output cell is sampled by one batched
``grid_sample`` per grid (bilinear; nearest when A maps cells onto cells, which is then exact).

The reference cuts an oversized tile (×1.5/s), rotates it and crops a 16 % border so no empty
corners enter the tile. Here the tile is sampled directly from the whole frame at the
transformed cell centres, and the tile centre is drawn so that its rotated, scaled footprint
lies inside the domain: the same result without empty corners, also in 3D, where a ×1.5
cube rotated about a body diagonal would not cover the tile.
"""

from __future__ import annotations

import functools
import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from fluidgan.advection import cell_indices
from fluidgan.registry import Registry

RotationDraw = Callable[[int, np.random.Generator], np.ndarray]
#: ``draw(dim, rng) -> (d, d) rotation matrix`` by name (AugmentConfig.rotation).
ROTATIONS: Registry[RotationDraw] = Registry("rotation")


@dataclass(frozen=True)
class AugmentConfig:
    """Random transform of a training sample.

    scale: range of the zoom factor s (velocity is multiplied by s); (1, 1) disables it.
    rotation: "continuous" (2D angle ~ U[0, 2π), 3D uniform via a random unit quaternion),
        "cube" (the 4 / 24 rotations of the square / cube) or "none".
    flip: mirror along one random axis (that velocity component negated) with probability
        ``flip_probability``.
    """

    scale: tuple[float, float] = (0.85, 1.15)
    rotation: Literal["continuous", "cube", "none"] = "continuous"
    flip: bool = True
    flip_probability: float = 0.5

    def __post_init__(self) -> None:
        lo, hi = self.scale
        if not 0 < lo <= hi:
            raise ValueError(f"scale range {self.scale} must satisfy 0 < low <= high")
        if self.rotation not in ROTATIONS:
            raise ValueError(f"rotation {self.rotation!r}; valid: {', '.join(ROTATIONS)}")
        if not 0.0 <= self.flip_probability <= 1.0:
            raise ValueError(f"flip_probability {self.flip_probability} not in [0, 1]")


def as_numpy_rng(rng: np.random.Generator | torch.Generator | int) -> np.random.Generator:
    """A numpy Generator from a numpy Generator, a torch.Generator (one draw) or a seed."""
    if isinstance(rng, np.random.Generator):
        return rng
    if isinstance(rng, torch.Generator):
        return np.random.default_rng(int(torch.randint(2**62, (1,), generator=rng)))
    return np.random.default_rng(rng)


@ROTATIONS.register("none")
def no_rotation(dim: int, rng: np.random.Generator) -> np.ndarray:
    return np.eye(dim)


@ROTATIONS.register("continuous")
def uniform_rotation(dim: int, rng: np.random.Generator) -> np.ndarray:
    """2D: angle ~ U[0, 2π). 3D: Haar-uniform, from a random unit quaternion."""
    if dim == 2:
        return rotation_2d(rng.uniform(0.0, 2.0 * math.pi))
    q = rng.standard_normal(4)
    return quaternion_matrix(q / np.linalg.norm(q))


@ROTATIONS.register("cube")
def cube_rotation(dim: int, rng: np.random.Generator) -> np.ndarray:
    """One of the 4 (2D) or 24 (3D) rotations mapping the grid onto itself, uniformly."""
    group = cube_group(dim)
    return group[rng.integers(len(group))]


def rotation_2d(angle: float) -> np.ndarray:
    """Counter-clockwise rotation of (x, y) vectors by ``angle`` radians."""
    c, s = math.cos(angle), math.sin(angle)
    return np.array([[c, -s], [s, c]])


def quaternion_matrix(q: np.ndarray) -> np.ndarray:
    """Rotation matrix of the unit quaternion (w, x, y, z), acting on (x, y, z) vectors."""
    w, x, y, z = q
    return np.array(
        [
            [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
            [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
            [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)],
        ]
    )


def cube_group(dim: int) -> list[np.ndarray]:
    """The signed permutation matrices with determinant +1: 4 in 2D, 24 in 3D."""
    group = []
    for perm in itertools.permutations(range(dim)):
        for signs in itertools.product((1.0, -1.0), repeat=dim):
            m = np.zeros((dim, dim))
            m[np.arange(dim), perm] = signs
            if round(np.linalg.det(m)) == 1:
                group.append(m)
    return group


def flip_matrix(dim: int, axis: int) -> np.ndarray:
    """Mirror along ``axis`` (0 = x): that position and velocity component change sign."""
    m = np.eye(dim)
    m[axis, axis] = -1.0
    return m


def draw_transform(
    cfg: AugmentConfig | None, dim: int, rng: np.random.Generator | torch.Generator | int
) -> np.ndarray:
    """One random transform ``A = s·F·R`` (d×d, float64) for a whole sample."""
    if cfg is None:
        return np.eye(dim)
    rng = as_numpy_rng(rng)
    s = rng.uniform(*cfg.scale) if cfg.scale[0] != cfg.scale[1] else cfg.scale[0]
    rot = ROTATIONS.get(cfg.rotation)(dim, rng)
    flip = np.eye(dim)
    if cfg.flip and rng.uniform() < cfg.flip_probability:
        flip = flip_matrix(dim, int(rng.integers(dim)))
    return s * flip @ rot


def is_lattice(transform: np.ndarray) -> bool:
    """True when the transform maps cell centres onto cell centres (a signed permutation)."""
    a = np.abs(transform)
    return bool(((a < 1e-9) | (np.abs(a - 1.0) < 1e-9)).all())


@functools.lru_cache(maxsize=32)
def tile_offsets(shape: tuple[int, ...], dtype: torch.dtype = torch.float64) -> Tensor:
    """Cell centres of a tile relative to its centre, (prod(shape), d) with x first, in
    cells; cached, do not modify."""
    half = torch.tensor(shape[::-1], dtype=torch.float64) / 2.0
    q = cell_indices(shape, dtype=torch.float64).flatten(1).T + 0.5 - half
    return q.to(dtype).contiguous()


def footprint(transform: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Half extent (x first, in source cells) of the region whose cell centres a tile of
    ``shape`` samples under ``transform``."""
    half = np.array(shape[::-1], dtype=np.float64) / 2.0 - 0.5
    return np.abs(np.linalg.inv(transform)) @ half


@dataclass(frozen=True)
class TileMap:
    """Where the cells of a transformed tile sample a source array.

    Cell q of a tile of ``shape`` (q relative to the tile centre, x first, in cells) samples
    the source at index coordinates ``A⁻¹ q + centre``; ``centre`` is the tile centre's index
    (x first) in the source array, i.e. its position - 0.5 - the array's first index.
    """

    transform: np.ndarray
    centre: np.ndarray
    shape: tuple[int, ...]

    def moved(self, origin: np.ndarray) -> TileMap:
        """The same map into a block of the source that starts at index ``origin``."""
        return TileMap(self.transform, self.centre - origin, self.shape)

    def block(self, grid: tuple[int, ...]) -> tuple[tuple[slice, ...], np.ndarray]:
        """Array slices (C order) of the source ``grid`` holding every sample the tile
        interpolates, and the block's first index (x first); clamped to the grid."""
        ext = footprint(self.transform, self.shape)
        size = np.array(grid[::-1])
        lo = np.clip(np.floor(self.centre - ext - 1e-9).astype(int), 0, size - 1)
        hi = np.clip(np.ceil(self.centre + ext + 1e-9).astype(int), 0, size - 1)
        return tuple(slice(int(lo[a]), int(hi[a]) + 1) for a in reversed(range(len(grid)))), lo

    def indices(self) -> np.ndarray:
        """Source index coordinates of every cell, (d, *shape), x first."""
        q = tile_offsets(tuple(self.shape)).numpy()
        p = q @ np.linalg.inv(self.transform).T + self.centre
        return np.ascontiguousarray(p.T).reshape(len(self.shape), *self.shape)

    def grid(self, source: tuple[int, ...], dtype: torch.dtype) -> Tensor:
        """``grid_sample`` coordinates (1, *shape, d) into a source array of shape ``source``
        (align_corners=True); one affine map of the cached cell offsets."""
        scale = 2.0 / np.maximum(np.array(source[::-1], dtype=np.float64) - 1.0, 1.0)
        matrix = scale[:, None] * np.linalg.inv(self.transform)
        shift = scale * self.centre - 1.0
        q = tile_offsets(tuple(self.shape), dtype)
        return affine(q, matrix, shift).view(1, *self.shape, len(self.shape))


def affine(q: Tensor, matrix: np.ndarray, shift: np.ndarray) -> Tensor:
    """``q Mᵀ + b`` for points ``q`` (P, d) by d² broadcast multiply-adds.

    Not ``addmm``/``einsum``: with d ≤ 3 those go to BLAS, whose threads spin when the
    cores are busy (a loader item took 12x longer with 2 torch threads on a loaded
    2-core machine); elementwise ops this small stay on the calling thread.
    """
    d = q.shape[1]
    cols = [q[:, j : j + 1] for j in range(d)]
    rows = [
        sum(float(matrix[i, j]) * cols[j] for j in range(d)) + float(shift[i]) for i in range(d)
    ]
    return torch.cat(rows, dim=1)


def tile_map(
    transform: np.ndarray, centre: np.ndarray, shape: tuple[int, ...], factor: int = 1
) -> TileMap:
    """The map of a tile centred on ``centre`` (low-res position units, x first) into a grid
    ``factor`` times finer than the low-res grid (``shape`` in that grid's cells)."""
    return TileMap(transform, np.asarray(centre, dtype=np.float64) * factor - 0.5, tuple(shape))


def resample(fields: Tensor, where: TileMap, lattice: bool | None = None) -> Tensor:
    """``fields`` (N, C, *S_in) sampled at the cells of a tile, (N, C, *where.shape); samples
    beyond the source take the border value. Bilinear, or nearest (exact) for lattice maps."""
    if lattice is None:
        lattice = is_lattice(where.transform)
    grid = where.grid(tuple(fields.shape[2:]), fields.dtype).to(fields.device)
    grid = grid.expand(fields.shape[0], *grid.shape[1:])
    mode = "nearest" if lattice else "bilinear"
    return F.grid_sample(fields, grid, mode=mode, padding_mode="border", align_corners=True)


def transform_vectors(vel: Tensor, transform: np.ndarray) -> Tensor:
    """``A u`` for vectors ``vel`` (N, d, *S), components x first (elementwise, see
    :func:`affine`)."""
    u = vel.unbind(1)
    d = len(u)
    return torch.stack(
        [sum(float(transform[i, j]) * u[j] for j in range(d)) for i in range(d)], dim=1
    )


def sample_low(low: Tensor, where: TileMap) -> Tensor:
    """Density and velocity (N, 1 + d, *s_in) sampled at the cells of a tile; the velocity
    becomes ``A u``."""
    lattice = is_lattice(where.transform)
    tile = resample(low, where, lattice)
    exact = np.round(where.transform) if lattice else where.transform  # cos(π/2) is 6e-17
    return torch.cat([tile[:, :1], transform_vectors(tile[:, 1:], exact)], dim=1)


def transform_tile(
    low: Tensor,
    high: Tensor | None,
    transform: np.ndarray,
    factor: int,
    centre: np.ndarray,
    shape: tuple[int, ...],
) -> tuple[Tensor, Tensor | None]:
    """Cut a transformed tile from both grids.

    low: (N, 1 + d, *s_in) density and velocity (x, y[, z], low cells/frame) on the whole low
    grid; high: (N, C, *S_in) scalar fields on the whole high grid (N = frames, all
    transformed alike), or None; centre: tile centre in low-res position units, x first;
    shape: low-res tile shape; the high-res tile is ``factor·shape``.
    Returns the low tile (N, 1 + d, *shape) with velocity ``A u`` and the high tile
    (N, C, *factor·shape).
    """
    low_tile = sample_low(low, tile_map(transform, centre, shape))
    if high is None:
        return low_tile, None
    high_shape = tuple(n * factor for n in shape)
    return low_tile, resample(high, tile_map(transform, centre, high_shape, factor))


def augment(
    low: Tensor, high: Tensor | None, transform: np.ndarray, factor: int = 1
) -> tuple[Tensor, Tensor | None]:
    """Transform whole fields about the domain centre, keeping their shapes.

    low: (N, 1 + d, *s) density and velocity; high: (N, C, *factor·s). Samples beyond the
    domain take the border value. Returns (low, high) shaped like the inputs.
    """
    shape = tuple(low.shape[2:])
    centre = np.array(shape[::-1], dtype=np.float64) / 2.0
    return transform_tile(low, high, transform, factor, centre, shape)
