"""``benchmarks/probe_discriminator.py``: D_s alone against a frozen generator."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest
import torch

from fluidgan.train import checkpoint as ckpt
from pipelines.train import train

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def probe():
    spec = importlib.util.spec_from_file_location(
        "probe_discriminator", ROOT / "benchmarks" / "probe_discriminator.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("joint", [False, True])
def test_the_probe_trains_d_s_only_and_reports_every_50_updates(
    probe, tiny_config, dataset2d, tmp_path, monkeypatch, capsys, joint
):
    run = tmp_path / "run"
    train(tiny_config, dataset2d, run, device="cpu")
    saved = ckpt.load_checkpoint(ckpt.latest_checkpoint(run))
    trainers = []
    make = probe.probe_trainer
    monkeypatch.setattr(
        probe, "probe_trainer", lambda args: trainers.append(make(args)) or trainers[-1]
    )
    args = ["--run", str(run), "--data", str(dataset2d), "--steps", "100", "--fake", "bilinear"]
    probe.main([*args, *(["--joint"] if joint else [])])
    trainer = trainers[0]
    for k, v in trainer.nets["generator"].state_dict().items():  # G is frozen
        assert torch.equal(v, saved["generator"][k]), k
    moved = [
        not torch.equal(v, saved["spatial_discriminator"][k])
        for k, v in trainer.nets["spatial"].state_dict().items()
        if k.endswith("weight")
    ]
    assert all(moved)  # every D_s layer was updated
    assert trainer.nets["temporal"].state_dict().keys()  # present, untouched by the probe
    lines = re.findall(
        r"^\s+(\d+)\s+P\(real \| real\) ([\d.]+)\s+P\(real \| fake\) ([\d.]+)$",
        capsys.readouterr().out,
        re.M,
    )
    assert [int(step) for step, _, _ in lines] == [50, 100]
    for _, real, fake in lines:
        assert 0.0 < float(real) < 1.0 and 0.0 < float(fake) < 1.0
