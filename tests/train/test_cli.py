"""``fluidgan train`` on the command line: config layers, resume, exit codes."""

from __future__ import annotations

import pytest
import tomli_w
import torch

from fluidgan.cli import main
from fluidgan.config import build, load_toml, preset_path
from fluidgan.train import checkpoint as ckpt
from fluidgan.train.config import TrainConfig
from fluidgan.train.logging import read_metrics


def run_cli(*args: str) -> int:
    with pytest.raises(SystemExit) as e:
        main(list(args))
    return e.value.code


def test_train_then_resume_to_more_iterations(dataset2d, tiny_config, tmp_path, capsys):
    config = tmp_path / "tiny.toml"
    config.write_text(tomli_w.dumps(tiny_config))
    run = tmp_path / "run"
    common = ["train", "--data", str(dataset2d), "--out", str(run), "--device", "cpu"]
    assert run_cli(*common, "--config", str(config), "--iterations", "3") == 0
    assert "completed: 3/3 iterations" in capsys.readouterr().out
    # --resume takes the run's saved config: no --config needed.
    assert run_cli(*common, "--resume", "--iterations", "5", "--quiet") == 0
    assert [r["iteration"] for r in read_metrics(run)] == [1, 2, 3, 4, 5]
    assert ckpt.latest_checkpoint(run).name == "ckpt_00000005.pt"
    saved = load_toml(run / "config.toml")
    assert saved["iterations"] == 5 and saved["model"]["generator_widths"][0] == [4, 8]


def test_set_overrides_and_user_errors(dataset2d, tiny_config, tmp_path, capsys):
    config = tmp_path / "tiny.toml"
    config.write_text(tomli_w.dumps(tiny_config))
    run = tmp_path / "run"
    common = [
        "train",
        "--data",
        str(dataset2d),
        "--out",
        str(run),
        "--device",
        "cpu",
        "--config",
        str(config),
        "--quiet",
    ]
    assert run_cli(*common, "--set", "loss.adversarial=nope") == 2
    assert "unknown adversarial loss 'nope'" in capsys.readouterr().err
    assert run_cli(*common, "--set", "model.kernal=3") == 2
    assert "model.kernal" in capsys.readouterr().err
    assert run_cli(*common, "--resume") == 2
    assert "no checkpoint to resume" in capsys.readouterr().err
    assert run_cli("train", "--data", str(tmp_path / "none"), "--out", str(run)) == 2
    assert run_cli(*common, "--set", "threads=-1") == 2
    assert "threads" in capsys.readouterr().err
    assert run_cli(*common, "--config", "no_such_preset") == 2
    assert "cpu_small2d" in capsys.readouterr().err  # the presets are listed
    assert run_cli(*common, "--iterations", "1", "--set", "ablation.temporal=l2") == 0
    assert load_toml(run / "config.toml")["ablation"]["temporal"] == "l2"
    assert torch.get_num_threads() == 1  # the conftest's; threads = 0 leaves it alone


@pytest.mark.parametrize("name", ["paper2d", "paper3d", "cpu_small2d"])
def test_presets_load(name):
    cfg = build(TrainConfig, load_toml(preset_path("train", name)))
    assert cfg.optim.lr > 0


def test_paper2d_preset_is_the_paper():
    cfg = build(TrainConfig, load_toml(preset_path("train", "paper2d")))
    assert cfg == TrainConfig()  # the defaults are the paper's 2D settings
    assert (cfg.iterations, cfg.batch_size, cfg.data.tile) == (40000, 16, 16)
    assert (cfg.loss.lambda_l1, cfg.loss.lambda_f, cfg.loss.lambda_t) == (5.0, (-1e-5,) * 4, 1.0)
    assert (cfg.optim.k_ds, cfg.optim.k_dt, cfg.optim.k_g) == (2, 2, 2)
    assert cfg.model.generator_widths is None  # (2C, 8C), (128, 128), (32, 8), (2, 1)


@pytest.mark.slow
def test_default_config_three_then_five_iterations(dataset2d, tmp_path):
    """The train-then-resume commands, with the paper's networks and batch (slow on CPU)."""
    run = tmp_path / "run"
    common = ["train", "--data", str(dataset2d), "--out", str(run), "--device", "cpu", "-q"]
    assert (
        run_cli(*common, "--iterations", "3", "--set", "data.tile=8", "--set", "data.workers=0")
        == 0
    )
    assert run_cli(*common, "--resume", "--iterations", "5") == 0
    assert [r["iteration"] for r in read_metrics(run)] == [1, 2, 3, 4, 5]


@pytest.mark.parametrize("sig", ["SIGTERM", "SIGINT"])
def test_a_signal_to_the_whole_process_group_checkpoints(dataset2d, tiny_config, tmp_path, sig):
    """``timeout``, batch schedulers and Ctrl-C signal every process of the group, the
    DataLoader workers included: the run must still stop after its iteration with a
    checkpoint and exit 130, not crash on a killed worker."""
    import os
    import signal
    import subprocess
    import sys
    import time

    tiny_config.update(iterations=10_000, checkpoint_every=10_000, preview_every=0)
    tiny_config["data"]["workers"] = 1
    config = tmp_path / "tiny.toml"
    config.write_text(tomli_w.dumps(tiny_config))
    run = tmp_path / "run"
    args = ["train", "--data", str(dataset2d), "--out", str(run), "--config", str(config)]
    proc = subprocess.Popen(
        [sys.executable, "-m", "fluidgan", *args, "--device", "cpu", "-q"],
        start_new_session=True,  # its own process group, as a terminal job has
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 120
    while len(read_metrics(run)) < 2 and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.2)
    os.killpg(proc.pid, getattr(signal, sig))
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "Traceback" not in err and "killed by signal" not in err
    done = ckpt.latest_checkpoint(run)
    assert done is not None and int(done.stem.split("_")[1]) >= 2
