"""Tiles: they partition the grid, keep away from interior faces, and reproduce the
whole-frame generator output (docs/METHOD.md, "Inference")."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from fluidgan.inference.tiling import axis_windows, plan_tiles, receptive_halo, upscale_tiled
from fluidgan.inference.upscaler import Upscaler, bytes_per_voxel, frame_inputs, plan_passes
from fluidgan.models.tempogan import Generator, init_weights

# Tiled vs whole: same arithmetic on the same inputs, different convolution sizes -> only
# float32 reassociation differences (oneDNN picks algorithms by shape).
ATOL = 1e-5
RTOL = 1e-4


def random_generator(dim: int, channels: int, widths=None, seed: int = 0, kernel=5) -> Generator:
    """A generator with random weights and random BatchNorm statistics (eval mode), so
    nothing about it is trivially translation-invariant."""
    torch.manual_seed(seed)
    g = init_weights(Generator(dim, channels, 4, widths=widths, kernel=kernel))
    for m in g.modules():
        if isinstance(m, (torch.nn.BatchNorm2d, torch.nn.BatchNorm3d)):
            m.running_mean.uniform_(-0.2, 0.2)
            m.running_var.uniform_(0.5, 2.0)
            m.weight.data.uniform_(0.5, 1.5)
            m.bias.data.uniform_(-0.1, 0.1)
    # lift the output above the final ReLU, else a zero output would make tests vacuous
    g.blocks[-1].shortcut.conv.bias.data.fill_(1.0)
    return g.eval()


def smooth_inputs(shape, channels, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.random((channels, *shape)).astype(np.float32)
    return torch.from_numpy(x)


@pytest.mark.parametrize(
    "n, tile, overlap", [(64, 31, 4), (41, 12, 4), (20, 12, 4), (10, 10, 4), (17, 9, 2)]
)
def test_kept_parts_partition_the_axis_and_stay_off_interior_faces(n, tile, overlap):
    windows = axis_windows(n, tile, overlap)
    kept = np.zeros(n, int)
    for start, lo, hi in windows:
        end = start + min(tile, n)
        assert 0 <= start and end <= n
        kept[lo:hi] += 1
        if start > 0:
            assert lo - start >= overlap
        if end < n:
            assert end - hi >= overlap
    assert (kept == 1).all()


def test_plan_tiles_cover_the_high_res_grid_once():
    shape, factor = (9, 14, 11), 4
    count = np.zeros(tuple(n * factor for n in shape), int)
    for t in plan_tiles(shape, 7, 2, factor):
        block = np.zeros(tuple(s.stop - s.start for s in t.window), int)
        up = np.ones(tuple(n * factor for n in block.shape), int)
        count[t.place] += up[t.keep]
    assert (count == 1).all()


def test_receptive_halo_of_the_paper_generator():
    # 4 blocks x 2 convs of 5^d: radius 16 high-res cells = 4 low-res cells at x4
    assert receptive_halo(Generator(2, 3, 4)) == 4
    assert receptive_halo(Generator(3, 4, 4, kernel=3)) == 2  # 8 high-res cells


def test_receptive_halo_is_tight():
    """A one-cell change in the input moves the output exactly within the halo."""
    g = random_generator(2, 1, SMALL)
    halo = receptive_halo(g)
    x = smooth_inputs((24, 24), 1)
    y = x.clone()
    y[0, 12, 12] += 1.0
    with torch.no_grad():
        diff = (g(y[None]) - g(x[None]))[0, 0].abs().numpy()
    rows = np.flatnonzero(diff.max(axis=1) > 0)
    # input cell 12 covers high-res cells 48..51; the change reaches 16 cells out
    assert rows.min() == 48 - 16 and rows.max() == 51 + 16
    assert halo == 4


SMALL = [[8, 16], [16, 16], [8, 4], [2, 1]]


@pytest.mark.parametrize(
    "tile, overlap, widths", [(12, 4, None), (16, 5, SMALL), (11, 4, SMALL), (30, 4, SMALL)]
)
def test_tiled_equals_whole_2d(tile, overlap, widths):
    g = random_generator(2, 3, widths)
    x = smooth_inputs((24, 30), 3, seed=1)
    with torch.no_grad():
        whole = g(x[None])[0, 0]
    tiled = upscale_tiled(g, x, tile, overlap, batch=3)
    assert (whole > 0).float().mean() > 0.5 and whole.std() > 1e-3
    np.testing.assert_allclose(tiled.numpy(), whole.numpy(), rtol=RTOL, atol=ATOL)


def test_tiled_equals_whole_3d():
    g = random_generator(3, 4, widths=SMALL, kernel=3)  # 3^3 kernels: halo 2, CPU-friendly
    assert receptive_halo(g) == 2
    x = smooth_inputs((10, 12, 11), 4, seed=2)
    with torch.no_grad():
        whole = g(x[None])[0, 0]
    tiled = upscale_tiled(g, x, 8, 2, batch=4)
    assert len(plan_tiles((10, 12, 11), 8, 2, 4)) == 2 * 2 * 2
    assert (whole > 0).float().mean() > 0.5
    np.testing.assert_allclose(tiled.numpy(), whole.numpy(), rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("residual", ["linear", "nearest"])
def test_tiled_equals_whole_with_an_input_residual(residual):
    """Generators that add the interpolated low-res density (if the model has the option)."""
    import inspect

    if "input_residual" not in inspect.signature(Generator).parameters:
        pytest.skip("Generator has no input_residual option")
    torch.manual_seed(0)
    g = init_weights(Generator(2, 3, 4, widths=SMALL, input_residual=residual)).eval()
    x = smooth_inputs((20, 22), 3, seed=4)
    with torch.no_grad():
        whole = g(x[None])[0, 0]
    tiled = upscale_tiled(g, x, 12, receptive_halo(g), batch=2)
    assert whole.std() > 1e-3
    np.testing.assert_allclose(tiled.numpy(), whole.numpy(), rtol=RTOL, atol=ATOL)


def test_too_small_overlap_shows_seams():
    """The test above can fail: with an overlap under the halo, tiles differ from whole."""
    g = random_generator(2, 1, SMALL)
    x = smooth_inputs((24, 24), 1, seed=3)
    with torch.no_grad():
        whole = g(x[None])[0, 0]
    tiled = upscale_tiled(g, x, 8, 1)
    assert (tiled - whole).abs().max() > 100 * ATOL


def test_plan_passes_follows_the_memory_budget():
    g = Generator(3, 4, 4)
    per = bytes_per_voxel(g)
    assert per == 4 * (4 * 128 + 4)
    frame_mb = 16**3 * 64 * per / 2**20
    whole = plan_passes((16, 16, 16), g, memory_mb=3.5 * frame_mb)
    assert whole.mode == "whole" and whole.batch == 3
    tiled = plan_passes((64, 64, 64), g, memory_mb=4096)
    assert tiled.mode == "tiled" and tiled.overlap == 4
    assert (tiled.tile * 4) ** 3 * per <= 4096 * 2**20 < ((tiled.tile + 1) * 4) ** 3 * per
    with pytest.raises(ValueError, match="raise the budget"):
        plan_passes((64, 64, 64), g, memory_mb=10)


def test_upscaler_whole_batches_equal_tiles():
    g = random_generator(2, 3, SMALL)
    rng = np.random.default_rng(0)
    density = rng.random((5, 16, 20)).astype(np.float32)
    velocity = rng.standard_normal((5, 16, 20, 2)).astype(np.float32)
    info = {"factor": 4, "channels": "rho+v"}
    cpu = torch.device("cpu")
    whole = Upscaler(g, info, cpu, plan_passes((16, 20), g, 4096, batch=2))
    tiled = Upscaler(g, info, cpu, plan_passes((16, 20), g, 4096, tile=11, overlap=4))
    assert whole.plan.mode == "whole" and tiled.plan.mode == "tiled"
    a, b = whole(density, velocity), tiled(density, velocity)
    assert a.shape == (5, 64, 80)
    np.testing.assert_allclose(a, b, rtol=RTOL, atol=ATOL)
    # frame by frame = batched: frames are independent (eval-mode BatchNorm)
    one = whole(density[3:4], velocity[3:4])
    np.testing.assert_allclose(one[0], a[3], rtol=RTOL, atol=ATOL)


def test_frame_inputs_match_the_training_channel_order():
    density = np.zeros((1, 4, 5), np.float32)
    velocity = np.zeros((1, 4, 5, 2), np.float32)
    velocity[..., 0] = 1.0  # x component
    velocity[..., 1] = 2.0
    x = frame_inputs(density, velocity, "rho+v+w")
    assert x.shape == (1, 4, 4, 5)
    assert (x[0, 1] == 1).all() and (x[0, 2] == 2).all() and (x[0, 3] == 0).all()
