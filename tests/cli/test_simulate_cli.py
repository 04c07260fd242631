"""``fluidgan simulate`` and ``fluidgan info`` as a user runs them (docs/FORMATS.md)."""

from __future__ import annotations

import json
import subprocess
import sys

import h5py
import numpy as np
import pytest

from fluidgan.cli import main
from fluidgan.io.simfile import read_sim
from solvers.lowres import derive_low

SMALL = ["--dim", "2", "--res", "32", "--factor", "4", "--frames", "3", "--quiet"]


def cli(*args: str) -> int:
    with pytest.raises(SystemExit) as exit_info:
        main(list(args))
    return exit_info.value.code


def test_done_when_command_writes_a_contract_dataset(tmp_path):
    """The README's stage-by-stage simulate command, through the installed console script."""
    out = tmp_path / "d"
    cmd = [
        "fluidgan",
        "simulate",
        "--dim",
        "2",
        "--res",
        "64",
        "--factor",
        "4",
        "--sims",
        "2",
        "--frames",
        "8",
        "--seed",
        "7",
        "--out",
        str(out),
    ]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["complete"] == 2 and (out / "config.toml").exists()
    for sim in manifest["sims"]:
        with h5py.File(out / sim["file"]) as f:
            assert f.attrs["format"] == "fluidgan.sim" and f.attrs["dim"] == 2
            assert f["high/density"].shape == (8, 64, 64)
            assert f["high/velocity"].shape == (8, 64, 64, 2)
            assert f["low/density"].shape == (8, 16, 16)
            assert f["low/velocity"].shape == (8, 16, 16, 2)
            assert f["time"].dtype == np.float64
            assert f["high/density"][-1].max() > 0.1  # there is smoke
    info = subprocess.run(
        ["fluidgan", "info", str(out), "--json"], capture_output=True, text=True, timeout=120
    )
    assert json.loads(info.stdout)["complete"] == 2


def test_low_res_is_the_derivation_of_high_res(tmp_path):
    assert cli("simulate", *SMALL, "--seed", "1", "--out", str(tmp_path / "d")) == 0
    data = read_sim(tmp_path / "d" / "sim_00000.h5")
    for t in range(3):
        density, velocity = derive_low(data["high/density"][t], data["high/velocity"][t], 4)
        np.testing.assert_array_equal(density, data["low/density"][t])
        np.testing.assert_array_equal(velocity, data["low/velocity"][t])


def test_same_seed_bit_identical_whatever_workers_and_shards(tmp_path):
    args = [*SMALL, "--sims", "2", "--seed", "5"]
    assert cli("simulate", *args, "--out", str(tmp_path / "a")) == 0
    assert cli("simulate", *args, "--workers", "2", "--out", str(tmp_path / "b")) == 0
    for k in ("0/2", "1/2"):
        assert cli("simulate", *args, "--shard", k, "--out", str(tmp_path / "c")) == 0
    for name in ("sim_00000.h5", "sim_00001.h5"):
        a = (tmp_path / "a" / name).read_bytes()
        assert a == (tmp_path / "b" / name).read_bytes()
        assert a == (tmp_path / "c" / name).read_bytes()


def test_rerun_resumes_and_other_config_needs_overwrite(tmp_path, capsys):
    out = str(tmp_path / "d")
    assert cli("simulate", *SMALL, "--sims", "2", "--shard", "0/2", "--out", out) == 0
    first = (tmp_path / "d" / "sim_00000.h5").stat().st_mtime_ns
    assert cli("simulate", *SMALL, "--sims", "2", "--out", out) == 0
    assert (tmp_path / "d" / "sim_00000.h5").stat().st_mtime_ns == first  # skipped
    assert json.loads((tmp_path / "d" / "manifest.json").read_text())["complete"] == 2
    capsys.readouterr()
    assert cli("simulate", *SMALL, "--sims", "2", "--frames", "4", "--out", out) == 2
    assert "pass --overwrite" in capsys.readouterr().err
    assert cli("simulate", *SMALL, "--frames", "4", "--out", out, "--overwrite") == 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--res", "64x"], "--res '64x'"),
        (["--res", "64x64", "--dim", "3"], "does not match --dim 3"),
        (["--res", "66", "--factor", "4"], "not divisible by factor 4"),
        (["--scene", "nope"], "unknown scene 'nope'"),
        (["--shard", "3/2"], "--shard 3/2"),
        (["--set", "scene.advection=cubic"], "'scene.advection' is 'cubic'"),
        (["--set", "scene.colour=red"], "unknown config key 'scene.colour'"),
        (["--dim", "4"], "--dim"),
        (["--config", "missing.toml"], "missing.toml: no such config file"),
    ],
)
def test_bad_arguments_exit_2_with_one_line(tmp_path, capsys, args, message):
    assert cli("simulate", *args, "--out", str(tmp_path / "d"), "--quiet") == 2
    err = capsys.readouterr().err
    assert message in err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert not (tmp_path / "d").exists()


def test_info_on_a_file_and_on_garbage(tmp_path, capsys):
    assert cli("simulate", *SMALL, "--out", str(tmp_path / "d")) == 0
    capsys.readouterr()
    assert cli("info", str(tmp_path / "d" / "sim_00000.h5")) == 0
    out = capsys.readouterr().out
    assert "frames: 3" in out and "high:" in out
    (tmp_path / "junk.txt").write_text("x")
    assert cli("info", str(tmp_path / "junk.txt")) == 2
    assert "not something fluidgan knows" in capsys.readouterr().err


def test_preview_writes_png_and_gif(tmp_path):
    assert cli("simulate", *SMALL, "--preview", "--out", str(tmp_path / "d")) == 0
    previews = sorted(p.name for p in (tmp_path / "d" / "previews").iterdir())
    assert previews == ["sim_00000.gif", "sim_00000.png"]


def test_module_entry_point_help():
    done = subprocess.run(
        [sys.executable, "-m", "fluidgan", "simulate", "--help"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0 and "--shard" in done.stdout and "Examples" in done.stdout
