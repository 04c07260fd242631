"""The validation score watched while training, against hand-computed values."""

from __future__ import annotations

import torch

from fluidgan.evaluation.validation import validation_l1


def test_validation_l1_of_constant_fields_is_the_difference():
    low = torch.full((2, 3, 4, 4), 0.25)  # density in channel 0, velocity after it
    low[:, 1:] = 9.0  # must be ignored: only density is interpolated
    high = torch.full((2, 1, 8, 8), 1.0)
    generated = torch.full((2, 1, 8, 8), 0.5)
    scores = validation_l1(generated, low, high, factor=2)
    assert scores == {"val/l1": 0.5, "val/l1_interp": 0.75}


def test_interpolation_reproduces_a_linear_ramp_away_from_the_border_in_3d():
    x = torch.arange(4.0)
    low = x.view(1, 1, 1, 1, 4).expand(1, 1, 4, 4, 4).clone()
    high = (torch.arange(8.0) / 2 - 0.25).view(1, 1, 1, 1, 8).expand(1, 1, 8, 8, 8).clone()
    inner = high[..., 1:-1]
    scores = validation_l1(high, low, high, factor=2)
    assert scores["val/l1"] == 0.0
    # trilinear, align_corners=False: exact inside, clamped at the two border cells
    interp = torch.nn.functional.interpolate(low, scale_factor=2, mode="trilinear")
    assert torch.allclose(interp[..., 1:-1], inner)
    assert abs(scores["val/l1_interp"] - 2 * 0.25 / 8) < 1e-6
