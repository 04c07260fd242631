"""Every preset under configs/gan trains; resume is exact; the ``gan`` command line round
trip (train -> sample -> evaluate); data sets the presets do not cover (smoke frames)."""

from __future__ import annotations

import json
import math
import os
import signal
import sys

import h5py
import numpy as np
import pytest
import torch
from gan_settings import TINY

from fluidgan.cli import main
from fluidgan.errors import UserError
from fluidgan.gan import trainer
from fluidgan.gan.config import load_config, preset_names
from fluidgan.gan.data import load_dataset
from fluidgan.gan.games import IcGAN
from pipelines import gan_train


def tiny(name: str, *extra: str):
    cfg = load_config(name, sets=[*TINY, *extra])
    if cfg.model.g.get("n_ref"):  # virtual batch norm: a reference batch as small as G's
        cfg.model.g["n_ref"] = 4
    return cfg


def test_there_is_a_preset_for_every_variant_of_the_issue():
    expected = {
        "mmgan", "nsgan", "lsgan", "wgan", "wgan_gp", "sngan", "fgan", "ebgan", "began",
        "dcgan", "sagan", "biggan", "cgan", "acgan", "icgan", "lapgan", "cyclegan",
        "dualgan", "discogan", "improved_gan", "r1",
    }  # fmt: skip
    assert expected <= set(preset_names())


@pytest.mark.parametrize("name", preset_names())
def test_every_preset_trains_without_nan_and_moves_both_players(name):
    run = trainer.build_run(tiny(name))
    before = {
        role: [p.detach().clone() for p in nets.parameters()] for role, nets in run.models.items()
    }
    for _ in range(2):
        logs = trainer.train_step(run)
        assert logs and all(math.isfinite(v) for v in logs.values()), logs
    for role, nets in run.models.items():
        changed = any(not torch.equal(a, b) for a, b in zip(before[role], nets.parameters()))
        assert changed, f"{name}: the {role!r} networks did not change"
    assert torch.isfinite(trainer.generate(run, 4, seed=0)).all()


@pytest.mark.parametrize("divergence", ["kl", "reverse_kl", "pearson", "hellinger", "js"])
def test_every_f_divergence_trains(divergence):
    run = trainer.build_run(tiny("fgan", f'loss.params.divergence="{divergence}"'))
    for _ in range(2):
        assert all(math.isfinite(v) for v in trainer.train_step(run).values())


def test_ttur_gives_the_two_players_their_own_learning_rates():
    run = trainer.build_run(tiny("sagan"))
    assert run.optimizers["g"].param_groups[0]["lr"] == pytest.approx(1e-4)
    assert run.optimizers["d"].param_groups[0]["lr"] == pytest.approx(4e-4)


def _losses(run_dir) -> list[dict]:
    lines = (run_dir / trainer.LOG).read_text().splitlines()
    return [r for r in map(json.loads, lines) if "metrics" not in r]


def _weights(run_dir) -> dict[str, torch.Tensor]:
    state = trainer.read_checkpoint(run_dir)
    out = {f"{r}.{k}": v for r, sd in state["models"].items() for k, v in sd.items()}
    if state["ema"] is not None:
        out.update({f"ema.{k}": v for k, v in state["ema"].items()})
    return out


# began: k_t state; improved_gan: historical averages, VBN, minibatch features;
# biggan: spectral-norm vectors, EMA, two D steps; cgan: matching-aware random labels.
@pytest.mark.parametrize("name", ["began", "improved_gan", "biggan", "cgan"])
def test_resume_continues_exactly_like_an_uninterrupted_run(name, tmp_path):
    extra = ["train.ema_start=0"] if name == "biggan" else []
    cfg = tiny(name, *extra)
    trainer.train(cfg, tmp_path / "straight", iterations=4)
    trainer.train(cfg, tmp_path / "split", iterations=2)
    trainer.train(cfg, tmp_path / "split", iterations=4, resume=True)
    straight, split = _losses(tmp_path / "straight"), _losses(tmp_path / "split")
    assert [r["iteration"] for r in split] == [1, 2, 3, 4]
    assert split == straight  # bit for bit
    a, b = _weights(tmp_path / "straight"), _weights(tmp_path / "split")
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_evaluating_does_not_change_the_training_trajectory(tmp_path):
    cfg = tiny("dcgan")
    calls = []

    def fake_metric(fake, real):
        calls.append((fake.shape, real.shape))
        torch.rand(100)  # would shift the training noise if the RNG were not forked
        return {"fid_domain": 1.0}

    cfg.eval.every, cfg.eval.samples = 1, 16
    trainer.train(cfg, tmp_path / "eval", iterations=3, evaluate_fn=fake_metric)
    trainer.train(cfg, tmp_path / "plain", iterations=3)
    assert _losses(tmp_path / "eval") == _losses(tmp_path / "plain")
    assert calls == [((16, 16, 16), (1797, 16, 16))] * 3


