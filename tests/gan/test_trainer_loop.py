"""The GAN zoo's trainer in the shared loop skeleton: a stop request mid-run, a NaN, resume,
the optimiser table and the config class names."""

from __future__ import annotations

import dataclasses
import json
import math
import signal

import gan_settings
import pytest
import torch

from fluidgan.cli import main
from fluidgan.errors import UserError
from fluidgan.gan import config as gan_config
from fluidgan.gan import trainer
from fluidgan.gan.config import load_config
from fluidgan.loop import TrainingDiverged
from fluidgan.optim import OPTIMIZERS
from fluidgan.train import config as train_config

TINY = [*gan_settings.TINY, "train.sample_every=100", "train.checkpoint_every=100"]


def losses(run_dir) -> list[dict]:
    lines = (run_dir / trainer.LOG).read_text().splitlines()
    return [r for r in map(json.loads, lines) if "metrics" not in r]


def weights(run_dir) -> dict[str, torch.Tensor]:
    state = trainer.read_checkpoint(run_dir)
    return {f"{r}.{k}": v for r, sd in state["models"].items() for k, v in sd.items()}


def patch_step(monkeypatch, at: int, action) -> None:
    """Call ``action(logs)`` on the losses of training iteration ``at`` (1-based)."""
    original, calls = trainer.train_step, []

    def step(run):
        logs = original(run)
        calls.append(1)
        if len(calls) == at:
            action(logs)
        return logs

    monkeypatch.setattr(trainer, "train_step", step)


def test_sigterm_mid_run_checkpoints_that_iteration_and_resume_repeats_the_straight_run(
    tmp_path, monkeypatch
):
    cfg = load_config("dcgan", sets=TINY)
    trainer.train(cfg, tmp_path / "straight", iterations=5)
    patch_step(monkeypatch, 2, lambda logs: signal.raise_signal(signal.SIGTERM))
    first = trainer.train(cfg, tmp_path / "split", iterations=5)
    assert first["status"] == "interrupted" and first["iterations"] == 2
    assert trainer.read_checkpoint(tmp_path / "split")["iteration"] == 2
    assert (tmp_path / "split" / "samples" / "iter_000002.png").is_file()  # end-of-run grid
    assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL
    monkeypatch.undo()
    second = trainer.train(cfg, tmp_path / "split", iterations=5, resume=True)
    assert second["status"] == "completed" and second["iterations"] == 5
    straight, split = losses(tmp_path / "straight"), losses(tmp_path / "split")
    assert [r["iteration"] for r in split] == [1, 2, 3, 4, 5]
    assert split == straight  # bit for bit
    a, b = weights(tmp_path / "straight"), weights(tmp_path / "split")
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_a_nan_stops_naming_the_loss_and_keeps_the_last_checkpoint(tmp_path, monkeypatch):
    cfg = load_config("dcgan", sets=[*TINY, "train.checkpoint_every=1"])
    patch_step(monkeypatch, 3, lambda logs: logs.update(g_loss=math.nan))
    with pytest.raises(TrainingDiverged) as info:
        trainer.train(cfg, tmp_path, iterations=5)
    message = str(info.value)
    assert message.startswith("training diverged: g_loss = nan at iteration 3;"), message
    assert str(tmp_path / "checkpoint.pt") in message and "\n" not in message
    assert trainer.read_checkpoint(tmp_path)["iteration"] == 2
    assert [r["iteration"] for r in losses(tmp_path)] == [1, 2]


def test_the_command_line_says_a_divergence_in_one_line(tmp_path, monkeypatch, capsys):
    patch_step(monkeypatch, 1, lambda logs: logs.update(d_loss=math.inf))
    sets = [a for s in TINY for a in ("--set", s)]
    with pytest.raises(SystemExit) as e:
        main(["gan", "train", "dcgan", "--out", str(tmp_path), "--iterations", "2", "-q", *sets])
    err = capsys.readouterr().err
    assert e.value.code == 1
    assert err.count("\n") == 1 and err.count("training diverged") == 1, err
    assert "d_loss = inf at iteration 1" in err and "none was written yet" in err, err


def test_the_config_check_and_the_trainer_read_one_optimiser_table(monkeypatch):
    monkeypatch.setitem(
        OPTIMIZERS, "adamw", lambda params, lr, betas: torch.optim.AdamW(params, lr, betas)
    )
    run = trainer.build_run(load_config("dcgan", sets=[*TINY, 'optim.name="adamw"']))
    assert all(isinstance(o, torch.optim.AdamW) for o in run.optimizers.values())
    monkeypatch.delitem(OPTIMIZERS, "adamw")
    with pytest.raises(UserError, match="optim.name is 'adamw'; valid: adam, rmsprop, sgd"):
        load_config("dcgan", sets=[*TINY, 'optim.name="adamw"'])


def test_config_classes_of_the_two_trainers_have_distinct_names():
    def dataclass_names(module) -> set[str]:
        return {
            name
            for name, obj in vars(module).items()
            if isinstance(obj, type) and dataclasses.is_dataclass(obj)
        }

    gan, tempogan = dataclass_names(gan_config), dataclass_names(train_config)
    assert {"GanTrainConfig", "GanModelConfig", "GanLossConfig", "GanOptimConfig"} <= gan
    assert {"TrainConfig", "ModelConfig", "LossConfig", "OptimConfig", "DataConfig"} <= tempogan
    assert not gan & tempogan
