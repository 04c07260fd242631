"""``fluidgan train``'s config: the run's saved config <- --config <- --iterations <- --set,
built in one place for the command line, ``fluidgan run`` and Python callers."""

from __future__ import annotations

import pytest

from fluidgan.config import load_toml, preset_path, save_toml, to_dict
from fluidgan.errors import UserError
from pipelines.train import resolve_config, run_config


def test_layers_of_a_resumed_run(tmp_path):
    save_toml({"iterations": 50, "seed": 11, "batch_size": 6}, tmp_path / "config.toml")
    cfg = resolve_config("cpu_small2d", ["seed=3"], iterations=70, saved=tmp_path)
    preset = load_toml(preset_path("train", "cpu_small2d"))
    assert cfg.iterations == 70 and cfg.seed == 3  # --iterations, then --set win
    # the preset overrides the saved config where it sets a key, the saved config the rest
    assert cfg.batch_size == preset.get("batch_size", 6)
    # without --config the saved config is the base
    assert resolve_config(saved=tmp_path).seed == 11
    # no saved config (a fresh run directory): the defaults
    assert resolve_config(saved=tmp_path / "fresh").seed == resolve_config().seed


def test_a_preset_name_and_its_file_resolve_alike():
    by_name = resolve_config("paper2d", iterations=5)
    by_path = resolve_config(preset_path("train", "paper2d"), iterations=5)
    assert to_dict(by_name) == to_dict(by_path) and by_name.iterations == 5
    # as scene presets: a name without 2d/3d finds its 2D variant
    assert to_dict(resolve_config("paper", iterations=5)) == to_dict(by_name)
    with pytest.raises(UserError, match="unknown train preset 'nosuch'; available: cpu_small2d"):
        resolve_config("nosuch")
    with pytest.raises(UserError, match="unknown config key 'nope'"):
        resolve_config(sets=["nope=1"])


def test_run_config_takes_a_config_object_data_or_the_saved_one(tmp_path):
    base = resolve_config("cpu_small2d")
    assert run_config(base, tmp_path, False, 9).iterations == 9
    assert run_config(to_dict(base), tmp_path, False, None) == base
    save_toml({"seed": 5}, tmp_path / "config.toml")
    assert run_config(None, tmp_path, True, None).seed == 5
    assert run_config(None, tmp_path, False, None).seed == resolve_config().seed
