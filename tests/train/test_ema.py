"""The EMA of the generator's weights (``ema_decay``, ``ema_start``): the average by hand,
what checkpoints hold, exact resume, and inference running the averaged weights."""

from __future__ import annotations

import logging

import h5py
import numpy as np
import pytest
import torch
from cli_checks import cli, one_line_error

from fluidgan.errors import UserError
from fluidgan.inference.upscaler import frame_inputs
from fluidgan.io.simfile import read_sim
from fluidgan.train import checkpoint as ckpt
from fluidgan.train.logging import read_metrics
from fluidgan.train.loop import build_networks
from pipelines.info import describe
from pipelines.train import resolve_config, train

# 0.75, not 0.5: at 0.5 β and 1 - β are the same number and a swapped lerp goes unseen.
DECAY = 0.75
# The keys a checkpoint had before the EMA existed: with ema_decay = 0 nothing is added.
KEYS = {
    "format", "format_version", "fluidgan_version", "iteration", "config", "model",
    "generator", "spatial_discriminator", "temporal_discriminator", "optimizers",
    "schedulers", "adversarial", "rng", "metrics",
}  # fmt: skip


def snapshot(module: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in module.state_dict().items()}


def recorder(seen: dict[int, dict]):
    """An after_iteration hook keeping G's and the EMA's weights after every iteration."""

    def hook(done, metrics, trainer):
        ema = None if trainer.ema is None else snapshot(trainer.ema)
        seen[done] = {"g": snapshot(trainer.nets["generator"]), "ema": ema}

    return hook


def parameter_names(state: dict[str, torch.Tensor]) -> list[str]:
    """The trained entries (not BatchNorm statistics, which the EMA copies)."""
    return [k for k in state if not k.rsplit(".", 1)[-1].startswith(("running_", "num_batches"))]


@pytest.fixture
def ema_config(tiny_config):
    tiny_config.update(preview_every=0, checkpoint_every=100, ema_decay=DECAY)
    return tiny_config


def test_the_average_by_hand_after_three_iterations(dataset2d, ema_config, tmp_path):
    """ema_start = 1: θ̄₁ = θ₁ (a copy), θ̄₂ = β θ₁ + (1-β) θ₂, θ̄₃ = β θ̄₂ + (1-β) θ₃, with θₖ
    G's weights after iteration k's updates. A swapped lerp, an average of the weights
    before the G step, or ema_start ignored each give other numbers."""
    ema_config.update(iterations=3, ema_start=1)
    seen: dict[int, dict] = {}
    train(ema_config, dataset2d, tmp_path / "run", device="cpu", after_iteration=recorder(seen))
    g1, g2, g3 = (seen[k]["g"] for k in (1, 2, 3))
    names = parameter_names(g1)
    assert len(names) > 4
    for name in names:
        b = DECAY
        hand2 = b * g1[name] + (1 - b) * g2[name]
        hand3 = b * hand2 + (1 - b) * g3[name]
        assert torch.equal(seen[1]["ema"][name], g1[name]), name  # before ema_start: a copy
        torch.testing.assert_close(seen[2]["ema"][name], hand2, rtol=1e-6, atol=1e-9)
        torch.testing.assert_close(seen[3]["ema"][name], hand3, rtol=1e-6, atol=1e-9)
    # Non-degenerate: G moved each iteration, so the average is neither end.
    moved = [n for n in names if not torch.equal(g2[n], g3[n])]
    assert moved and all(not torch.equal(seen[3]["ema"][n], g3[n]) for n in moved)
    # BatchNorm statistics are not trained: the EMA carries G's.
    stats = [k for k in g3 if k not in names]
    assert stats and all(torch.equal(seen[3]["ema"][k], g3[k]) for k in stats)


def test_ema_start_zero_averages_from_the_initial_weights(dataset2d, ema_config, tmp_path):
    """ema_start = 0: θ̄₁ = β θ₀ + (1-β) θ₁, θ₀ the initial weights (the seed's)."""
    ema_config.update(iterations=1)
    seen: dict[int, dict] = {}
    initial: dict[str, torch.Tensor] = {}

    def hook(done, metrics, trainer):
        recorder(seen)(done, metrics, trainer)
        with torch.random.fork_rng():  # G as the trainer built it, from the seed
            torch.manual_seed(trainer.cfg.seed)
            initial.update(snapshot(build_networks(trainer.cfg, trainer.spec)["generator"]))

    train(ema_config, dataset2d, tmp_path / "run", device="cpu", after_iteration=hook)
    g1 = seen[1]["g"]
    names = parameter_names(g1)
    assert any(not torch.equal(initial[n], g1[n]) for n in names)
    for name in names:
        hand = DECAY * initial[name] + (1 - DECAY) * g1[name]
        torch.testing.assert_close(seen[1]["ema"][name], hand, rtol=1e-6, atol=1e-9)


