"""Stage entry points and their name tables: one upscale entry for both sources, stage
kinds, describers, commands and metric report lines as registries."""

from __future__ import annotations

import pytest

from fluidgan.errors import UserError
from fluidgan.registry import Registry
from pipelines.upscale import UpscaleConfig, resolve_config, upscale


def test_upscale_takes_one_source(tmp_path):
    coarse = resolve_config(scene="plume", dim=2, frames=2)
    assert coarse.simulate is not None and coarse.simulate.scene.name == "plume"
    with pytest.raises(UserError, match="--input and --simulate-scene exclude each other"):
        upscale(tmp_path / "ck.pt", tmp_path / "in.h5", tmp_path / "o.h5", coarse)
    with pytest.raises(UserError, match="in coarse mode use --sim-frames"):
        upscale(tmp_path / "ck.pt", None, tmp_path / "o.h5", coarse, "0:2")
    with pytest.raises(UserError, match="needs an input"):
        upscale(tmp_path / "ck.pt", None, tmp_path / "o.h5", UpscaleConfig())
    assert not any(tmp_path.iterdir())


def test_a_simulate_table_or_set_means_coarse_mode_resolved_like_simulate(tmp_path):
    from solvers.simulation import resolve_simulate_config

    # a [simulate] table named only by --set resolves through the scene preset
    cfg = resolve_config(sets=["simulate.scene.name='plume'", "simulate.scene.frames=3"])
    expected = resolve_simulate_config(scene="plume", frames=3)
    assert cfg.simulate == expected
    # coarse_res is the simulated grid: the high-res grid is factor times it
    cfg = resolve_config(scene="plume", dim=2, coarse_res=[16, 12], factor=4, batch=2)
    assert cfg.simulate.scene.res == [64, 48] and cfg.batch == 2
    with pytest.raises(UserError, match="needs the checkpoint's factor"):
        resolve_config(scene="plume", coarse_res=[16])
    assert resolve_config(tile=8).simulate is None
    # /sr/velocity choices come from their registry
    assert resolve_config(sr_velocity="linear").sr_velocity == "linear"
    with pytest.raises(UserError, match="unknown SR velocity 'cubic'; valid: linear, zero"):
        resolve_config(sets=["sr_velocity='cubic'"])


def test_name_tables_are_registries_with_helpful_errors(tmp_path):
    from fluidgan.cli import COMMANDS
    from pipelines.gan_evaluate import METRIC_TEXT, format_report
    from pipelines.info import DESCRIBERS, describe
    from pipelines.run import STAGES, check_stage

    for table in (COMMANDS, STAGES, DESCRIBERS, METRIC_TEXT):
        assert isinstance(table, Registry)
    assert set(COMMANDS) >= {"simulate", "train", "upscale", "run", "gan", "import"}
    # stage kinds in the order the docs list them; an unknown one names them all
    assert list(STAGES) == ["simulate", "train", "upscale", "export", "evaluate", "preview"]
    with pytest.raises(UserError, match="stage 0: kind 'render'; valid: simulate, train, upscale"):
        check_stage({"kind": "render"}, 0, tmp_path / "p.toml")
    # describers are tried in registration order: a dataset before a run
    assert list(DESCRIBERS)[:2] == ["simulation", "dataset"]
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(UserError, match="not something fluidgan knows \\(simulation, dataset"):
        describe(tmp_path / "notes.txt")
    result = {
        "real": None,
        "fake": {"source": "f.npz", "split": "all", "n": 4, "shape": [8, 8, 1]},
        "features": {"name": "pixels", "dim": 64, "resize": "none", "input": [8, 8, 1]},
        "metrics": {"fid_domain": {"value": 1.5, "n_real": 4, "n_fake": 4}},
        "skipped": {"is_domain": "no logits"},
    }
    assert format_report(result).splitlines()[-2:] == [
        "FID_domain  1.5000  (N_real=4, N_fake=4)",
        "IS_domain   skipped: no logits",
    ]


def test_input_notes_say_what_is_copied_and_what_is_missing(tmp_path):
    import numpy as np

    from fluidgan.inference.sources import LowSequence
    from pipelines.upscale import input_notes

    low = np.zeros((3, 6, 5), np.float32)
    high = {"density": np.zeros((3, 24, 20), np.float32)}
    seq = LowSequence(tmp_path / "in.npz", "npz", low, None, np.arange(3.0), high=high)
    assert input_notes(seq, 4) == (True, ["the input has no velocity: /low/velocity is zeros"])
    copy, notes = input_notes(seq, 2)  # /high is 4x, the generator's factor 2x
    assert not copy and notes[0] == "/high (24, 20) is not 2x /low: not copied"
    velocity = np.zeros((3, 6, 5, 2), np.float32)
    plain = LowSequence(tmp_path / "in.npz", "npz", low, velocity, np.arange(3.0))
    assert input_notes(plain, 4) == (False, [])
