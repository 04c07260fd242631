"""Temporal coherence: frame differences and the advection warping error."""

from __future__ import annotations

import numpy as np
import pytest

from fluidgan.evaluation.temporal import (
    advect_frames,
    frame_difference_error,
    mean_abs_time_derivative,
    relative_warping_error,
    warping_errors,
)


def moving_blob(frames, shape, speed):
    """A Gaussian blob moving ``speed`` cells per frame along x, far from the borders."""
    y, x = np.meshgrid(np.arange(shape[0]) + 0.5, np.arange(shape[1]) + 0.5, indexing="ij")
    return np.stack(
        [
            np.exp(-((x - 10 - speed * t) ** 2 + (y - shape[0] / 2) ** 2) / 8.0)
            for t in range(frames)
        ]
    ).astype(np.float32)


def test_frame_difference_error():
    ref = moving_blob(5, (20, 40), 2)
    assert frame_difference_error(ref, ref) == 0.0
    frozen = np.repeat(ref[:1], 5, axis=0)  # Δ = 0 everywhere: the whole Δref is missed
    assert frame_difference_error(frozen, ref) == pytest.approx(1.0)
    assert frame_difference_error(ref + 0.3, ref) < 1e-6  # an offset has the same Δ
    np.testing.assert_array_equal(mean_abs_time_derivative(frozen), 0.0)
    assert mean_abs_time_derivative(ref).shape == (4,)


def test_exact_translation_has_no_warping_error():
    seq = moving_blob(4, (20, 40), 2)
    velocity = np.zeros((4, 20, 40, 2), np.float32)
    velocity[..., 0] = 2.0  # x component: 2 cells per frame
    np.testing.assert_allclose(warping_errors(seq, velocity), 0.0, atol=1e-5)  # tails at the border
    frozen = np.repeat(seq[:1], 4, axis=0)
    assert warping_errors(frozen, velocity).min() > 0.05
    assert relative_warping_error(seq, seq, velocity) == 1.0


def test_advect_frames_accepts_one_or_per_frame_velocities_in_3d():
    rng = np.random.default_rng(0)
    frames = rng.random((2, 4, 5, 6)).astype(np.float32)
    velocity = np.zeros((4, 5, 6, 3), np.float32)
    velocity[..., 2] = 1.0  # z component: one cell per frame along the first axis
    moved = advect_frames(frames, velocity)
    np.testing.assert_allclose(moved[:, 1:], frames[:, :-1], atol=1e-6)
    per_frame = advect_frames(frames, np.stack([velocity, 0 * velocity]))
    np.testing.assert_allclose(per_frame[0], moved[0], atol=1e-6)
    np.testing.assert_allclose(per_frame[1], frames[1], atol=1e-6)