def test_off_adds_nothing_and_on_leaves_training_unchanged(dataset2d, tiny_config, tmp_path):
    """ema_decay = 0: the checkpoint has exactly the keys it had before the EMA. On: the
    EMA only watches -- every loss and G, D_s, D_t's weights are the same bit for bit."""
    tiny_config.update(preview_every=0)
    off = train(tiny_config, dataset2d, tmp_path / "off", device="cpu")
    tiny_config.update(ema_decay=DECAY, ema_start=1)
    on = train(tiny_config, dataset2d, tmp_path / "on", device="cpu")
    a = torch.load(off["checkpoint"], weights_only=True)
    b = torch.load(on["checkpoint"], weights_only=True)
    assert set(a) == KEYS and set(b) == KEYS | {"generator_ema"}
    for key in ("generator", "spatial_discriminator", "temporal_discriminator"):
        for name, tensor in a[key].items():
            assert torch.equal(tensor, b[key][name]), (key, name)
    rows_a, rows_b = read_metrics(tmp_path / "off"), read_metrics(tmp_path / "on")
    for r in rows_a + rows_b:
        del r["time"]
    assert rows_a == rows_b
    assert b["config"]["ema_decay"] == DECAY and "ema_decay" in a["config"]
    assert set(b["generator_ema"]) == set(b["generator"])


def test_resuming_an_old_checkpoint_starts_the_ema_from_g(dataset2d, ema_config, tmp_path, caplog):
    """A checkpoint written without an EMA, resumed with ema_decay > 0: θ̄ starts as the
    resumed θ (one log line says so), then averages: θ̄₃ = β θ₂ + (1-β) θ₃."""
    ema_config.update(ema_decay=0.0, iterations=2)
    run = tmp_path / "run"
    train(ema_config, dataset2d, run, device="cpu")
    ema_config.update(ema_decay=DECAY, iterations=3)
    seen: dict[int, dict] = {}
    with caplog.at_level(logging.WARNING, logger="fluidgan.train.loop"):
        train(ema_config, dataset2d, run, device="cpu", resume=True, after_iteration=recorder(seen))
    [line] = [r.getMessage() for r in caplog.records if "EMA" in r.getMessage()]
    assert "ckpt_00000002.pt" in line and "starts from the current generator" in line
    g2 = torch.load(ckpt.checkpoint_path(run, 2), weights_only=True)["generator"]
    g3 = seen[3]["g"]
    for name in parameter_names(g3):
        hand = DECAY * g2[name] + (1 - DECAY) * g3[name]
        torch.testing.assert_close(seen[3]["ema"][name], hand, rtol=1e-6, atol=1e-9)


def test_previews_score_the_ema_and_g(dataset2d, ema_config, tmp_path):
    ema_config.update(preview_every=2)
    train(ema_config, dataset2d, tmp_path / "run", device="cpu")
    rows = read_metrics(tmp_path / "run")
    assert "val/l1_raw" in rows[1] and "val/l1_raw" not in rows[0]
    assert rows[3]["val/l1"] != rows[3]["val/l1_raw"]  # two different generators


@pytest.fixture(scope="module")
def ema_run(dataset2d, tmp_path_factory):
    from train.conftest import TINY

    config = {**TINY, "preview_every": 0, "ema_decay": DECAY, "ema_start": 1}
    run = tmp_path_factory.mktemp("ema_run") / "run"
    return train(config, dataset2d, run, device="cpu")["checkpoint"]


def reference(generator, sim) -> np.ndarray:
    x = frame_inputs(sim["low/density"], sim["low/velocity"], "rho+v+w")
    with torch.no_grad():
        return generator(x)[:, 0].numpy()


def test_load_generator_takes_the_ema_unless_asked_for_g(ema_run):
    state = torch.load(ema_run, weights_only=True)
    ema, info = ckpt.load_generator(ema_run)
    raw, info_raw = ckpt.load_generator(ema_run, weights="raw")
    assert info == info_raw and not ema.training
    for name, tensor in ema.state_dict().items():
        assert torch.equal(tensor, state["generator_ema"][name])
        assert torch.equal(raw.state_dict()[name], state["generator"][name])
    assert any(
        not torch.equal(state["generator"][n], state["generator_ema"][n])
        for n in state["generator"]
    )
    with pytest.raises(UserError, match="weights = 'best'"):
        ckpt.load_generator(ema_run, weights="best")


