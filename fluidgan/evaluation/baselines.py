"""Interpolation baselines: the low-res density upsampled by the factor f without learning.

All baselines sample at the same positions: high-res cell centre i (along each axis) maps
to the low-res index coordinate p = (i + 0.5)/f − 0.5, clamped to [0, n − 1] (the border
cells repeat the edge value rather than extrapolate) -- the ``align_corners=False``
convention of the rest of fluidgan. Registered methods (:data:`BASELINES`):

* ``nearest``: the low-res cell that contains the high-res centre (each low cell becomes
  an f^d block, the generator's own first step);
* ``linear``: bi/trilinear interpolation (identical to torch ``interpolate(...,
  align_corners=False)``);
* ``cubic``: bi/tricubic B-spline interpolation, scipy ``map_coordinates(order=3)``, its
  spline prefilter with the ``nearest`` (edge-repeating) boundary.

Interpolation is separable, so each axis is one small (n_high × n_low) matrix applied with
a tensor product -- exact scipy semantics at the cost of a matrix multiply per axis.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

import numpy as np
from scipy import ndimage

from fluidgan.registry import Registry

#: Spline order by name, listed (and evaluated by default) lowest order first.
BASELINES: Registry[int] = Registry("baseline", ordered=True)


def register_baseline(name: str, order: int) -> None:
    BASELINES.register(name)(order)


register_baseline("nearest", 0)
register_baseline("linear", 1)
register_baseline("cubic", 3)


def check_baselines(names: Sequence[str]) -> list[str]:
    """``names`` validated against the registry (UserError listing the valid ones)."""
    for name in names:
        BASELINES.get(name)
    return list(dict.fromkeys(names))


def sample_coordinates(n_low: int, factor: int) -> np.ndarray:
    """Low-res index coordinates of the n_low·f high-res cell centres, clamped: (n_low·f,)."""
    i = np.arange(n_low * factor, dtype=np.float64)
    return np.clip((i + 0.5) / factor - 0.5, 0.0, n_low - 1)


@lru_cache(maxsize=32)
def interpolation_matrix(n_low: int, factor: int, order: int) -> np.ndarray:
    """W (n_low·f, n_low): high = W @ low along one axis, for spline ``order`` 0, 1 or 3.

    Column j is the interpolant of the unit vector e_j, so W is exactly what
    ``map_coordinates`` does (spline prefilter included) at the clamped coordinates.
    """
    coords = sample_coordinates(n_low, factor)[None]
    columns = [
        ndimage.map_coordinates(np.eye(n_low)[j], coords, order=order, mode="nearest")
        for j in range(n_low)
    ]
    matrix = np.stack(columns, axis=1)
    matrix.setflags(write=False)
    return matrix


def upsample(
    low: np.ndarray, factor: int, method: str, axes: Sequence[int] | None = None
) -> np.ndarray:
    """``low`` upsampled by ``factor`` along ``axes`` (default: all) with a baseline ``method``.

    (*s) -> (*f·s) float32; leading non-spatial axes (frames) pass through when ``axes``
    names only the spatial ones.
    """
    order = BASELINES.get(method)
    out = np.asarray(low, dtype=np.float64)
    for axis in range(out.ndim) if axes is None else axes:
        matrix = interpolation_matrix(out.shape[axis], factor, order)
        out = np.moveaxis(np.tensordot(matrix, out, axes=([1], [axis])), 0, axis)
    return out.astype(np.float32)


def block_mean(high: np.ndarray, factor: int) -> np.ndarray:
    """Average over f^d blocks: (*f·s) -> (*s), the inverse of ``nearest`` upsampling."""
    shape = [v for n in high.shape for v in (n // factor, factor)]
    return (
        np.asarray(high, dtype=np.float64).reshape(shape).mean(axis=tuple(range(1, len(shape), 2)))
    )
