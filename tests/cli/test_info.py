"""``fluidgan info`` on every kind of path it knows: dataset, simulation, run, checkpoint."""

from __future__ import annotations

import json

import pytest

from fluidgan.cli import main

TINY_TRAIN = [
    "iterations=1",
    "batch_size=3",
    "validation_samples=2",
    "preview_every=0",
    "tensorboard=false",
    "data.tile=8",
    "data.workers=0",
    "data.val_fraction=0.5",
    "model.generator_widths=[[4,8],[8,8],[4,4],[2,1]]",
    "model.discriminator_widths=[4,8,8,8]",
]


def run_cli(*args: str) -> int:
    with pytest.raises(SystemExit) as e:
        main(list(args))
    return e.value.code


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp("info")
    data, run = root / "d", root / "run"
    sim = ["simulate", "--res", "32", "--factor", "2", "--sims", "2", "--frames", "3"]
    assert run_cli(*sim, "--out", str(data), "--quiet") == 0
    sets = [a for s in TINY_TRAIN for a in ("--set", s)]
    train = ["train", "--data", str(data), "--out", str(run), "--device", "cpu", "--quiet"]
    assert run_cli(*train, *sets) == 0
    return data, run


def info(path, capsys) -> dict:
    assert run_cli("info", str(path), "--json") == 0
    return json.loads(capsys.readouterr().out)


def test_info_knows_datasets_sims_runs_and_checkpoints(trained, capsys):
    data, run = trained
    dataset = info(data, capsys)
    assert dataset["kind"] == "dataset" and dataset["complete"] == 2
    assert dataset["res"] == [32, 32] and dataset["low_res"] == [16, 16]
    sim = info(data / "sim_00000.h5", capsys)
    assert sim["kind"] == "simulation" and sim["groups"]["low"]["shape"] == [3, 16, 16]
    described = info(run, capsys)
    assert described["kind"] == "run" and described["iteration"] == 1
    assert described["checkpoints"] == ["ckpt_00000001.pt"]
    ckpt = info(run / "checkpoints" / "ckpt_00000001.pt", capsys)
    assert ckpt["kind"] == "checkpoint" and ckpt["model"]["factor"] == 2
    assert ckpt["parameters"]["generator"] > 0


def test_info_rejects_what_it_does_not_know(tmp_path, capsys):
    stray = tmp_path / "notes.txt"
    stray.write_text("hello")
    assert run_cli("info", str(stray)) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and "notes.txt" in err and "\n" not in err
    broken = tmp_path / "broken.pt"
    broken.write_bytes(b"not a checkpoint")
    assert run_cli("info", str(broken)) == 2
    assert "not a readable checkpoint" in capsys.readouterr().err