def test_upscale_runs_the_ema_and_raw_on_request(ema_run, dataset2d, tmp_path):
    sim = read_sim(dataset2d / "sim_00000.h5")
    ema_out, raw_out = tmp_path / "ema.h5", tmp_path / "raw.h5"
    args = ("--input", dataset2d / "sim_00000.h5", "--set", "amp=off", "-q")
    assert cli("upscale", "--checkpoint", ema_run, "--out", ema_out, *args) == 0
    assert cli("upscale", "--checkpoint", ema_run, "--out", raw_out, "--weights", "raw", *args) == 0
    sr_ema = read_sim(ema_out, groups=("sr",))["sr/density"]
    sr_raw = read_sim(raw_out, groups=("sr",))["sr/density"]
    expected_ema = reference(ckpt.load_generator(ema_run)[0], sim)
    expected_raw = reference(ckpt.load_generator(ema_run, weights="raw")[0], sim)
    np.testing.assert_allclose(sr_ema, expected_ema, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(sr_raw, expected_raw, rtol=1e-4, atol=1e-5)
    assert np.abs(sr_ema - sr_raw).max() > 100 * 1e-5  # the two really differ
    with h5py.File(ema_out) as f, h5py.File(raw_out) as g:
        assert f["sr"].attrs["weights"] == "ema" and g["sr"].attrs["weights"] == "raw"


def test_a_checkpoint_without_ema_still_upscales(dataset2d, tiny_config, tmp_path):
    tiny_config.update(iterations=1, preview_every=0)
    old = train(tiny_config, dataset2d, tmp_path / "run", device="cpu")["checkpoint"]
    out = tmp_path / "up.h5"
    args = ("--input", dataset2d / "sim_00000.h5", "--set", "amp=off", "-q")
    assert cli("upscale", "--checkpoint", old, "--out", out, *args) == 0
    sim = read_sim(dataset2d / "sim_00000.h5")
    expected = reference(ckpt.load_generator(old, weights="raw")[0], sim)
    np.testing.assert_allclose(
        read_sim(out, groups=("sr",))["sr/density"], expected, rtol=1e-4, atol=1e-5
    )
    with h5py.File(out) as f:
        assert f["sr"].attrs["weights"] == "raw"  # nothing to average: G's own


def test_info_says_whether_a_checkpoint_carries_an_ema(ema_run, dataset2d, tiny_config, tmp_path):
    assert describe(ema_run)["ema"] == {"decay": DECAY, "start": 1}
    tiny_config.update(iterations=1, preview_every=0)
    old = train(tiny_config, dataset2d, tmp_path / "run", device="cpu")["checkpoint"]
    assert describe(old)["ema"] == "no"


@pytest.mark.parametrize(
    "setting, words",
    [
        ("ema_decay=1", ("ema_decay", "[0, 1)")),
        ("ema_decay=-0.1", ("ema_decay",)),
        ("ema_start=-1", ("ema_start",)),
    ],
)
def test_bad_ema_settings_are_one_line_errors(setting, words, dataset2d, tmp_path, capsys):
    code = cli("train", "--data", dataset2d, "--out", tmp_path / "r", "--set", setting, "-q")
    assert code == 2
    one_line_error(capsys, *words)


def test_set_ema_decay_reaches_the_config():
    default = resolve_config()
    assert (default.ema_decay, default.ema_start) == (0.0, 0)  # off unless asked for
    cfg = resolve_config("fast2d", ["ema_decay=0.999", "ema_start=200"])
    assert (cfg.ema_decay, cfg.ema_start) == (0.999, 200)


@pytest.mark.parametrize("weights", ["ema", "raw"])
def test_the_pipeline_upscale_stage_takes_weights(ema_run, dataset2d, tmp_path, weights):
    pipe = tmp_path / "pipe.toml"
    pipe.write_text(
        f"""
[[stage]]
kind = "upscale"
checkpoint = "{ema_run}"
input = "{dataset2d / "sim_00000.h5"}"
out = "up.h5"
set = ["amp=off"]
weights = "{weights}"
"""
    )
    assert cli("run", pipe, "--out", tmp_path / "run", "-q") == 0
    sr = read_sim(tmp_path / "run" / "up.h5", groups=("sr",))["sr/density"]
    generator = ckpt.load_generator(ema_run, weights=weights)[0]
    expected = reference(generator, read_sim(dataset2d / "sim_00000.h5"))
    np.testing.assert_allclose(sr, expected, rtol=1e-4, atol=1e-5)
