"""Shapes, smooth noise and the inflow sources built from them.

Shapes are signed-distance functions on cell centres (grid units, negative inside):
spheres (optionally anisotropic, like mantaflow's ``Sphere(scale=…)``), boxes and
cylinders whose axis is y. A density source raises density towards a noise-modulated
target inside its shape, smoothly over ``sigma`` cells at the rim (mantaflow's
``densityInflow``); a velocity source overwrites the velocity inside its shape.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from fluidgan.registry import Registry
from solvers.grid import FLUID, cell_centres

SdfFn = Callable[..., np.ndarray]
SHAPES: Registry[SdfFn] = Registry("shape")
shape = SHAPES.register


@shape("sphere")
def sphere_sdf(pos, center, radius, scale=None, **_) -> np.ndarray:
    """Distance to a sphere; ``scale`` stretches it per axis into an ellipsoid."""
    scale = scale or (1.0,) * len(pos)
    d2 = sum(((p - c) / s) ** 2 for p, c, s in zip(pos, center, scale))
    return np.sqrt(d2) - radius


@shape("box")
def box_sdf(pos, center, half_size, **_) -> np.ndarray:
    """Chebyshev distance to an axis-aligned box (exact inside, a bound outside)."""
    return np.maximum.reduce([np.abs(p - c) - h for p, c, h in zip(pos, center, half_size)])


@shape("cylinder")
def cylinder_sdf(pos, center, radius, half_height, **_) -> np.ndarray:
    """A cylinder along y: radius in the x(-z) plane, ``half_height`` along y."""
    radial = [pos[a] - center[a] for a in range(len(pos)) if a != 1]
    r = np.sqrt(sum(d**2 for d in radial))
    return np.maximum(r - radius, np.abs(pos[1] - center[1]) - half_height)


def signed_distance(kind: str, shape_: tuple[int, ...], **params) -> np.ndarray:
    """The shape's signed distance at every cell centre, an array of ``shape_``."""
    pos = cell_centres(shape_)
    return np.broadcast_to(SHAPES.get(kind)(pos, **params), shape_).astype(np.float32)


class NoiseField:
    """Smooth, band-limited, periodic noise from a seed (a stand-in for wavelet noise).

    A ``tile``³ block of white noise is band-passed in Fourier space to an octave around a
    feature size of ~2 tile cells and normalised to unit standard deviation; values are
    sampled trilinearly and periodically. Position ``p`` (grid cells) maps to tile
    coordinates ``p / res_x * pos_scale + pos_offset``; time moves the sample along the
    third tile axis by ``time_anim`` per time unit, so 2D and 3D animate alike.
    """

    def __init__(self, seed: int, tile: int = 64):
        rng = np.random.default_rng(seed)
        white = rng.standard_normal((tile, tile, tile))
        k = np.sqrt(sum(f**2 for f in np.meshgrid(*[np.fft.fftfreq(tile)] * 3, indexing="ij")))
        band = (k > 0.125) & (k <= 0.25)
        field = np.fft.ifftn(np.fft.fftn(white) * band).real
        self.tile = (field / field.std()).astype(np.float32)

    def sample(self, coords: tuple[np.ndarray, ...]) -> np.ndarray:
        """Trilinear periodic samples at tile coordinates (x, y, z) of equal shape."""
        n = self.tile.shape[0]
        base = [np.floor(c).astype(np.int64) for c in coords]
        frac = [(c - b).astype(np.float32) for c, b in zip(coords, base)]
        out = np.zeros(coords[0].shape, dtype=np.float32)
        for corner in range(8):
            bits = [(corner >> a) & 1 for a in range(3)]
            w = np.ones_like(out)
            for f, bit in zip(frac, bits):
                w *= f if bit else 1.0 - f
            x, y, z = ((b + bit) % n for b, bit in zip(base, bits))
            out += w * self.tile[z, y, x]
        return out


@dataclass
class DensityInflow:
    """A source that keeps density at least at ``noise · scale`` inside its shape.

    ``value(p) = clamp(noise(p) · val_scale + val_offset, clamp_lo, clamp_hi)``, ramped to
    zero over ``sigma`` cells across the shape's surface.
    """

    sdf: np.ndarray
    scale: float
    noise: NoiseField | None
    pos_scale: float
    val_scale: float
    val_offset: float
    time_anim: float
    clamp: tuple[float, float]
    sigma: float
    start: int
    stop: int | None

    def __post_init__(self):
        inside = self.sdf <= self.sigma
        self.index = np.nonzero(inside)
        factor = np.clip(1.0 - 0.5 / self.sigma * (self.sdf[inside] + self.sigma), 0.0, 1.0)
        self.factor = factor.astype(np.float32)
        shape_ = self.sdf.shape
        dim = len(shape_)
        res_x = shape_[-1]
        # tile coordinates (x, y, z) of the source's cells; 2D fields sit at z = 0
        centres = [(idx + 0.5) / res_x * self.pos_scale for idx in self.index[::-1]]
        while len(centres) < 3:
            centres.append(np.zeros_like(centres[0]))
        self.coords = tuple(c.astype(np.float32) for c in centres)
        self.dim = dim

    def active(self, step: int) -> bool:
        return step >= self.start and (self.stop is None or step < self.stop)

    def apply(self, density: np.ndarray, flags: np.ndarray, time: float) -> None:
        """Raise density in place towards this source's target (fluid cells only)."""
        target = self.factor * self.scale * self.values(time)
        current = density[self.index]
        fluid = flags[self.index] == FLUID
        density[self.index] = np.where(fluid, np.maximum(current, target), current)

    def values(self, time: float) -> np.ndarray:
        if self.noise is None:
            return np.ones_like(self.factor)
        x, y, z = self.coords
        v = self.noise.sample((x + 1.5, y + 1.5, z + 1.5 + time * self.time_anim))
        return np.clip(v * self.val_scale + self.val_offset, *self.clamp)


@dataclass
class VelocitySource:
    """Overwrites the MAC velocity on every face of the cells inside its shape."""

    sdf: np.ndarray
    velocity: tuple[float, ...]
    start: int
    stop: int | None

    def __post_init__(self):
        self.index = np.nonzero(self.sdf <= 0)

    def active(self, step: int) -> bool:
        return step >= self.start and (self.stop is None or step < self.stop)

    def apply(self, vel: np.ndarray, flags: np.ndarray) -> None:
        fluid = flags[self.index] == FLUID
        for a, v in enumerate(self.velocity):
            comp = vel[a]
            comp[self.index] = np.where(fluid, np.float32(v), comp[self.index])
