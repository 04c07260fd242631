"""PSNR, SSIM and relative L2 on hand-made fields."""

from __future__ import annotations

import math

import numpy as np
import pytest

from fluidgan.evaluation.fields import (
    mse,
    psnr,
    psnr_from_mse,
    relative_l2,
    smoke_mask,
    ssim,
    ssim_map,
)


def test_psnr_of_a_known_perturbation():
    ref = np.random.default_rng(0).random((12, 16, 20))
    pred = ref + 0.1  # MSE = 0.01
    assert psnr(pred, ref, data_range=1.0) == pytest.approx(20.0)
    assert psnr(pred, ref, data_range=2.0) == pytest.approx(10 * math.log10(4 / 0.01))
    assert psnr(ref, ref) == math.inf
    pred = ref.copy()
    pred[ref < 0.5] += 0.3  # error only outside the mask
    mask = ref >= 0.5
    assert psnr(pred, ref, mask=mask) == math.inf
    assert psnr(pred, ref, mask=~mask) == pytest.approx(10 * math.log10(1 / 0.09))
    assert math.isnan(psnr_from_mse(mse(pred, ref, np.zeros_like(mask))))


def test_smoke_mask_uses_the_reference_only():
    ref = np.array([0.0, 0.005, 0.02, 1.0])
    assert smoke_mask(ref, 0.01).tolist() == [False, False, True, True]


def test_relative_l2():
    ref = np.random.default_rng(1).random((8, 9))
    assert relative_l2(1.1 * ref, ref) == pytest.approx(0.1)
    assert relative_l2(ref, ref) == 0.0
    assert relative_l2(np.zeros(3), np.zeros(3)) == 0.0


@pytest.mark.parametrize("shape", [(24, 30), (12, 14, 16)])
def test_ssim_of_identical_fields_is_one(shape):
    x = np.random.default_rng(2).random(shape)
    assert ssim(x, x) == pytest.approx(1.0, abs=1e-12)
    noisy = x + 0.2 * np.random.default_rng(3).standard_normal(shape)
    assert 0 < ssim(noisy, x) < 0.9
    assert ssim(noisy, x) == pytest.approx(ssim(x, noisy), abs=1e-12)  # symmetric


def brute_force_ssim_map(x, y, data_range, sigma=1.5, radius=5):
    """Wang et al.'s local SSIM with explicit window sums (mirrored borders), one cell at a time."""
    offsets = np.arange(-radius, radius + 1)
    w1 = np.exp(-0.5 * (offsets / sigma) ** 2)
    window = np.outer(w1, w1) / np.outer(w1, w1).sum()
    px = np.pad(x, radius, mode="symmetric")  # scipy "reflect" = numpy "symmetric"
    py = np.pad(y, radius, mode="symmetric")
    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2
    out = np.empty_like(x)
    for j in range(x.shape[0]):
        for i in range(x.shape[1]):
            a = px[j : j + 2 * radius + 1, i : i + 2 * radius + 1]
            b = py[j : j + 2 * radius + 1, i : i + 2 * radius + 1]
            mx, my = (window * a).sum(), (window * b).sum()
            vx = (window * (a - mx) ** 2).sum()
            vy = (window * (b - my) ** 2).sum()
            cxy = (window * (a - mx) * (b - my)).sum()
            out[j, i] = ((2 * mx * my + c1) * (2 * cxy + c2)) / (
                (mx**2 + my**2 + c1) * (vx + vy + c2)
            )
    return out


def test_ssim_map_agrees_with_explicit_window_sums():
    rng = np.random.default_rng(4)
    x = rng.random((14, 17))
    y = np.clip(x + 0.1 * rng.standard_normal(x.shape), 0, 1)
    expected = brute_force_ssim_map(x, y, 1.0)
    np.testing.assert_allclose(ssim_map(x, y, 1.0), expected, atol=1e-10)
    assert ssim(x, y) == pytest.approx(expected[5:-5, 5:-5].mean(), abs=1e-10)


def test_ssim_of_constant_fields_depends_on_the_stated_range():
    a, b = np.full((20, 20), 0.5), np.full((20, 20), 0.6)
    c1 = 0.01**2
    expected = (2 * 0.5 * 0.6 + c1) / (0.5**2 + 0.6**2 + c1)  # contrast term is 1
    assert ssim(a, b, data_range=1.0) == pytest.approx(expected)
    assert ssim(a, b, data_range=10.0) > ssim(a, b, data_range=1.0)
