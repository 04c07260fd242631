"""Coarse simulation as a source of low-res frames, and what it saves: the solver's
seconds per frame at coarse and at high resolution, timed alike."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import numpy as np


def simulate_frames(smoke, frames: int) -> Iterator[tuple[float, np.ndarray, np.ndarray, float]]:
    """(time, density, velocity, seconds of this frame) for ``frames`` frames of a
    :class:`solvers.smoke.Smoke`."""
    for _ in range(frames):
        start = time.perf_counter()
        smoke.advance_frame()
        density, velocity = smoke.frame()
        yield smoke.time, density, velocity, time.perf_counter() - start


def timed_frames(
    smoke, frames: int, skip: int, seconds: list[float]
) -> Iterator[tuple[float, np.ndarray, np.ndarray]]:
    """:func:`simulate_frames` without the first ``skip`` frames (simulated all the same:
    the state depends on them), each frame's seconds appended to ``seconds``."""
    for i, (t, density, velocity, spent) in enumerate(simulate_frames(smoke, frames)):
        seconds.append(spent)
        if i >= skip:
            yield t, density, velocity


def frame_seconds(times: list[float]) -> float:
    """Mean seconds per frame, the first left out when there are more (JIT, cache loads)."""
    kept = times[1:] if len(times) > 1 else times
    return float(np.mean(kept)) if kept else 0.0


def high_res_cost(scene, frames: int) -> dict[str, Any]:
    """Seconds per frame of the same concrete scene at high resolution: its warm-up frames
    untimed, then saved frames 1..``frames`` timed (frame 0 holds one-off setup costs)."""
    from solvers.smoke import Smoke

    smoke = Smoke(scene)
    for _ in simulate_frames(smoke, scene.warmup):
        pass
    times = [t for *_, t in simulate_frames(smoke, frames + 1)][1:]
    return {"frames": frames, "s_per_frame": float(np.mean(times)), "seconds": times}


def coarse_cost(
    sim_times: list[float], upscale_s_per_frame: float, coarse, high, compare_frames: int
) -> dict[str, Any]:
    """Seconds per frame of the coarse simulation of scene ``coarse`` (``sim_times``: its
    warm-up frames, then the saved ones) and of the upscaling; with ``compare_frames`` K
    > 0, of the high-res simulation of ``high`` over saved frames 1..K and the speed-up
    over the coarse run's same frames (like for like: the solver's cost grows as smoke
    fills the domain, the generator's does not)."""
    cost: dict[str, Any] = {
        "coarse_sim_s_per_frame": frame_seconds(sim_times),
        "upscale_s_per_frame": upscale_s_per_frame,
        "warmup_frames": coarse.warmup,
        "coarse_grid": list(coarse.res),
        "high_grid": list(high.res),
    }
    cost["coarse_total_s_per_frame"] = cost["coarse_sim_s_per_frame"] + upscale_s_per_frame
    if compare_frames > 0:
        k = compare_frames
        same = frame_seconds(sim_times[coarse.warmup :][: k + 1])
        reference = high_res_cost(high, k)
        cost["high_sim_s_per_frame"] = reference["s_per_frame"]
        cost["high_sim_frames_timed"] = k
        cost["coarse_sim_s_per_frame_same_frames"] = same
        cost["speedup"] = reference["s_per_frame"] / (same + upscale_s_per_frame)
    return cost