def test_a_time_budget_stops_with_a_checkpoint(tmp_path):
    result = trainer.train(tiny("dcgan"), tmp_path, iterations=1000, max_seconds=1e-6)
    assert result["status"] == "budget" and result["iterations"] == 1
    assert trainer.read_checkpoint(tmp_path)["iteration"] == 1


def test_ctrl_c_stops_after_the_step_with_a_checkpoint_and_resumes(tmp_path):
    cfg = tiny("dcgan")
    cfg.eval.every = 2

    calls = []

    def interrupt(fake, real):  # at iteration 2, inside the loop, like a user's Ctrl-C
        if not calls:
            os.kill(os.getpid(), signal.SIGINT)
        calls.append(1)
        return {}

    result = trainer.train(cfg, tmp_path, iterations=10, evaluate_fn=interrupt)
    assert result["status"] == "interrupted" and result["iterations"] == 3
    assert trainer.read_checkpoint(tmp_path)["iteration"] == 3
    resumed = trainer.train(cfg, tmp_path, iterations=4, resume=True)
    assert resumed["status"] == "completed" and resumed["iterations"] == 4


def test_training_logs_domain_fid_and_is(tmp_path):
    sets = [*TINY[:-1], "eval.samples=50", 'eval.features="domain:digits"']
    result = gan_train.train("dcgan", tmp_path, iterations=1, sets=sets)
    assert set(result["metrics"]) == {"fid_domain", "is_domain", "n_fake"}
    assert result["metrics"]["n_fake"] == 50
    assert result["metrics"]["fid_domain"] > 0 and 1 <= result["metrics"]["is_domain"] <= 10
    last = json.loads((tmp_path / trainer.LOG).read_text().splitlines()[-1])
    assert last["metrics"] == result["metrics"]


def test_cycle_models_sample_at_most_their_domain_a_images(tmp_path):
    cfg = tiny("cyclegan", "train.grid=2000")  # more than |A| = 898: the grid shrinks
    cfg.eval.samples = 2000
    result = trainer.train(cfg, tmp_path, iterations=1, evaluate_fn=lambda f, r: {"n": len(f)})
    assert result["metrics"] == {"n": 898, "n_fake": 898}
    with pytest.raises(UserError, match="can give 898 samples"):
        gan_train.sample(tmp_path, 899, tmp_path / "s.npz")


def test_icgan_edit_renders_a_real_image_with_new_labels():
    run = trainer.build_run(tiny("icgan"))
    trainer.train_step(run)
    assert "e/e_z" in trainer.train_step(run)
    x = run.sources[0]["x"][:5]
    g, e = run.models["g"], run.models["e"]
    g.eval(), e.eval()
    with torch.no_grad():
        edited = IcGAN.edit(g, e, x, torch.arange(5))
        z, logits = e["E"](x)
        direct = g["G"](z, torch.arange(5))
    assert edited.shape == x.shape and logits.shape == (5, 10)
    assert torch.equal(edited, direct)


# --- the command line -------------------------------------------------------------------


def run_cli(*args: str) -> int:
    with pytest.raises(SystemExit) as e:
        main(list(args))
    return e.value.code


def test_cli_train_sample_evaluate_round_trip(tmp_path, capsys):
    run = tmp_path / "run"
    sets = [a for s in TINY for a in ("--set", s)]
    common = ["gan", "train", "--out", str(run), "--device", "cpu", "--quiet", *sets]
    assert run_cli(*common, "dcgan", "--iterations", "2") == 0
    assert run_cli(*common, "--resume", "--iterations", "3") == 0
    assert [r["iteration"] for r in _losses(run)] == [1, 2, 3]
    assert (run / "samples" / "iter_000003.png").is_file()
    assert run_cli("gan", "sample", str(run), "--out", str(run), "-n", "40", "--quiet") == 0
    with np.load(run / "samples.npz") as f:
        assert f["images"].shape == (40, 16, 16) and f["images"].dtype == np.uint8
    assert (run / "samples.png").is_file()
    capsys.readouterr()
    code = run_cli(
        "gan", "evaluate", "--real", "builtin:digits", "--fake", str(run),
        "--features", "domain:digits", "--metrics", "fid,is", "--json", "--no-cache",
    )  # fmt: skip
    assert code == 0
    result = json.loads(capsys.readouterr().out)
    assert result["fake"]["n"] == 40 and result["metrics"]["fid_domain"]["value"] > 0


