"""The training stage end to end on a tiny synthetic dataset: resume, ablations, NaN stop."""

from __future__ import annotations

import csv
import itertools
import math
import signal

import pytest
import torch

from fluidgan.errors import UserError
from fluidgan.train import checkpoint as ckpt
from fluidgan.train import loop
from fluidgan.train.logging import read_metrics
from fluidgan.train.loop import TrainingDiverged
from fluidgan.train.losses import l1_loss
from pipelines.train import train


def interrupt_at(iteration: int):
    """An after_iteration hook that sends this process SIGINT after ``iteration``."""

    def hook(done, metrics, trainer):
        if done == iteration:
            signal.raise_signal(signal.SIGINT)

    return hook


FAST = {"generator": "fast", "fast": {"width": 8, "blocks": 1}, "input_residual": "linear"}
EMA = {"ema_decay": 0.75, "ema_start": 1}  # the EMA of G's weights, averaging across the resume


@pytest.mark.parametrize(
    "model, amp, ema",
    [({}, "off", {}), (FAST, "off", {}), (FAST, "bf16", {}), (FAST, "bf16", EMA)],
    ids=["tempogan", "fast", "fast-bf16", "fast-bf16-ema"],
)
def test_interrupted_and_resumed_run_repeats_the_uninterrupted_losses(
    dataset2d, tiny_config, tmp_path, model, amp, ema
):
    tiny_config.update(preview_every=0, checkpoint_every=100, amp=amp, **ema)
    tiny_config["model"].update(model)
    straight = train(tiny_config, dataset2d, tmp_path / "a", device="cpu")
    assert straight["status"] == "completed" and straight["iterations"] == 4

    handler = signal.getsignal(signal.SIGINT)  # SIG_IGN when pytest runs in the background
    first = train(
        tiny_config, dataset2d, tmp_path / "b", device="cpu", after_iteration=interrupt_at(2)
    )
    assert first["status"] == "interrupted" and first["signal"] == "SIGINT"
    assert first["iterations"] == 2 and first["checkpoint"].endswith("ckpt_00000002.pt")
    assert signal.getsignal(signal.SIGINT) is handler  # restored
    second = train(None, dataset2d, tmp_path / "b", device="cpu", resume=True)
    assert second["status"] == "completed" and second["iterations"] == 4

    rows_a, rows_b = read_metrics(tmp_path / "a"), read_metrics(tmp_path / "b")
    assert [r["iteration"] for r in rows_b] == [1, 2, 3, 4]
    # The wall clock goes on from the checkpoint's time: one increasing series.
    times = [r.pop("time") for r in rows_b]
    assert all(0 < a < b for a, b in itertools.pairwise(times))
    for r in rows_a:
        del r["time"]
    assert rows_a == rows_b  # every loss of every iteration, exactly
    a = torch.load(straight["checkpoint"], weights_only=True)
    b = torch.load(second["checkpoint"], weights_only=True)
    networks = ("generator", "spatial_discriminator", "temporal_discriminator")
    for key in networks + (("generator_ema",) if ema else ()):
        for name, tensor in a[key].items():
            assert torch.equal(tensor, b[key][name]), (key, name)
    assert ("generator_ema" in a) == bool(ema)


def test_sigterm_during_an_iteration_checkpoints_that_iteration(dataset2d, tiny_config, tmp_path):
    tiny_config.update(iterations=6, checkpoint_every=2, preview_every=0)

    def terminate_at_3(done, metrics, trainer):
        if done == 3:
            signal.raise_signal(signal.SIGTERM)

    run = tmp_path / "run"
    result = train(tiny_config, dataset2d, run, device="cpu", after_iteration=terminate_at_3)
    assert result["status"] == "interrupted" and result["signal"] == "SIGTERM"
    assert result["iterations"] == 3 and result["checkpoint"].endswith("ckpt_00000003.pt")
    assert [p.name for p in ckpt.list_checkpoints(run)] == ["ckpt_00000002.pt", "ckpt_00000003.pt"]
    assert [r["iteration"] for r in read_metrics(run)] == [1, 2, 3]
    assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL


def test_resume_drops_log_rows_written_after_the_checkpoint(dataset2d, tiny_config, tmp_path):
    tiny_config.update(iterations=3, checkpoint_every=2, preview_every=0)
    run = tmp_path / "run"
    train(tiny_config, dataset2d, run, device="cpu")
    (run / "checkpoints" / "ckpt_00000003.pt").unlink()  # as if killed before saving 3
    result = train(None, dataset2d, run, iterations=4, device="cpu", resume=True)
    assert result["iterations"] == 4
    assert [r["iteration"] for r in read_metrics(run)] == [1, 2, 3, 4]
    with (run / "metrics.csv").open() as f:
        assert [int(r["iteration"]) for r in csv.DictReader(f)] == [1, 2, 3, 4]
    assert [p.name for p in ckpt.list_checkpoints(run)] == ["ckpt_00000002.pt", "ckpt_00000004.pt"]


