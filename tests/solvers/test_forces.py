"""Body forces: buoyancy by hand, vorticity confinement against an independent numpy
implementation (2D and 3D), and what confinement does physically."""

from __future__ import annotations

import numpy as np
import pytest

from solvers.forces import add_buoyancy, vorticity_confinement
from solvers.grid import FLUID, OBSTACLE, make_flags


def test_buoyancy_by_hand():
    flags = make_flags((6, 5))  # y, x; walls on the outer layer
    vel = np.zeros((2, 6, 5), np.float32)
    rho = np.zeros((6, 5), np.float32)
    rho[3, 2] = 1.0  # interior cell
    rho[1, 1] = 2.0  # touches the bottom and left walls
    add_buoyancy(vel, rho, flags, (0.0, 0.5))
    expected = np.zeros_like(vel)
    expected[1, 3, 2] = expected[1, 4, 2] = 0.25  # faces below and above: 0.5 * (1 + 0) / 2
    expected[1, 2, 1] = 0.5  # face above the heavy cell; the one below touches the wall
    np.testing.assert_array_equal(vel, expected)


def centred(vel: np.ndarray) -> np.ndarray:
    """Cell-centred velocity (d, *shape) float64: the mean of a cell's two faces."""
    dim = vel.shape[0]
    out = np.zeros(vel.shape)
    for a in range(dim):
        axis = dim - 1 - a
        face = vel[a].astype(np.float64)
        out[a] = 0.5 * (face + np.roll(face, -1, axis=axis))
    return out


def central_diff(f: np.ndarray, axis: int) -> np.ndarray:
    return 0.5 * (np.roll(f, -1, axis=axis) - np.roll(f, 1, axis=axis))


def inner_mask(shape: tuple[int, ...]) -> np.ndarray:
    mask = np.zeros(shape, bool)
    mask[tuple(slice(1, -1) for _ in shape)] = True
    return mask


def numpy_confinement(vel: np.ndarray, flags: np.ndarray, eps: float) -> np.ndarray:
    """Fedkiw et al. 2001 written independently with numpy, float64."""
    dim = flags.ndim
    u = centred(vel)
    inner = inner_mask(flags.shape)

    def d(comp: int, along: int) -> np.ndarray:  # d u_comp / d x_along (physical axes)
        return central_diff(u[comp], dim - 1 - along)

    if dim == 2:
        w = (d(1, 0) - d(0, 1))[None]
    else:
        w = np.stack([d(2, 1) - d(1, 2), d(0, 2) - d(2, 0), d(1, 0) - d(0, 1)])
    w = np.where(inner, w, 0.0)
    norm = np.sqrt((w**2).sum(0))
    grad = np.stack([central_diff(norm, dim - 1 - a) for a in range(dim)])
    n = grad / (np.sqrt((grad**2).sum(0)) + 1e-6)
    if dim == 2:
        force = np.stack([n[1] * w[0], -n[0] * w[0]])
    else:
        force = np.cross(n, w, axis=0)
    force *= eps
    force[:, (flags != FLUID) | ~inner] = 0.0
    out = vel.astype(np.float64)
    for a in range(dim):
        axis = dim - 1 - a
        here = flags != OBSTACLE
        there = np.roll(here, 1, axis=axis)
        face = 0.5 * (force[a] + np.roll(force[a], 1, axis=axis))
        first = [slice(None)] * dim
        first[axis] = 0
        open_face = here & there
        open_face[tuple(first)] = False
        out[a] += np.where(open_face, face, 0.0)
    return out


@pytest.mark.parametrize("shape", [(24, 20), (12, 14, 10)])
def test_confinement_matches_an_independent_implementation(shape):
    rng = np.random.default_rng(1)
    flags = make_flags(shape, ["y+"])
    flags[tuple(n // 2 for n in shape)] = OBSTACLE
    vel = rng.normal(0, 1, (len(shape), *shape)).astype(np.float32)
    expected = numpy_confinement(vel, flags, 0.3)
    vorticity_confinement(vel, flags, 0.3)
    np.testing.assert_allclose(vel, expected, atol=2e-5)


def vortex(shape: tuple[int, ...], sigma: float) -> np.ndarray:
    """A counter-clockwise Gaussian vortex about the z axis, sampled on the faces."""
    dim = len(shape)
    vel = np.zeros((dim, *shape), np.float32)
    c = [n / 2 for n in shape]
    idx = np.indices(shape).astype(np.float64)
    y, x = idx[-2] + 0.5 - c[-2], idx[-1] + 0.5 - c[-1]
    xf, yf = x - 0.5, y - 0.5  # u on x-faces, v on y-faces
    vel[0] = -y * np.exp(-(xf**2 + y**2) / (2 * sigma**2))
    vel[1] = x * np.exp(-(x**2 + yf**2) / (2 * sigma**2))
    return vel


@pytest.mark.parametrize("shape", [(32, 32), (8, 32, 32)])
def test_confinement_spins_a_vortex_up_and_leaves_uniform_flow_alone(shape):
    flags = make_flags(shape)
    vel = vortex(shape, 4.0)
    before = centred(vel)
    vorticity_confinement(vel, flags, 0.2)
    after = centred(vel)
    inner = inner_mask(shape)
    speed_before = np.sqrt((before**2).sum(0))[inner].sum()
    speed_after = np.sqrt((after**2).sum(0))[inner].sum()
    assert speed_after > 1.01 * speed_before  # the force runs along the rotation
    mirrored = after[0] + np.flip(after[0], axis=-2)  # u(-y) = -u(y): still a vortex
    assert np.abs(mirrored[inner]).max() < 0.05 * np.abs(after[0]).max()

    uniform = np.ones((len(shape), *shape), np.float32)
    copy = uniform.copy()
    vorticity_confinement(uniform, flags, 0.2)
    np.testing.assert_array_equal(uniform, copy)