def test_cli_user_errors_are_one_line_exit_2(tmp_path, capsys):
    out = ["--out", str(tmp_path / "r")]
    cases = [
        (["gan", "train", "nosuch", *out], "unknown gan preset 'nosuch'"),
        (["gan", "train", *out], "needs a PRESET or --config"),
        (["gan", "train", "dcgan", "--config", "x.toml", *out], "not both"),
        (["gan", "train", "dcgan", *out, "--set", "loss.name=nope"], "unknown adversarial loss"),
        (["gan", "train", "dcgan", *out, "--set", "train.nope=1"], "train.nope"),
        (["gan", "sample", str(tmp_path / "none"), "--out", str(tmp_path)], "no such checkpoint"),
    ]
    for args, message in cases:
        capsys.readouterr()
        assert run_cli(*args) == 2, args
        err = capsys.readouterr().err
        assert message in err and len(err.strip().splitlines()) == 1, err


def test_cli_help_has_examples(capsys):
    for command in ("train", "sample"):
        assert run_cli("gan", command, "--help") == 0
        assert "Examples:" in capsys.readouterr().out


# --- smoke frames -----------------------------------------------------------------------


def write_sim(path, density: np.ndarray, scene: str) -> None:
    with h5py.File(path, "w") as h:
        h.attrs["scene"] = json.dumps({"name": scene, "dim": density.ndim - 1})
        h.create_dataset("high/density", data=density.astype(np.float32))


def test_smoke_frames_2d_and_3d_slices_with_scene_labels(tmp_path):
    rng = np.random.default_rng(0)
    write_sim(tmp_path / "sim_0.h5", rng.random((3, 8, 12)), "plume")  # (T, Y, X)
    write_sim(tmp_path / "sim_1.h5", rng.random((2, 8, 12)), "training")
    data = load_dataset("smoke", size=None, channels=1, path=str(tmp_path), labels="name", vmax=1.0)
    assert data.images.shape == (5, 1, 8, 12) and data.num_classes == 2
    assert data.labels.tolist() == [0, 0, 0, 1, 1] and data.class_names == ["plume", "training"]
    # Rows are flipped so that y grows upwards in the image.
    with h5py.File(tmp_path / "sim_0.h5") as h:
        first = h["high/density"][0]
    np.testing.assert_allclose(data.images[0, 0].numpy(), first[::-1] * 2 - 1, atol=1e-6)

    vol = tmp_path / "vol"
    vol.mkdir()
    write_sim(vol / "sim_0.h5", rng.random((2, 6, 8, 8)), "plume")  # (T, Z, Y, X)
    middle = load_dataset("smoke", size=(16, 16), channels=3, path=str(vol))
    every = load_dataset("smoke", size=None, channels=1, path=str(vol), slices="all", stride=2)
    assert middle.images.shape == (2, 3, 16, 16) and every.images.shape == (
        3,
        1,
        8,
        8,
    )  # 1 frame x 3 z slices
    with pytest.raises(UserError, match="scene has no key 'nope'"):
        load_dataset("smoke", size=None, channels=1, path=str(vol), labels="nope")


def test_leaderboard_script_writes_a_table_with_honest_labels(tmp_path, monkeypatch):
    import importlib.util

    from fluidgan.config import CONFIG_DIR

    path = CONFIG_DIR.parent / "benchmarks" / "gan_leaderboard.py"
    spec = importlib.util.spec_from_file_location("gan_leaderboard", path)
    board = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "gan_leaderboard", board)  # dataclasses look it up
    spec.loader.exec_module(board)
    docs = tmp_path / "docs"
    args = ["--cpu-seconds", "0.01", "--n", "40", "--variants", "mmgan,discogan"]
    board.main([*args, "--runs", str(tmp_path / "runs"), "--docs", str(docs)])
    text = (docs / "GAN_RESULTS.md").read_text()
    assert "FID_domain" in text and "IS_domain" in text and "N = 40" in text
    assert "![mmgan](gan/mmgan.png)" in text and (docs / "gan" / "discogan.png").is_file()
    assert "| real digits |" in text and "| real domain B |" in text
    before = text.split("written")[0]
    board.main(["--report-only", "--docs", str(docs)])
    assert (docs / "GAN_RESULTS.md").read_text().split("written")[0] == before
