"""``benchmarks/probe_discriminator.py``: D_s or D_t alone against a frozen generator."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path
from types import SimpleNamespace

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


def probe_args(run: Path, data: Path, steps: int, *extra: str) -> list[str]:
    """The probe's command line on ``run`` and its data, ``steps`` updates, and ``extra``."""
    return ["--run", str(run), "--data", str(data), "--steps", str(steps), *extra]


def captured_trainers(probe, monkeypatch) -> list:
    """The trainers the probe builds, appended as it builds them."""
    trainers = []
    make = probe.probe_trainer
    monkeypatch.setattr(
        probe, "probe_trainer", lambda args: trainers.append(make(args)) or trainers[-1]
    )
    return trainers


@pytest.mark.parametrize("joint", [False, True])
def test_the_probe_trains_d_s_only_and_reports_every_50_updates(
    probe, tiny_run2d, dataset2d, monkeypatch, capsys, joint
):
    saved = ckpt.load_checkpoint(ckpt.latest_checkpoint(tiny_run2d))
    trainers = captured_trainers(probe, monkeypatch)
    args = probe_args(tiny_run2d, dataset2d, 100, "--fake", "bilinear")
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


def test_the_temporal_probe_trains_d_t_only(probe, tiny_run2d, dataset2d, monkeypatch):
    saved = ckpt.load_checkpoint(ckpt.latest_checkpoint(tiny_run2d))
    trainers = captured_trainers(probe, monkeypatch)
    aligned = []
    align = probe.Trainer.align
    monkeypatch.setattr(
        probe.Trainer, "align", lambda self, y, v: aligned.append(y.shape) or align(self, y, v)
    )
    args = probe_args(tiny_run2d, dataset2d, 50, "--disc", "temporal", "--fake", "jitter")
    probe.main([*args, "--jitter", "1"])
    nets = trainers[0].nets
    assert nets["temporal"].input == "frames"  # the run's
    for name, key in (("generator", "generator"), ("spatial", "spatial_discriminator")):
        for k, v in nets[name].state_dict().items():  # G and D_s are untouched
            assert torch.equal(v, saved[key][k]), (name, k)
    moved = [
        not torch.equal(v, saved["temporal_discriminator"][k])
        for k, v in nets["temporal"].state_dict().items()
        if k.endswith("weight")
    ]
    assert all(moved)  # every D_t layer was updated
    assert len(aligned) == 100  # real and fake triplets warped like training's, every update
    assert all(len(shape) == 5 and shape[1] == 3 for shape in aligned)


def test_the_temporal_probe_takes_another_d_t_input(probe, tiny_run2d, dataset2d, monkeypatch):
    trainers = captured_trainers(probe, monkeypatch)
    args = probe_args(tiny_run2d, dataset2d, 1, "--disc", "temporal", "--fresh-d")
    probe.main([*args, "--temporal-input", "differences"])
    assert trainers[0].nets["temporal"].input == "differences"


def test_detail_band_splits_at_the_low_res_nyquist(probe):
    checker = (torch.arange(16)[:, None] + torch.arange(16)[None, :]) % 2 * 2.0 - 1.0
    ramp = torch.linspace(0, 1, 16)[None, :].expand(16, 16)
    high = (0.3 + 0.2 * checker)[None, None]
    smooth, detail = probe.detail_band(high, 4)
    assert torch.allclose(smooth, torch.full_like(high, 0.3))  # 4×4 means of a checkerboard
    assert torch.allclose(detail, 0.2 * checker[None, None])
    stripes = torch.tensor([1.0, 1.0, -1.0, -1.0]).repeat(4)[None, :].expand(16, 16)
    smooth, detail = probe.detail_band((0.5 + 0.1 * stripes)[None, None], 4)  # period 4
    assert torch.allclose(smooth, torch.full_like(smooth, 0.5))  # a low-res cell's mean
    assert torch.allclose(detail, 0.1 * stripes[None, None])
    smooth, detail = probe.detail_band(ramp[None, None].clone(), 4)
    assert torch.allclose(smooth + detail, ramp[None, None])
    assert detail[..., 2:-2].abs().max() < 0.02 < 0.1 < ramp.max() - ramp.min()  # smooth stays


