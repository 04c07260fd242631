"""Flicker of the detail band: hand-made sequences whose answer is known."""

from __future__ import annotations

import numpy as np
import pytest

from fluidgan.evaluation.sequence import SequenceEvaluator
from fluidgan.evaluation.spectra import nyquist
from fluidgan.evaluation.temporal import (
    advect_frames,
    detail_band,
    detail_changes,
    detail_incoherence,
    relative_flicker,
    smoke_detail_incoherence,
)

SHAPE = (48, 64)  # non-square: the wavenumber unit is cycles per longest side
FACTOR = 4
CUTOFF = max(SHAPE) / (2 * FACTOR)  # the low-res Nyquist, 8
Y, X = np.meshgrid(np.arange(SHAPE[0]) + 0.5, np.arange(SHAPE[1]) + 0.5, indexing="ij")


def cosine(my: int, mx: int) -> np.ndarray:
    """DCT-II basis function (my, mx): κ = (my · 64/96, mx · 64/128) cycles per side."""
    return np.cos(np.pi * my * Y / SHAPE[0]) * np.cos(np.pi * mx * X / SHAPE[1])


def smooth(t: float) -> np.ndarray:
    """Large-scale smoke that changes with t: only wavenumbers below the cutoff."""
    return 0.4 + 0.2 * np.cos(0.3 * t) * cosine(1, 2) + 0.1 * t * cosine(3, 0)


def detail(cx: float = 30.0, cy: float = 24.0) -> np.ndarray:
    """Fine, localised detail (periods 3 and 3.5 cells ≈ κ 21 and 14: above the cutoff)."""
    window = np.exp(-((X - cx) ** 2 + (Y - cy) ** 2) / (2 * 5.0**2))
    return window * np.cos(2 * np.pi * (X - cx) / 3.0) * np.cos(2 * np.pi * (Y - cy) / 3.5)


def test_band_split_is_an_orthogonal_projection():
    rng = np.random.default_rng(0)
    field = rng.random(SHAPE)
    h = detail_band(field, CUTOFF)
    low = field - h
    assert abs(np.sum(low * h)) < 1e-9 * np.sum(field * field)
    np.testing.assert_allclose(detail_band(h, CUTOFF), h, atol=1e-12)  # idempotent
    np.testing.assert_allclose(detail_band(low, CUTOFF), 0, atol=1e-12)
    # κ_x = m/2 along x: m = 16 sits on the cutoff (kept low), 17 above it
    np.testing.assert_allclose(detail_band(cosine(0, 16), CUTOFF), 0, atol=1e-12)
    np.testing.assert_allclose(detail_band(cosine(0, 17), CUTOFF), cosine(0, 17), atol=1e-12)
    # κ_y = m · 64/96: m = 12 -> 8 (low), m = 13 -> 8.67 (detail); radial: (9, 12) -> 7.5, 6
    np.testing.assert_allclose(detail_band(cosine(12, 0), CUTOFF), 0, atol=1e-12)
    np.testing.assert_allclose(detail_band(cosine(13, 0), CUTOFF), cosine(13, 0), atol=1e-12)
    np.testing.assert_allclose(detail_band(cosine(9, 12), CUTOFF), cosine(9, 12), atol=1e-12)
    # leading axes are frames: each is split on its own
    stack = np.stack([field, 2 * field])
    np.testing.assert_allclose(detail_band(stack, CUTOFF, dim=2)[1], 2 * h, atol=1e-12)


def test_low_frequency_changes_are_no_flicker():
    seq = np.stack([smooth(t) for t in range(6)])
    assert np.ptp(seq, axis=0).max() > 0.5  # the frames do change a lot
    np.testing.assert_allclose(detail_changes(seq, CUTOFF), 0, atol=1e-12)
    steady = np.stack([smooth(t) + 0.1 * detail() for t in range(6)])
    np.testing.assert_allclose(detail_changes(steady, CUTOFF), 0, atol=1e-12)
    assert detail_incoherence(steady, CUTOFF) < 1e-10


def test_static_detail_as_steady_as_the_truth_gives_ratio_one():
    growing = [0.1 * (1 + 0.1 * t) * detail() for t in range(6)]  # the truth's detail grows
    ref = np.stack([smooth(t) + d for t, d in enumerate(growing)])
    pred = np.stack([smooth(0.5 * t) + 0.2 + d for t, d in enumerate(growing)])  # other coarse part
    assert relative_flicker(pred, ref, CUTOFF) == pytest.approx(1.0, abs=1e-9)


