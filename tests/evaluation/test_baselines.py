"""Interpolation baselines: exactness on constants and ramps, agreement with torch."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from fluidgan.errors import UserError
from fluidgan.evaluation.baselines import (
    BASELINES,
    block_mean,
    check_baselines,
    sample_coordinates,
    upsample,
)


@pytest.mark.parametrize("method", list(BASELINES))
@pytest.mark.parametrize("shape, factor", [((5, 7), 4), ((3, 4, 5), 2), ((6, 9), 3)])
def test_constant_stays_constant(method, shape, factor):
    out = upsample(np.full(shape, 0.37), factor, method)
    assert out.shape == tuple(n * factor for n in shape)
    np.testing.assert_allclose(out, 0.37, rtol=1e-6)


def test_linear_reproduces_a_ramp_in_the_interior():
    f, shape = 4, (10, 12)
    j, i = np.meshgrid(np.arange(shape[0]), np.arange(shape[1]), indexing="ij")
    low = 0.3 * i - 0.2 * j + 1.0  # a linear function of the low-res cell centres
    out = upsample(low, f, "linear")
    # high-res centre (x + 0.5)/f - 0.5 in low-res index units; interior = not clamped
    x = (np.arange(shape[1] * f) + 0.5) / f - 0.5
    y = (np.arange(shape[0] * f) + 0.5) / f - 0.5
    exact = 0.3 * x[None, :] - 0.2 * y[:, None] + 1.0
    inner = (slice(f // 2, -(f // 2)),) * 2
    np.testing.assert_allclose(out[inner], exact[inner], atol=1e-6)
    cubic = upsample(low, f, "cubic")  # B-spline: exact on ramps away from the edges
    deep = (slice(4 * f, -4 * f),) * 2
    np.testing.assert_allclose(cubic[deep], exact[deep], atol=1e-3)


@pytest.mark.parametrize("shape, factor", [((5, 7), 4), ((3, 4, 5), 3)])
def test_nearest_is_block_repetition_and_downsamples_back(shape, factor):
    low = np.random.default_rng(0).random(shape)
    up = upsample(low, factor, "nearest")
    repeated = low
    for axis in range(low.ndim):
        repeated = np.repeat(repeated, factor, axis=axis)
    np.testing.assert_array_equal(up, repeated.astype(np.float32))
    np.testing.assert_allclose(block_mean(up, factor), low, rtol=1e-6)


@pytest.mark.parametrize("shape, factor", [((5, 7), 4), ((3, 4, 5), 2)])
def test_linear_matches_torch_interpolate_align_corners_false(shape, factor):
    low = np.random.default_rng(1).random(shape)
    mode = {2: "bilinear", 3: "trilinear"}[low.ndim]
    expected = F.interpolate(
        torch.from_numpy(low)[None, None], scale_factor=factor, mode=mode, align_corners=False
    )[0, 0].numpy()
    np.testing.assert_allclose(upsample(low, factor, "linear"), expected, atol=1e-6)


def test_sample_positions_are_clamped_cell_centres():
    np.testing.assert_allclose(sample_coordinates(3, 2), [0, 0.25, 0.75, 1.25, 1.75, 2])


def test_frames_axis_passes_through_and_unknown_names_fail():
    seq = np.random.default_rng(2).random((3, 4, 5))
    out = upsample(seq, 2, "cubic", axes=(1, 2))
    assert out.shape == (3, 8, 10)
    np.testing.assert_allclose(out[1], upsample(seq[1], 2, "cubic"), rtol=1e-6)
    with pytest.raises(UserError, match="valid: nearest, linear, cubic"):
        check_baselines(["nearest", "lanczos"])