def test_the_jitter_fake_shifts_each_frames_detail_alone(probe):
    torch.manual_seed(3)
    high = torch.rand(6, 1, 16, 12)
    trainer = SimpleNamespace(spec=SimpleNamespace(factor=4))
    args = SimpleNamespace(jitter=2)
    fake = probe.jitter_fake(trainer, None, high, args)
    smooth, detail = probe.detail_band(high, 4)
    offsets = []
    for f, d, s in zip(fake, detail, smooth, strict=True):
        found = [
            (dy, dx)
            for dy in range(-2, 3)
            for dx in range(-2, 3)
            if torch.allclose(f - s, torch.roll(d, (dy, dx), dims=(1, 2)), atol=1e-6)
        ]
        assert len(found) == 1 and found[0] != (0, 0)  # a real shift, within ±2 cells
        offsets.append(found[0])
    assert len(set(offsets)) > 1  # frames move independently: flicker, not a drift


def test_detail_change_is_zero_for_detail_carried_by_the_flow(probe):
    """Smoke moving +x at one low-res cell (four high-res cells) per frame: on the raw
    frames the detail band changes as much as unrelated detail would; after D_t's warp
    with that velocity it barely changes (the wrapped-around edge strip aside)."""
    torch.manual_seed(0)
    base = torch.nn.functional.avg_pool2d(torch.rand(1, 1, 66, 66), 3, 1)  # some smoothness
    frames = torch.stack([torch.roll(base, 4 * k, dims=3) for k in range(3)], 1)  # (1, 3, 1, …)
    velocity = torch.zeros(1, 3, 2, 16, 16)
    velocity[:, :, 0] = 1.0  # x component, low cells per frame
    trainer = SimpleNamespace(
        spec=SimpleNamespace(factor=4),
        cfg=SimpleNamespace(ablation=SimpleNamespace(advection_order=1)),
    )
    change, energy = probe.detail_change(trainer, frames, velocity, warp=False)
    assert 1.5 < change / energy < 2.5  # rolled by 4 cells: as good as unrelated
    change, energy = probe.detail_change(trainer, frames, velocity, warp=True)
    assert change / energy < 0.15
    still = frames[:, [1, 1, 1]]
    change, energy = probe.detail_change(trainer, still, torch.zeros_like(velocity), warp=True)
    assert change < 1e-6 * energy
    velocity[:, :, 0], velocity[:, :, 1] = 0.0, 1.0  # the same speed along y: no help
    change, energy = probe.detail_change(trainer, frames, velocity, warp=True)
    assert change / energy > 1.5


def test_coherence_measures_a_run_trained_without_triplets(
    probe, tiny_config, dataset2d, tmp_path, capsys
):
    tiny_config["ablation"] = {"temporal": "off"}  # the D_s-only arm: no triplets drawn
    train(tiny_config, dataset2d, tmp_path / "run", device="cpu")
    probe.main(probe_args(tmp_path / "run", dataset2d, 2, "--coherence"))
    assert re.search(r"^generator\s+[\d.]+\s+[\d.]+", capsys.readouterr().out, re.M)


def test_coherence_reports_the_truth_and_every_fake(probe, tiny_run2d, dataset2d, capsys):
    probe.main(probe_args(tiny_run2d, dataset2d, 3, "--coherence"))
    out = capsys.readouterr().out
    rows = dict(
        (name, (float(w), float(r), float(e)))
        for name, w, r, e in re.findall(r"^(\w+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)$", out, re.M)
    )
    assert set(rows) == {"truth", "generator", "bilinear", "jitter"}
    assert rows["truth"][2] == 1.0
    assert rows["jitter"][0] > rows["truth"][0]  # made-to-order flicker is measured as such


def test_the_jitter_fake_never_leaves_a_frame_in_place(probe, monkeypatch):
    draws = iter([torch.tensor([0, 0]), torch.tensor([1, -2])])  # a zero draw is redrawn
    monkeypatch.setattr(probe.torch, "randint", lambda *a, **k: next(draws))
    high = torch.rand(1, 1, 16, 16)
    trainer = SimpleNamespace(spec=SimpleNamespace(factor=4))
    fake = probe.jitter_fake(trainer, None, high, SimpleNamespace(jitter=2))
    smooth, detail = probe.detail_band(high, 4)
    assert torch.allclose(fake, smooth + torch.roll(detail, (1, -2), dims=(2, 3)), atol=1e-6)
