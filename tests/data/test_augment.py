"""Physics-aware augmentation: group structure, exactness of lattice transforms, and the
invariants a physicist checks (divergence-free stays divergence-free, augmentation commutes
with advection, low and high grids stay aligned)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from fluidgan.advection import advect
from fluidgan.config import build
from fluidgan.data.augment import (
    AugmentConfig,
    augment,
    cube_group,
    draw_transform,
    flip_matrix,
    footprint,
    quaternion_matrix,
    resample,
    rotation_2d,
    tile_map,
    transform_tile,
    transform_vectors,
)
from fluidgan.data.vorticity import curl, divergence
from fluidgan.errors import UserError

QUATERNION = np.array([0.5, 0.3, -0.6, 0.2]) / np.linalg.norm([0.5, 0.3, -0.6, 0.2])


def cell_positions(shape):
    return np.indices(shape)[::-1] + 0.5  # (d, *shape), x first


def divergence_free(shape, k=2 * math.pi / 16):
    """(1, d, *shape): every component independent of its own coordinate, so both the
    analytic and the central-difference divergence are exactly zero."""
    p = cell_positions(shape)
    if len(shape) == 2:
        x, y = p
        u = [np.sin(k * y + 0.3), np.cos(0.8 * k * x)]
    else:
        x, y, z = p
        u = [
            np.sin(k * y + 0.3) * np.cos(k * z),
            np.sin(k * z) * np.cos(0.8 * k * x + 1),
            np.sin(k * x) * np.cos(k * y + 0.5),
        ]
    return torch.from_numpy(np.stack(u))[None]


def blobs(shape):
    """(1, 1, *shape) smooth density: two Gaussians off the centre."""
    p = cell_positions(shape)
    c = np.array(shape[::-1]) / 2
    big = sum((p[a] - c[a] - 3 * (a + 1) / len(shape)) ** 2 for a in range(len(shape)))
    small = sum((p[a] - c[a] + 6) ** 2 for a in range(len(shape)))
    return torch.from_numpy(np.exp(-big / 50.0) + 0.3 * np.exp(-small / 18.0))[None, None]


def centre_of(shape):
    return np.array(shape[::-1], dtype=np.float64) / 2


def inner(d, margin):
    return (slice(None), slice(None)) + (slice(margin, -margin),) * d


# -- the transforms ----------------------------------------------------------------------


@pytest.mark.parametrize("dim, size", [(2, 4), (3, 24)])
def test_cube_group_is_the_rotation_group_of_the_cube(dim, size):
    group = cube_group(dim)
    assert len(group) == size
    keys = {m.tobytes() for m in group}
    assert len(keys) == size
    for a in group:
        np.testing.assert_allclose(a @ a.T, np.eye(dim))
        assert round(np.linalg.det(a)) == 1
        for b in group:  # closed under composition
            assert (a @ b).tobytes() in keys


def test_uniform_3d_rotations_are_haar_distributed():
    """For Haar-uniform rotations E[R] = 0 and E[R_ij²] = 1/3."""
    cfg = AugmentConfig(scale=(1.0, 1.0), rotation="continuous", flip=False)
    rng = np.random.default_rng(0)
    rs = np.stack([draw_transform(cfg, 3, rng) for _ in range(4000)])
    for r in rs[:20]:
        np.testing.assert_allclose(r @ r.T, np.eye(3), atol=1e-12)
        assert np.linalg.det(r) == pytest.approx(1.0)
    assert np.abs(rs.mean(axis=0)).max() < 0.04
    assert np.abs((rs**2).mean(axis=0) - 1 / 3).max() < 0.03


def test_draw_transform_is_reproducible_and_in_range():
    cfg = AugmentConfig()
    a = [draw_transform(cfg, 2, np.random.default_rng(5)) for _ in range(2)]
    np.testing.assert_array_equal(a[0], a[1])
    t = [draw_transform(cfg, 3, torch.Generator().manual_seed(3)) for _ in range(2)]
    np.testing.assert_array_equal(t[0], t[1])
    rng = np.random.default_rng(1)
    draws = [draw_transform(cfg, 2, rng) for _ in range(400)]
    scales = [math.sqrt(abs(np.linalg.det(m))) for m in draws]
    assert 0.85 <= min(scales) and max(scales) <= 1.15
    flipped = np.mean([np.linalg.det(m) < 0 for m in draws])
    assert 0.4 < flipped < 0.6
    np.testing.assert_array_equal(draw_transform(None, 3, rng), np.eye(3))


def test_augment_config_is_validated_by_the_config_machinery():
    assert build(AugmentConfig, {"rotation": "cube", "scale": [0.9, 1.1]}).scale == (0.9, 1.1)
    with pytest.raises(UserError, match="rotation"):
        build(AugmentConfig, {"rotation": "spin"})
    with pytest.raises(UserError, match="scale"):
        build(AugmentConfig, {"scale": [1.2, 0.9]})


# -- exact lattice transforms ------------------------------------------------------------------


def random_fields(shape, factor, seed=0):
    rng = np.random.default_rng(seed)
    d = len(shape)
    low = torch.from_numpy(rng.standard_normal((2, 1 + d, *shape)))
    high = torch.from_numpy(rng.standard_normal((2, 1, *(n * factor for n in shape))))
    return low, high


def test_quarter_turn_2d_is_rot90_with_rotated_vectors():
    low, high = random_fields((6, 6), 2)
    quarter = rotation_2d(math.pi / 2)
    out_low, out_high = augment(low, high, quarter, 2)
    # counter-clockwise in (x, y): out[j, i] = in[n-1-i, j]
    torch.testing.assert_close(out_low[:, 0], torch.rot90(low[:, 0], -1, (-2, -1)), rtol=0, atol=0)
    torch.testing.assert_close(out_high, torch.rot90(high, -1, (-2, -1)), rtol=0, atol=0)
    turned = torch.rot90(low[:, 1:], -1, (-2, -1))
    torch.testing.assert_close(out_low[:, 1], -turned[:, 1], rtol=0, atol=0)  # u'_x = -u_y
    torch.testing.assert_close(out_low[:, 2], turned[:, 0], rtol=0, atol=0)  # u'_y = u_x


@pytest.mark.parametrize("dim", [2, 3])
def test_quarter_turn_four_times_is_identity(dim):
    low, high = random_fields((6,) * dim, 2, seed=dim)
    quarter = rotation_2d(math.pi / 2) if dim == 2 else cube_group(3)[5]
    assert not np.allclose(quarter, np.eye(dim))
    x_low, x_high = low, high
    for turn in range(4):
        x_low, x_high = augment(x_low, x_high, quarter, 2)
        if turn == 0 and dim == 3:
            assert not torch.equal(x_low, low)
    if dim == 3:  # this element has order 2 or 4: four turns are the identity in both cases
        assert np.allclose(np.linalg.matrix_power(quarter, 4), np.eye(3))
    torch.testing.assert_close(x_low, low, rtol=0, atol=0)
    torch.testing.assert_close(x_high, high, rtol=0, atol=0)


@pytest.mark.parametrize("dim", [2, 3])
def test_flip_mirrors_fields_and_negates_that_component(dim):
    low, high = random_fields((5,) * dim, 2, seed=4)
    for axis in range(dim):
        out_low, out_high = augment(low, high, flip_matrix(dim, axis), 2)
        array_axis = -1 - axis
        mirrored = low.flip(array_axis)
        torch.testing.assert_close(out_high, high.flip(array_axis), rtol=0, atol=0)
        torch.testing.assert_close(out_low[:, 0], mirrored[:, 0], rtol=0, atol=0)
        for c in range(dim):
            sign = -1.0 if c == axis else 1.0
            torch.testing.assert_close(out_low[:, 1 + c], sign * mirrored[:, 1 + c], rtol=0, atol=0)


@pytest.mark.parametrize("dim", [2, 3])
def test_vorticity_of_augmented_velocity_is_the_transformed_pseudovector(dim):
    """For a signed permutation A: curl(A u ∘ A⁻¹) = det(A) · (A ω) ∘ A⁻¹ in 3D (a pseudovector)
    and det(A) · ω ∘ A⁻¹ in 2D, so the recomputed vorticity flips sign under a mirror."""
    shape = (7,) * dim
    low, _ = random_fields(shape, 1, seed=11)
    omega = curl(low[:, 1:])
    for transform in [cube_group(dim)[1], flip_matrix(dim, 0) @ cube_group(dim)[-1]]:
        out, _ = augment(low, None, transform, 1)
        moved = resample(omega, tile_map(transform, centre_of(shape), shape), True)
        if dim == 3:
            moved = transform_vectors(moved, transform)
        expected = np.linalg.det(transform) * moved
        torch.testing.assert_close(curl(out[:, 1:]), expected, rtol=0, atol=1e-12)


def test_scale_multiplies_velocity_and_zooms_the_grid():
    shape = (16, 16)
    p = cell_positions(shape)
    density = torch.from_numpy(0.2 + 0.03 * p[0] - 0.01 * p[1])[None, None]
    vel = torch.from_numpy(np.stack([np.full(shape, 0.4), np.full(shape, -0.7)]))[None]
    s = 1.1
    out, _ = transform_tile(
        torch.cat([density, vel], 1), None, s * np.eye(2), 1, centre_of(shape), (10, 10)
    )
    torch.testing.assert_close(out[0, 1], torch.full((10, 10), 0.4 * s, dtype=torch.float64))
    torch.testing.assert_close(out[0, 2], torch.full((10, 10), -0.7 * s, dtype=torch.float64))
    gy, gx = torch.gradient(out[0, 0])
    torch.testing.assert_close(gx, torch.full_like(gx, 0.03 / s))  # zoomed in by s
    torch.testing.assert_close(gy, torch.full_like(gy, -0.01 / s))


# -- invariants of continuous transforms ----------------------------------------------------


CONTINUOUS = [
    ((48, 48), 1.1 * rotation_2d(0.7), 0.03),
    ((32, 32, 32), quaternion_matrix(QUATERNION), 0.1),
]


@pytest.mark.parametrize("shape, transform, tol", CONTINUOUS)
def test_rotation_keeps_a_divergence_free_field_divergence_free(shape, transform, tol):
    d = len(shape)
    vel = divergence_free(shape)
    assert divergence(vel).abs().max() < 1e-12
    low = torch.cat([torch.zeros_like(vel[:, :1]), vel], 1)
    out, _ = transform_tile(low, None, transform, 1, centre_of(shape), (16,) * d)
    rotated = out[:, 1:]
    unrotated = transform_vectors(rotated, np.linalg.inv(transform))  # positions only

    def relative_divergence(v):
        grad = torch.stack(torch.gradient(v[0], dim=list(range(1, d + 1))))
        return (divergence(v)[inner(d, 1)].square().mean() / grad.square().mean()).sqrt()

    assert relative_divergence(rotated) < tol
    assert relative_divergence(unrotated) > 0.5  # the check catches unrotated vectors


COMMUTE = [
    ((64, 64), 1.1 * flip_matrix(2, 0) @ rotation_2d(0.9), 0.15),
    ((32, 32, 32), 0.9 * quaternion_matrix(QUATERNION), 0.15),
    ((32, 32), flip_matrix(2, 1) @ cube_group(2)[3], 1e-9),
    ((16, 16, 16), flip_matrix(3, 2) @ cube_group(3)[7], 1e-9),
]


@pytest.mark.parametrize("shape, transform, tol", COMMUTE)
def test_augmentation_commutes_with_advection(shape, transform, tol):
    """augment(A(ρ, u)) ≈ A(augment ρ, augment u): the velocity must turn with the grid."""
    d = len(shape)
    rho, vel = blobs(shape), 1.5 * divergence_free(shape)
    tile, centre = (shape[0] // 2,) * d, centre_of(shape)

    def aug(fields):
        return transform_tile(fields, None, transform, 1, centre, tile)[0]

    lhs = aug(torch.cat([advect(rho, vel, 1.0), vel], 1))[:, :1]
    moved = aug(torch.cat([rho, vel], 1))
    rhs = advect(moved[:, :1], moved[:, 1:], 1.0)
    wrong = advect(moved[:, :1], transform_vectors(moved[:, 1:], np.linalg.inv(transform)), 1.0)
    change = (moved[:, :1] - rhs)[inner(d, 3)].abs().max()
    assert change > 0.05
    error = (lhs - rhs)[inner(d, 3)].abs().max()
    assert error < tol * change
    assert (lhs - wrong)[inner(d, 3)].abs().max() > 0.8 * change


@pytest.mark.parametrize("dim", [2, 3])
def test_low_and_high_tiles_cover_the_same_region_after_augmentation(dim):
    """Linear fields are reproduced exactly by linear interpolation: the high tile averaged
    over each low cell equals the low tile, and the velocity is A·u at the sampled points."""
    factor, low_shape = 4, (12,) * dim
    grad, jac = np.arange(1, dim + 1) * 0.02, np.arange(dim * dim).reshape(dim, dim) * 0.01
    p_low = cell_positions(low_shape)
    p_high = cell_positions(tuple(n * factor for n in low_shape)) / factor

    def rho(p):
        return 0.1 + np.tensordot(grad, p, 1)

    u = np.einsum("ij,j...->i...", jac, p_low) + 0.3
    low = torch.from_numpy(np.concatenate([rho(p_low)[None], u]))[None]
    high = torch.from_numpy(rho(p_high))[None, None]
    rng = np.random.default_rng(dim)
    for _ in range(5):
        transform = draw_transform(AugmentConfig(), dim, rng)
        centre = centre_of(low_shape) + rng.uniform(-0.5, 0.5, dim)
        tile = (4,) * dim
        out_low, out_high = transform_tile(low, high, transform, factor, centre, tile)
        pooled = (F.avg_pool2d, F.avg_pool3d)[dim - 2](out_high, factor)
        torch.testing.assert_close(pooled, out_low[:, :1], rtol=0, atol=1e-12)
        q = cell_positions(tile) - centre_of(tile).reshape(-1, *([1] * dim))
        p = np.einsum("ij,j...->i...", np.linalg.inv(transform), q)
        p += centre.reshape(-1, *([1] * dim))
        expected = np.einsum("ij,j...->i...", transform, np.einsum("ij,j...->i...", jac, p) + 0.3)
        torch.testing.assert_close(out_low[0, 1:], torch.from_numpy(expected), rtol=0, atol=1e-12)
        torch.testing.assert_close(out_low[0, 0], torch.from_numpy(rho(p)), rtol=0, atol=1e-12)


@pytest.mark.parametrize("s, angle", [(1.0, math.pi / 4), (0.85, 2.0), (1.15, 5.5)])
def test_equals_the_reference_oversized_cut_rotate_and_crop(s, angle):
    """tempoGAN cuts a tile ×1.5/s larger, scales and rotates it about its centre and crops
    away the border (16 % per side at s = 1). Sampling the frame directly at the transformed
    tile cells gives the same tile (one interpolation, no empty corners)."""
    shape, tile = (64, 64), 16
    rng = np.random.default_rng(7)
    low = torch.from_numpy(rng.standard_normal((1, 3, *shape)))
    transform = s * rotation_2d(angle)
    big = 2 * math.ceil(tile * 1.5 / s / 2)  # even, so the crop is symmetric
    origin = np.array([21, 17])  # x, y of the oversized block's first cell
    centre = origin + big / 2  # the common centre, in low-res cells
    block = low[..., origin[1] : origin[1] + big, origin[0] : origin[0] + big]
    assert (footprint(transform, (tile, tile)) <= big / 2 - 0.5).all()  # no empty corners
    rotated, _ = augment(block, None, transform)
    border = (big - tile) // 2
    reference = rotated[..., border : border + tile, border : border + tile]
    direct, _ = transform_tile(low, None, transform, 1, centre, (tile, tile))
    torch.testing.assert_close(direct, reference, rtol=0, atol=1e-12)
    if s == 1.0:
        assert border / big == pytest.approx(1 / 6)  # the reference's "16 %" border


def test_oversized_cut_leaves_corners_empty_in_3d():
    """Why the tile is sampled directly: a rotation that turns a body diagonal of the tile
    onto the x axis samples √3·7.5 ≈ 13 cells from the centre along x, beyond the ×1.5
    cube's outermost cell centre at 11.5 (the reference leaves empty corners there; the
    sampler keeps the footprint inside the domain instead)."""
    diagonal = np.ones(3) / math.sqrt(3)
    axis = np.cross(diagonal, [1.0, 0.0, 0.0])
    angle = math.acos(diagonal[0])
    q = np.array([math.cos(angle / 2), *(math.sin(angle / 2) * axis / np.linalg.norm(axis))])
    rotation = quaternion_matrix(q)
    np.testing.assert_allclose(rotation @ diagonal, [1.0, 0.0, 0.0], atol=1e-12)
    reach = footprint(rotation, (16, 16, 16))  # half extent of the source cell centres
    assert reach.max() == pytest.approx(7.5 * math.sqrt(3))
    assert reach.max() > 1.5 * 16 / 2 - 0.5
