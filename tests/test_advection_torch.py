"""The differentiable torch advection against two independent implementations (a numpy
reference here and the solver's Numba kernels), hand-computed cases, gradients, and the
tempoGAN D_t triplet alignment."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

from fluidgan.advection import advect, align_triplet, sample_at, upsample_velocity

# -- an independent numpy reference: explicit stencils, no grid_sample ----------------------


def _stencil(field: np.ndarray, vel: np.ndarray, dt: float):
    """Per corner of the 2^d stencil: (weight, value) of the clamped back-trace."""
    d = field.ndim
    idx = np.indices(field.shape).astype(np.float64)
    base, frac = [], []
    for ax in range(d):  # array axis ax holds velocity component d - 1 - ax
        n = field.shape[ax]
        p = np.clip(idx[ax] - dt * vel[d - 1 - ax].astype(np.float64), 0.0, n - 1.0)
        b = np.minimum(np.floor(p), n - 2).astype(int)
        base.append(b)
        frac.append(p - b)
    for corner in itertools.product((0, 1), repeat=d):
        w = np.ones(field.shape)
        for ax, c in enumerate(corner):
            w = w * (frac[ax] if c else 1.0 - frac[ax])
        yield w, field[tuple(base[ax] + c for ax, c in enumerate(corner))].astype(np.float64)


def numpy_sl(field: np.ndarray, vel: np.ndarray, dt: float) -> np.ndarray:
    return sum(w * v for w, v in _stencil(field, vel, dt))


def numpy_maccormack(field: np.ndarray, vel: np.ndarray, dt: float) -> np.ndarray:
    fwd = numpy_sl(field, vel, dt)
    mc = fwd + 0.5 * (field - numpy_sl(fwd, vel, -dt))
    values = np.stack([v for _, v in _stencil(field, vel, dt)])
    return np.clip(mc, values.min(axis=0), values.max(axis=0))


NUMPY_REFERENCE = {1: numpy_sl, 2: numpy_maccormack}


def random_case(shape, seed, speed=1.5, dtype=np.float32):
    rng = np.random.default_rng(seed)
    field = rng.uniform(0.0, 1.0, shape).astype(dtype)
    vel = (speed * rng.standard_normal((len(shape), *shape))).astype(dtype)
    return field, vel


def torch_advect(field, vel, dt, order, dtype=torch.float64):
    f = torch.from_numpy(field).to(dtype)[None, None]
    v = torch.from_numpy(vel).to(dtype)[None]
    return advect(f, v, dt, order)[0, 0].numpy()


@pytest.mark.parametrize("order", [1, 2])
@pytest.mark.parametrize("shape", [(9, 12), (5, 6, 7)])
def test_matches_numpy_reference(shape, order):
    field, vel = random_case(shape, seed=len(shape) + order)
    expected = NUMPY_REFERENCE[order](field, vel, 0.8)
    assert np.abs(torch_advect(field, vel, 0.8, order) - expected).max() < 1e-12


@pytest.mark.parametrize("order", [1, 2])
@pytest.mark.parametrize("shape", [(17, 13), (6, 7, 8)])
def test_matches_numba_solver(shape, order):
    """Same input, same result as the solver (float32 in, float64 positions in both)."""
    solver = pytest.importorskip("solvers.advection")
    field, vel = random_case(shape, seed=10 + order)
    expected = solver.advect_scalar_centred(field, vel, 0.7, order=order, clamp="clamp")
    # torch in float64 on the float32 inputs: agreement to float32 rounding of the output
    assert np.abs(torch_advect(field, vel, 0.7, order) - expected).max() < 1e-6
    # torch in float32: positions in float32, so a little looser
    got32 = torch_advect(field, vel, 0.7, order, dtype=torch.float32)
    assert np.abs(got32 - expected).max() < 2e-5


def test_integer_shift_is_exact_with_border_inflow():
    field = np.arange(6 * 8, dtype=np.float32).reshape(6, 8)
    vel = np.zeros((2, 6, 8), np.float32)
    vel[0] = 2.0  # two cells per time unit along +x
    got = torch_advect(field, vel, 1.0, 1)
    # exact up to the rounding of grid_sample's coordinate normalisation
    np.testing.assert_allclose(got[:, 2:], field[:, :-2], rtol=0, atol=1e-12)
    np.testing.assert_allclose(got[:, :2], field[:, :1].repeat(2, axis=1), rtol=0, atol=1e-12)


def test_half_cell_shift_averages_neighbours():
    field = np.array([[0.0, 1.0, 4.0, 9.0]], np.float32).repeat(3, axis=0)
    vel = np.zeros((2, 3, 4), np.float32)
    vel[0] = -0.5  # content moves towards -x
    got = torch_advect(field, vel, 1.0, 1)
    np.testing.assert_allclose(got[0], [0.5, 2.5, 6.5, 9.0])


@pytest.mark.parametrize("order", [1, 2])
@pytest.mark.parametrize("shape", [(7, 9), (4, 5, 6)])
def test_constant_field_stays_constant_even_out_of_domain(shape, order):
    """Weights sum to 1 everywhere, also when the back-trace leaves the domain by far."""
    _, vel = random_case(shape, seed=3, speed=20.0)
    field = np.full(shape, 0.3, np.float32)
    np.testing.assert_allclose(torch_advect(field, vel, 1.0, order), 0.3, atol=1e-15)


def test_maccormack_is_more_accurate_than_semi_lagrangian():
    """A smooth profile carried by a uniform sub-cell velocity: second order beats first."""
    x = np.arange(64) + 0.5
    field = np.exp(-(((x - 24.0) / 6.0) ** 2))[None].repeat(4, axis=0)
    vel = np.zeros((2, 4, 64))
    vel[0] = 0.37
    steps = 20
    exact = np.exp(-(((x - 24.0 - 0.37 * steps) / 6.0) ** 2))
    errors = {}
    for order in (1, 2):
        f = torch.from_numpy(field)[None, None]
        v = torch.from_numpy(vel)[None]
        for _ in range(steps):
            f = advect(f, v, 1.0, order)
        errors[order] = np.abs(f[0, 0, 2].numpy() - exact).max()
    assert errors[2] < 0.25 * errors[1]


def test_batched_dt_per_sample():
    field, vel = random_case((8, 9), seed=5)
    f = torch.from_numpy(np.stack([field, field]))[:, None].double()
    v = torch.from_numpy(np.stack([vel, vel])).double()
    out = advect(f, v, torch.tensor([0.5, -1.0]))
    np.testing.assert_allclose(out[0, 0].numpy(), numpy_sl(field, vel, 0.5), atol=1e-12)
    np.testing.assert_allclose(out[1, 0].numpy(), numpy_sl(field, vel, -1.0), atol=1e-12)


@pytest.mark.parametrize("order", [1, 2])
@pytest.mark.parametrize("shape", [(4, 5), (3, 3, 4)])
def test_gradcheck_field_and_velocity(shape, order):
    field, vel = random_case(shape, seed=7, speed=0.7, dtype=np.float64)
    f = torch.from_numpy(field)[None, None].requires_grad_()
    v = torch.from_numpy(vel)[None].requires_grad_()
    assert torch.autograd.gradcheck(lambda a, b: advect(a, b, 0.9, order), (f, v))


def test_sample_at_nearest_is_exact_on_integer_indices():
    field = torch.arange(60.0).reshape(1, 1, 6, 10)
    index = torch.stack(torch.meshgrid(torch.arange(10.0), torch.arange(6.0), indexing="xy"))
    out = sample_at(field, index.flip(1)[None], mode="nearest")  # reversed rows
    torch.testing.assert_close(out, field.flip(2), rtol=0, atol=0)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
@pytest.mark.parametrize("order", [1, 2])
def test_cuda_matches_cpu(order):
    field, _ = random_case((4, 16, 16, 16), seed=9)
    f = torch.from_numpy(field)[:, None]
    v = torch.from_numpy(np.stack([random_case((16, 16, 16), s)[1] for s in range(4)]))
    cpu = advect(f, v, 1.0, order)
    gpu = advect(f.cuda(), v.cuda(), 1.0, order).cpu()
    torch.testing.assert_close(gpu, cpu, rtol=0, atol=1e-5)


# -- tempoGAN D_t alignment -------------------------------------------------------------------


def blob(shape, centre, width=3.0):
    """A Gaussian density blob (B=1 frame) at ``centre`` (x, y) in high-res cells."""
    y, x = np.indices(shape) + 0.5
    return np.exp(-((x - centre[0]) ** 2 + (y - centre[1]) ** 2) / (2 * width**2))


def test_upsample_velocity_is_linear_at_high_res_centres():
    low = np.indices((6, 5))[::-1] + 0.5  # u = (x, y) at the low-res cell centres
    vel = torch.from_numpy(0.1 * low + 0.2)[None]  # linear, low cells per frame
    up = upsample_velocity(vel, 4)[0].numpy()
    high = (np.indices((24, 20))[::-1] + 0.5) / 4  # high centres in low units
    expected = 4 * (0.1 * high + 0.2)
    # exact between the outermost low-res centres (edge values beyond them)
    np.testing.assert_allclose(up[:, 2:-2, 2:-2], expected[:, 2:-2, 2:-2], atol=1e-12)


def test_align_triplet_warps_each_frame_with_its_own_velocity():
    """Frame t-1 moves at 2 high cells/frame, frame t+1 at 1: each frame's own velocity
    (and the sign convention) brings all three onto frame t; frame t is untouched."""
    shape, factor = (32, 40), 4
    speeds = [0.5, 0.0, 0.25]  # low cells per frame along x, frames t-1, t, t+1
    centres = [(18.0, 16.0), (20.0, 16.0), (21.0, 16.0)]  # at t-1, t, t+1 (high cells)
    high = torch.from_numpy(np.stack([blob(shape, c) for c in centres]))[None, :, None]
    low_vel = torch.zeros(1, 3, 2, shape[0] // factor, shape[1] // factor, dtype=torch.float64)
    for k, s in enumerate(speeds):
        low_vel[0, k, 0] = s
    high.requires_grad_()
    aligned = align_triplet(high, low_vel, factor)
    target = high[0, 1, 0].detach()
    for k in (0, 2):  # exact (integer shifts) away from the clamped inflow edges
        torch.testing.assert_close(aligned[0, k, 0, :, 3:-3], target[:, 3:-3], rtol=0, atol=1e-12)
    assert torch.equal(aligned[0, 1], high[0, 1])
    unaligned = (high[0, 0, 0] - target).abs().max()
    assert unaligned > 0.3  # the test would catch a missing or reversed warp
    aligned.sum().backward()
    grad = high.grad[0, :, 0]
    assert torch.equal(grad[1], torch.ones_like(grad[1]))
    # warped frames: gradient is where the content came from (mass is conserved inside)
    assert grad[0].abs().sum() > 0 and grad[2].abs().sum() > 0


def test_align_triplet_3d_shapes_and_gradient():
    high = torch.rand(2, 3, 1, 8, 8, 8, requires_grad=True)
    low_vel = torch.randn(2, 3, 3, 2, 2, 2, requires_grad=True)
    out = align_triplet(high, low_vel, 4)
    assert out.shape == high.shape
    out.square().sum().backward()
    assert high.grad.abs().sum() > 0 and low_vel.grad.abs().sum() > 0
    with pytest.raises(ValueError, match="factor"):
        align_triplet(high, low_vel, 2)