def test_outputs_of_a_run(dataset2d, tiny_config, tmp_path):
    run = tmp_path / "run"
    result = train(tiny_config, dataset2d, run, device="cpu")
    assert (run / "config.toml").is_file()
    assert sorted(p.name for p in (run / "previews").iterdir()) == [
        "preview_00000002.png",
        "preview_00000004.png",
    ]
    assert result["preview"].endswith("preview_00000004.png")
    assert (run / "curves.png").is_file()
    rows = read_metrics(run)
    assert len(rows) == 4
    assert {"d_s/loss", "d_t/loss", "g/l1", "g/feature", "g/adv_s", "g/adv_t", "lr"} <= set(rows[0])
    assert "val/l1" in rows[1] and "val/l1" not in rows[0]
    assert rows[1]["val/l1_interp"] == rows[3]["val/l1_interp"]  # fixed validation tiles
    # Constant for the first half (0-based iterations 0, 1, and 2 where the decay starts),
    # then polynomial decay towards 5 % at the end.
    assert [r["lr"] for r in rows] == pytest.approx(
        [2e-4, 2e-4, 2e-4, 2e-4 * (0.95 * 0.5**1.1 + 0.05)]
    )
    with (run / "metrics.csv").open() as f:
        table = list(csv.DictReader(f))
    assert len(table) == 4 and float(table[3]["g/l1"]) == pytest.approx(rows[3]["g/l1"])


@pytest.mark.parametrize(
    "switches, present, absent",
    [
        (
            {"ablation": {"spatial_discriminator": False}},
            {"d_t/loss", "g/adv_t"},
            {"d_s/loss", "g/adv_s", "g/feature"},
        ),
        ({"ablation": {"temporal": "l2"}}, {"g/l2_t", "d_s/loss"}, {"d_t/loss", "g/adv_t"}),
        ({"ablation": {"temporal": "off"}}, {"d_s/loss"}, {"d_t/loss", "g/adv_t", "g/l2_t"}),
        ({"ablation": {"advection": False}}, {"d_t/loss", "g/adv_t"}, set()),
        ({"data": {"channels": "rho"}}, {"g/l1"}, set()),
        ({"data": {"channels": "rho+v"}}, {"g/l1"}, set()),
    ],
)
def test_ablation_switches(dataset2d, tiny_config, tmp_path, switches, present, absent):
    tiny_config.update(iterations=1, preview_every=1)
    for section, values in switches.items():
        tiny_config.setdefault(section, {}).update(values)
    result = train(tiny_config, dataset2d, tmp_path / "run", device="cpu")
    keys = set(result["metrics"])
    assert present <= keys and not (absent & keys)
    assert all(math.isfinite(v) for v in result["metrics"].values())


def test_a_nan_loss_stops_the_run_and_keeps_the_last_good_checkpoint(
    dataset2d, tiny_config, tmp_path, monkeypatch
):
    # The L1 term turns NaN in the first generator update of iteration 2 (its 3rd call);
    # the NaN gradient then poisons G, as a real divergence would.
    calls = []

    def poisoned_l1(generated, target):
        calls.append(1)
        value = l1_loss(generated, target)
        return value * float("nan") if len(calls) == 3 else value

    monkeypatch.setattr(loop, "l1_loss", poisoned_l1)
    tiny_config.update(checkpoint_every=1, preview_every=0)
    run = tmp_path / "run"
    with pytest.raises(TrainingDiverged, match=r"g/.* = nan at iteration 2.*ckpt_00000001\.pt"):
        train(tiny_config, dataset2d, run, device="cpu")
    assert [p.name for p in ckpt.list_checkpoints(run)] == ["ckpt_00000001.pt"]
    rows = read_metrics(run)
    assert [r["iteration"] for r in rows] == [1, 2] and rows[1]["g/l1"] == "nan"
    state = ckpt.load_checkpoint(run)
    assert all(torch.isfinite(t).all() for t in state["generator"].values())


def test_run_directory_rules(dataset2d, tiny_config, tmp_path):
    tiny_config.update(iterations=1, preview_every=0)
    run = tmp_path / "run"
    with pytest.raises(UserError, match="no checkpoint to resume"):
        train(tiny_config, dataset2d, run, device="cpu", resume=True)
    train(tiny_config, dataset2d, run, device="cpu")
    with pytest.raises(UserError, match="already holds a run"):
        train(tiny_config, dataset2d, run, device="cpu")
    done = train(None, dataset2d, run, device="cpu", resume=True)  # nothing left to do
    assert done["iterations"] == 1 and done["status"] == "completed"
    tiny_config["model"]["generator_widths"] = [[2, 2], [2, 2], [2, 2], [2, 1]]
    with pytest.raises(UserError, match="does not match"):
        train(tiny_config, dataset2d, run, iterations=2, device="cpu", resume=True)


def test_cuda_request_without_cuda_is_a_user_error(dataset2d, tiny_config, tmp_path):
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    with pytest.raises(UserError, match="CUDA is not available"):
        train(tiny_config, dataset2d, tmp_path / "run", device="cuda")
