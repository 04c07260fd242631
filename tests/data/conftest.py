"""Small synthetic simulation files with analytic fields, written with SimWriter.

Fields are functions of the physical position in low-res cells (x, y[, z]; a low-res cell
centre at i + 0.5, a high-res one at (I + 0.5)/factor) and of the frame t. Linear fields are
reproduced exactly by linear interpolation, so tiles can be checked against formulas.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from fluidgan.io.simfile import SimMeta, SimWriter

Field = Callable[[np.ndarray, int], np.ndarray]

# density rho(x, t) and velocity u(x, t) (low cells per frame) of the default fixture sims
DENSITY_GRADIENT = {2: (0.01, 0.02), 3: (0.01, 0.02, 0.015)}
DENSITY_RATE = 0.03  # per frame
VELOCITY_JACOBIAN = {  # du_i/dx_j, constant: div = trace, curl from the off-diagonal terms
    2: np.array([[0.02, 0.05], [-0.03, 0.01]]),
    3: np.array([[0.02, 0.05, -0.01], [-0.03, 0.01, 0.04], [0.02, -0.02, 0.03]]),
}


def positions(shape: tuple[int, ...], factor: int = 1) -> np.ndarray:
    """Cell-centre positions (d, *shape), x first, in low-res cells of a grid ``factor``× finer."""
    idx = np.indices(shape)[::-1].astype(np.float64)
    return (idx + 0.5) / factor


def linear_density(offset: float = 0.1) -> Field:
    def rho(p: np.ndarray, t: int) -> np.ndarray:
        grad = DENSITY_GRADIENT[len(p)]
        return offset + sum(g * p[a] for a, g in enumerate(grad)) + DENSITY_RATE * t

    return rho


def linear_velocity(bias: float = 0.0) -> Field:
    def u(p: np.ndarray, t: int) -> np.ndarray:
        jac = VELOCITY_JACOBIAN[len(p)]
        return np.einsum("ij,j...->i...", jac, p) + bias + 0.001 * t

    return u


def write_sim(
    path: Path,
    low_shape: tuple[int, ...],
    factor: int,
    frames: int,
    density: Field,
    velocity: Field,
    seed: int = 0,
) -> Path:
    """A simulation file whose fields sample ``density`` / ``velocity`` at the cell centres
    of both grids (high-res velocity in high-res cells per frame)."""
    dim = len(low_shape)
    high_shape = tuple(n * factor for n in low_shape)
    meta = SimMeta(dim=dim, factor=factor, dt=1.0, seed=seed, scene={"name": "analytic"})
    p_low, p_high = positions(low_shape), positions(high_shape, factor)
    with SimWriter(path, meta, frames, high_shape, low_shape) as w:
        for t in range(frames):
            w.write_frame(
                float(t),
                **{
                    "low/density": density(p_low, t),
                    "low/velocity": np.moveaxis(velocity(p_low, t), 0, -1),
                    "high/density": density(p_high, t),
                    "high/velocity": np.moveaxis(factor * velocity(p_high, t), 0, -1),
                },
            )
    return path


@pytest.fixture(scope="session")
def analytic() -> SimpleNamespace:
    """The constants of the fixture fields, for tests that check values against them."""
    return SimpleNamespace(density_rate=DENSITY_RATE, velocity_jacobian=VELOCITY_JACOBIAN)


@pytest.fixture(scope="session")
def sims_2d(tmp_path_factory) -> list[Path]:
    """Two 2D sims of 8 frames, 64² high / 16² low (factor 4), linear fields."""
    root = tmp_path_factory.mktemp("sims_2d")
    return [
        write_sim(
            root / f"sim_{k:05d}.h5",
            (16, 16),
            4,
            8,
            linear_density(0.1 + 0.2 * k),
            linear_velocity(0.1 * k),
            seed=k,
        )
        for k in range(2)
    ]


@pytest.fixture(scope="session")
def sim_3d(tmp_path_factory) -> Path:
    """One 3D sim of 4 frames, 48³ high / 12³ low (factor 4), linear fields (room for a
    rotated 4³ tile)."""
    root = tmp_path_factory.mktemp("sims_3d")
    return write_sim(
        root / "sim_00000.h5", (12, 12, 12), 4, 4, linear_density(), linear_velocity(), seed=7
    )


@pytest.fixture(scope="session")
def sparse_sim(tmp_path_factory) -> Path:
    """A 2D sim whose density is zero except in one corner square (for the density rule)."""
    root = tmp_path_factory.mktemp("sparse")

    def rho(p: np.ndarray, t: int) -> np.ndarray:
        return np.where((p[0] < 6) & (p[1] < 6), 0.5, 0.0)

    return write_sim(root / "sim_00000.h5", (24, 24), 2, 3, rho, linear_velocity())
