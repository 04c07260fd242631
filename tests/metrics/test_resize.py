"""TF1 bilinear resize (align_corners=False, no half-pixel centres) against hand values."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from fluidgan.metrics.resize import resize_tf1_bilinear, tf1_source_coordinates


def _resize_1d(values, n_out):
    x = torch.tensor([values], dtype=torch.float64)
    return resize_tf1_bilinear(x, (n_out,))[0].tolist()


def test_downsample_4_to_3_by_hand():
    # output i samples input i * 4/3: 0, 4/3, 8/3 -> x0, x1 + (x2-x1)/3, x2 + 2(x3-x2)/3
    assert _resize_1d([0, 3, 6, 12], 3) == pytest.approx([0, 4, 10], abs=1e-12)


def test_upsample_2_to_5_by_hand():
    # input coordinates 0, .4, .8, 1.2, 1.6; the last two clamp to x1 (no half-pixel shift)
    assert _resize_1d([10, 20], 5) == pytest.approx([10, 14, 18, 20, 20], abs=1e-12)


def test_2x2_to_3x3_by_hand():
    img = torch.tensor([[0.0, 10.0], [20.0, 30.0]], dtype=torch.float64)
    out = resize_tf1_bilinear(img[None, None], (3, 3))[0, 0]
    expected = [[0, 20 / 3, 10], [40 / 3, 20, 70 / 3], [20, 80 / 3, 30]]
    np.testing.assert_allclose(out.numpy(), expected, atol=1e-12)


def test_source_coordinates_have_no_half_pixel_shift():
    lo, hi, w = tf1_source_coordinates(32, 299)
    s = np.arange(299) * 32 / 299
    np.testing.assert_array_equal(lo.numpy(), np.floor(s))
    np.testing.assert_array_equal(hi.numpy(), np.minimum(np.floor(s) + 1, 31))
    np.testing.assert_allclose(w.numpy(), s - np.floor(s), atol=1e-12)


def _grid_sample_tf1(x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Independent route (NVIDIA's): grid_sample with the grid shifted by 1/in - 1/out."""
    b, _, h, w = x.shape
    theta = torch.tensor([[1.0, 0, 1 / w - 1 / size[1]], [0, 1.0, 1 / h - 1 / size[0]]])
    grid = F.affine_grid(theta.expand(b, 2, 3), [b, x.shape[1], *size], align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)


def test_agrees_with_grid_sample_route():
    x = torch.randint(0, 256, (2, 3, 32, 24), generator=torch.Generator().manual_seed(0)).float()
    ours = resize_tf1_bilinear(x, (299, 299))
    ref = _grid_sample_tf1(x, (299, 299))
    assert (ours - ref).abs().max().item() < 1e-3  # grey levels, float32 grid round-off


def test_plain_interpolate_is_not_tf1():
    # The pitfall this module exists for: half-pixel centres move values by many levels.
    x = torch.randint(0, 256, (1, 1, 32, 32), generator=torch.Generator().manual_seed(1)).float()
    ours = resize_tf1_bilinear(x, (299, 299))
    plain = F.interpolate(x, size=(299, 299), mode="bilinear", align_corners=False)
    assert (ours - plain).abs().max().item() > 50


def test_identity_and_dimension_generic():
    x = torch.rand(1, 1, 4, 5, 6, dtype=torch.float64)
    assert torch.equal(resize_tf1_bilinear(x, (4, 5, 6)), x)
    out = resize_tf1_bilinear(x, (7, 3, 6))
    # separable: resizing axis by axis in any order gives the same volume
    other = resize_tf1_bilinear(resize_tf1_bilinear(x, (4, 3, 6)), (7, 3, 6))
    assert out.shape == (1, 1, 7, 3, 6)
    torch.testing.assert_close(out, other)
