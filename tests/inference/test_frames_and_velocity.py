"""Frame batching for the generator, the /sr velocity choices and the coarse-mode cost."""

from __future__ import annotations

import numpy as np
import pytest

from fluidgan.errors import UserError
from fluidgan.inference.coarse import coarse_cost, frame_seconds
from fluidgan.inference.frames import Frames, stacked_batches
from fluidgan.inference.velocity import SR_VELOCITY
from solvers.scene import SceneConfig


def frames(n: int, shape=(4, 5)):
    rng = np.random.default_rng(0)
    for t in range(n):
        yield float(t), rng.random(shape, np.float32), rng.random((*shape, 2), np.float32)


def test_stacked_batches_keep_every_frame_in_order():
    whole = list(frames(7))
    batches = list(stacked_batches(iter(whole), 3))
    assert [len(b.time) for b in batches] == [3, 3, 1]
    assert np.array_equal(np.concatenate([b.time for b in batches]), np.arange(7.0))
    density = np.concatenate([b.density for b in batches])
    velocity = np.concatenate([b.velocity for b in batches])
    assert np.array_equal(density, np.stack([d for _, d, _ in whole]))
    assert np.array_equal(velocity, np.stack([v for *_, v in whole]))
    assert list(stacked_batches(iter([]), 3)) == []


def test_frames_check_and_zero_velocity():
    b = Frames(np.array([1.0, 2.0]), np.ones((2, 4, 4), np.float32), None)
    assert b.velocity_or_zeros().shape == (2, 4, 4, 2) and not b.velocity_or_zeros().any()
    b.density[1, 2, 3] = np.nan
    with pytest.raises(UserError, match="in.h5: a frame between times 1 and 2 is not finite"):
        b.check_finite("in.h5")
    v = Frames(np.array([0.0]), np.ones((1, 4, 4, 4), np.float32), np.ones((1, 4, 4, 4, 3)))
    v.velocity[0, 0, 0, 0, 2] = np.inf
    with pytest.raises(UserError, match="not finite"):
        v.check_finite("x")


def test_sr_velocity_linear_scales_a_uniform_flow_and_zero_is_zero():
    low = np.empty((2, 6, 5, 2), np.float32)
    low[..., 0], low[..., 1] = 0.5, -0.25  # low-res cells per frame
    up = SR_VELOCITY["linear"](low, 4)
    assert up.shape == (2, 24, 20, 2)
    # the same motion in high-res cells per frame: 4x the low-res cells
    assert np.allclose(up[..., 0], 2.0) and np.allclose(up[..., 1], -1.0)
    zero = SR_VELOCITY["zero"](np.ones((1, 3, 3, 3, 3), np.float32), 2)
    assert zero.shape == (1, 6, 6, 6, 3) and not zero.any()
    with pytest.raises(UserError, match="unknown SR velocity 'cubic'; valid: linear, zero"):
        SR_VELOCITY["cubic"]


def test_coarse_cost_from_frame_times():
    coarse = SceneConfig(res=[32, 32], factor=1, warmup=2)
    high = SceneConfig(res=[128, 128], warmup=2)
    # 2 warm-up frames, then 4 saved ones; the first time (JIT) is left out of the mean
    times = [9.0, 1.0, 1.0, 3.0, 1.0, 1.0]
    cost = coarse_cost(times, 0.5, coarse, high, compare_frames=0)
    assert cost["coarse_sim_s_per_frame"] == pytest.approx(7.0 / 5)
    assert cost["coarse_total_s_per_frame"] == pytest.approx(7.0 / 5 + 0.5)
    assert (cost["coarse_grid"], cost["high_grid"], cost["warmup_frames"]) == (
        [32, 32],
        [128, 128],
        2,
    )
    assert "speedup" not in cost
    assert frame_seconds([]) == 0.0 and frame_seconds([4.0]) == 4.0