def test_detail_that_flips_sign_every_frame_is_large_flicker():
    d = 0.1 * detail()
    rms = np.sqrt(np.mean(d * d))
    ref = np.stack([smooth(t) + (1 + 0.1 * t) * d for t in range(6)])  # φ = 0.1 RMS(d)
    flip = np.stack([smooth(t) + (-1) ** t * d for t in range(6)])  # φ = RMS(2d)
    np.testing.assert_allclose(detail_changes(flip, CUTOFF), 2 * rms, rtol=1e-9)
    np.testing.assert_allclose(detail_changes(ref, CUTOFF), 0.1 * rms, rtol=1e-9)
    assert relative_flicker(flip, ref, CUTOFF) == pytest.approx(20.0, rel=1e-9)
    assert detail_incoherence(flip, CUTOFF) == pytest.approx(2.0, rel=1e-9)


def test_detail_carried_by_the_flow_is_low_flicker_only_when_warped():
    frames, speed = 6, 2  # whole cells per frame: the semi-Lagrangian warp is exact
    seq = np.stack([smooth(0) + 0.1 * detail(16 + speed * t) for t in range(frames)])
    velocity = np.zeros((frames, *SHAPE, 2))
    velocity[..., 0] = speed  # x component
    assert detail_incoherence(seq, CUTOFF, velocity) < 0.05
    assert detail_incoherence(seq, CUTOFF) > 1.0  # the same detail, seen without the flow
    # amplified but equally coherent detail: more flicker, the same incoherence
    loud = np.stack([smooth(0) + 0.3 * detail(16 + speed * t) for t in range(frames)])
    assert relative_flicker(loud, seq, CUTOFF, velocity) == pytest.approx(3.0, rel=1e-6)
    assert detail_incoherence(loud, CUTOFF, velocity) == pytest.approx(
        detail_incoherence(seq, CUTOFF, velocity), rel=1e-6
    )


def swirl(strength: float = 3.0) -> np.ndarray:
    """A non-uniform velocity (*S, 2): a vortex off the centre, in cells per frame."""
    dx, dy = X - 36.0, Y - 20.0
    envelope = strength * np.exp(-(dx**2 + dy**2) / (2 * 9.0**2))
    return np.stack([-dy / 9.0 * envelope, dx / 9.0 * envelope], axis=-1)


def test_smoke_incoherence_is_zero_for_a_sequence_the_flow_carries():
    # each frame is the last moved by the swirl with the solver's MacCormack warp: detail
    # (and the fine structure the shear makes of the coarse part) follows the flow exactly
    frames = [smooth(0) + 0.1 * detail()]
    for _ in range(4):
        frames.append(advect_frames(frames[-1][None], swirl(), 1.0, order=2)[0])
    seq = np.stack(frames)
    velocity = np.broadcast_to(swirl(), (len(seq), *SHAPE, 2))
    assert smoke_detail_incoherence(seq, seq, CUTOFF, velocity) < 1e-6
    # the warp is whole-frame first, band second: the band moved on its own is not the band
    # of the moved frame, and the semi-Lagrangian warp is not the sequence's own
    assert smoke_detail_incoherence(seq, seq, CUTOFF, velocity, order=1) > 0.05
    h = detail_band(seq, CUTOFF, dim=2)
    band_first = advect_frames(h[:-1], velocity[:-1], 1.0, order=2)
    assert np.sqrt(np.sum((h[1:] - band_first) ** 2) / np.sum(h[1:] ** 2)) > 0.05
    assert smoke_detail_incoherence(seq, seq, CUTOFF, np.zeros_like(velocity)) > 0.3


