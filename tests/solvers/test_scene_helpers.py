"""The coarse version of a scene, the solver record of a simulation file, and the
simulation set's config resolved from a scene preset."""

from __future__ import annotations

import pytest

from fluidgan.errors import UserError
from solvers.scene import PressureSpec, SceneConfig, SourceSpec, coarse_scene, solver_settings
from solvers.simulation import resolve_simulate_config


def scene() -> SceneConfig:
    return SceneConfig(
        res=[96, 64],
        factor=4,
        dt=0.5,
        substeps=3,
        sources=[
            SourceSpec(kind="velocity", velocity=[8.0, -2.0, 0.0]),
            SourceSpec(kind="density", density=0.7),
        ],
    )


def test_coarse_scene_keeps_the_physics_per_time_unit():
    high = scene()
    coarse = coarse_scene(high, 4)
    assert coarse.res == [24, 16] and coarse.factor == 1
    # one step per frame of the same length: the frame's duration is unchanged
    assert coarse.substeps == 1 and coarse.dt * coarse.substeps == high.dt * high.substeps
    # cells per time unit: a coarse cell is 4 high-res cells wide
    assert coarse.sources[0].velocity == [2.0, -0.5, 0.0]
    assert coarse.sources[1].density == 0.7 and coarse.sources[1].velocity == [0.0, 0.0, 0.0]
    assert high.sources[0].velocity == [8.0, -2.0, 0.0]  # the high-res scene is left alone
    assert (coarse.frames, coarse.warmup, coarse.name) == (high.frames, high.warmup, high.name)


def test_solver_settings_record_what_computed_the_frames():
    s = scene()
    s.pressure = PressureSpec(method="jacobi", tol=1e-5)
    settings = solver_settings(s)
    assert settings["pressure"] == {
        "method": "jacobi",
        "tol": 1e-5,
        "tol_mode": "absolute",
        "max_iter": 2000,
    }
    assert (settings["dt"], settings["substeps"], settings["advection"]) == (0.5, 3, "maccormack")


def test_simulate_config_from_a_scene_preset_and_options():
    cfg = resolve_simulate_config(scene="plume", dim=3, frames=4, sims=2, seed=9)
    assert cfg.scene.dim == 3 and len(cfg.scene.res) == 3 and cfg.scene.frames == 4
    assert (cfg.sims, cfg.seed) == (2, 9)
    # --dim other than the preset's keeps the preset's width on every axis
    cfg = resolve_simulate_config(scene="bench3d", dim=2)
    assert cfg.scene.dim == 2 and cfg.scene.res[0] == cfg.scene.res[1]
    # a config given as data, without a preset; --set wins over explicit options
    cfg = resolve_simulate_config(
        config_file={"scene": {"res": [40, 48]}}, frames=3, sets=["scene.frames=5"]
    )
    assert cfg.scene.res == [40, 48] and cfg.scene.frames == 5
    with pytest.raises(UserError, match="--res 32x32x32 does not match --dim 2"):
        resolve_simulate_config(dim=2, res=[32, 32, 32])