def test_smoke_incoherence_counts_the_smoke_cells_only():
    rng = np.random.default_rng(3)
    frames = 6
    smoke = 1 / (1 + np.exp((X - 24) / 2))  # the ground truth's smoke: x ≲ 33, air beyond
    ref = np.stack([smoke * (0.5 + 0.1 * detail(16, 24)) * (1 + 0.02 * t) for t in range(frames)])
    still = np.zeros((frames, *SHAPE, 2))
    own = smoke_detail_incoherence(ref, ref, CUTOFF, still)
    assert own == pytest.approx(0.02 / 1.06, rel=0.05)  # detail grows 2 % a frame, in place
    air_noise = ref + 0.2 * (X > 44) * rng.standard_normal(ref.shape)  # flicker in the air
    smoke_noise = ref + 0.2 * (X < 16) * rng.standard_normal(ref.shape)  # flicker in smoke
    everywhere = smoke_detail_incoherence(air_noise, np.ones_like(ref), CUTOFF, still)
    assert everywhere > 1.3  # counted over every cell, the air's noise is all there is
    # only what the sharp band's ringing carries into the smoke is left (measured 0.41)
    assert smoke_detail_incoherence(air_noise, ref, CUTOFF, still) < 0.5
    assert smoke_detail_incoherence(smoke_noise, ref, CUTOFF, still) > 1.3
    # fresh, uncorrelated detail every frame: √2 (each frame's band against the next's)
    fresh = 0.5 + 0.2 * rng.standard_normal(ref.shape)
    psi = smoke_detail_incoherence(fresh, np.ones_like(fresh), CUTOFF, still)
    assert psi == pytest.approx(np.sqrt(2), rel=0.03)


def test_sequence_evaluator_agrees_with_the_whole_sequence_functions():
    rng = np.random.default_rng(1)
    frames = 5
    ref = np.stack([smooth(t) + 0.1 * detail(20 + t) for t in range(frames)]).astype(np.float32)
    noisy = (ref + 0.03 * rng.standard_normal(ref.shape)).astype(np.float32)
    velocity = np.zeros((frames, *SHAPE, 2), np.float32)
    velocity[..., 0] = 1.0
    velocity[..., 1] = 0.5 * np.sin(X / 10)  # not a whole-cell shift: interpolation
    low_shape = tuple(n // FACTOR for n in SHAPE)
    assert nyquist(low_shape) == CUTOFF
    evaluator = SequenceEvaluator(["same", "noisy"], FACTOR)
    for t in range(frames):
        low = ref[t].reshape(low_shape[0], FACTOR, low_shape[1], FACTOR).mean(axis=(1, 3))
        evaluator.add(t, ref[t], {"same": ref[t], "noisy": noisy[t]}, low, velocity[t])
    result = evaluator.result()
    same, noise = result["methods"]["same"], result["methods"]["noisy"]
    assert same["flicker_ratio"] == pytest.approx(1.0)
    assert same["detail_incoherence_ratio"] == pytest.approx(1.0)
    expected = relative_flicker(noisy, ref, CUTOFF, velocity)
    assert expected > 3  # fresh noise every frame is flicker
    assert noise["flicker_ratio"] == pytest.approx(expected, rel=1e-5)
    ratio = detail_incoherence(noisy, CUTOFF, velocity) / detail_incoherence(ref, CUTOFF, velocity)
    assert noise["detail_incoherence_ratio"] == pytest.approx(ratio, rel=1e-5)
    psi = smoke_detail_incoherence(noisy, ref, CUTOFF, velocity)
    psi_ref = smoke_detail_incoherence(ref, ref, CUTOFF, velocity)
    assert psi > 1.5 * psi_ref  # fresh noise in the smoke
    assert noise["smoke_detail_incoherence_ratio"] == pytest.approx(psi / psi_ref, rel=1e-5)
    assert same["smoke_detail_incoherence_ratio"] == pytest.approx(1.0)
    assert result["ground_truth"]["smoke_detail_incoherence"] == pytest.approx(psi_ref, rel=1e-5)
    gt = result["ground_truth"]["flicker"]
    assert gt == pytest.approx(detail_changes(ref, CUTOFF, velocity).mean(), rel=1e-5)
    assert len(result["temporal"]["flicker"]["noisy"]) == frames - 1


def test_the_smoke_warp_order_is_checked_and_reaches_the_evaluator():
    from pipelines.evaluate import EvaluateConfig

    settings = EvaluateConfig(smoke_warp_order=1, warp_order=2).metric_settings()
    assert (settings.smoke_warp_order, settings.warp_order) == (1, 2)
    assert EvaluateConfig().metric_settings().smoke_warp_order == 2  # the solver's scheme
    with pytest.raises(ValueError, match="smoke_warp_order must be 1 or 2, got 3"):
        EvaluateConfig(smoke_warp_order=3)
