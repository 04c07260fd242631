"""``fluidgan upscale`` and ``fluidgan run`` as a user runs them."""

from __future__ import annotations

import json
import os
from pathlib import Path

import h5py
import numpy as np
import pytest
import torch
from cli_checks import cli, one_line_error

from fluidgan.data.channels import channel_count
from fluidgan.inference.upscaler import frame_inputs
from fluidgan.io.simfile import open_sim, read_sim
from fluidgan.models.tempogan import Generator, init_weights
from fluidgan.train.checkpoint import load_generator, save_checkpoint

SMALL = [[8, 16], [16, 16], [8, 4], [2, 1]]
ATOL, RTOL = 1e-5, 1e-4  # tiled vs whole: float32 reassociation only




def make_checkpoint(path: Path, dim: int, channels: str, kernel: int = 5) -> Path:
    """A checkpoint as training writes it (model record + generator state), random weights
    lifted above the final ReLU so the output is not all zeros."""
    c = channel_count(channels, dim)
    torch.manual_seed(dim)
    g = init_weights(Generator(dim, c, 4, widths=SMALL, kernel=kernel))
    g.blocks[-1].shortcut.conv.bias.data.fill_(0.5)
    info = {
        "dim": dim,
        "factor": 4,
        "in_channels": c,
        "channels": channels,
        "tile": 8,
        "generator_widths": SMALL,
        "kernel": kernel,
        "batch_norm": True,
    }
    return save_checkpoint({"model": info, "generator": g.state_dict(), "iteration": 1}, path)


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("upscale")
    from pipelines.simulate import resolve_config, simulate

    config = resolve_config(scene="plume", dim=2, res=[32, 40], frames=5, seed=3)
    simulate(config, d / "sim", progress=False)
    return {
        "dir": d,
        "sim": d / "sim" / "sim_00000.h5",
        "ckpt_v": make_checkpoint(d / "ckpt_v.pt", 2, "rho+v"),
        "ckpt_rho": make_checkpoint(d / "ckpt_rho.pt", 2, "rho"),
        "ckpt_3d": make_checkpoint(d / "ckpt_3d.pt", 3, "rho+v+w", kernel=3),
    }


def reference_sr(checkpoint, density, velocity) -> np.ndarray:
    """The generator applied directly to whole frames: what upscale must reproduce."""
    g, info = load_generator(checkpoint)
    with torch.no_grad():
        return g(frame_inputs(density, velocity, info["channels"]))[:, 0].numpy()


# --------------------------------------------------------------------------- inputs


def test_upscale_a_simulation_file(files, tmp_path):
    out = tmp_path / "up.h5"
    fp32 = ("--set", "amp=off", "-q")  # float32: compared with the float32 reference
    assert (
        cli(
            "upscale", "--checkpoint", files["ckpt_v"], "--input", files["sim"], "--out", out, *fp32
        )
        == 0
    )
    sim = read_sim(files["sim"])
    up = read_sim(out, groups=("high", "low", "sr"))
    assert up["sr/density"].shape == (5, 40, 32) == sim["high/density"].shape
    np.testing.assert_array_equal(up["low/density"], sim["low/density"])
    np.testing.assert_array_equal(up["low/velocity"], sim["low/velocity"])
    np.testing.assert_array_equal(up["high/density"], sim["high/density"])
    np.testing.assert_array_equal(up["time"], sim["time"])
    assert not up["sr/velocity"].any()  # the generator predicts density only
    expected = reference_sr(files["ckpt_v"], sim["low/density"], sim["low/velocity"])
    np.testing.assert_allclose(up["sr/density"], expected, rtol=RTOL, atol=ATOL)
    assert up["meta"].factor == 4 and up["meta"].dim == 2
    assert (tmp_path / "up.config.toml").is_file()
    assert not list(tmp_path.glob("*.tmp"))
    # amp = "bf16": bfloat16 autocast agrees with float32 to bfloat16's precision
    bf16 = tmp_path / "bf16.h5"
    args = ("--input", files["sim"], "--out", bf16, "--set", "amp=bf16", "-q")
    assert cli("upscale", "--checkpoint", files["ckpt_v"], *args) == 0
    sr16 = read_sim(bf16, groups=("sr",))["sr/density"]
    assert not np.array_equal(sr16, expected)  # it did run in bfloat16
    np.testing.assert_allclose(sr16, expected, rtol=0, atol=0.02 * np.abs(expected).max())


def test_frames_slice_and_linear_velocity(files, tmp_path):
    full, part = tmp_path / "full.h5", tmp_path / "part.h5"
    ck, sim = files["ckpt_v"], files["sim"]
    assert cli("upscale", "--checkpoint", ck, "--input", sim, "--out", full, "-q") == 0
    args = ("--frames", "1:3", "--sr-velocity", "linear", "--batch", "1", "-q")
    assert cli("upscale", "--checkpoint", ck, "--input", sim, "--out", part, *args) == 0
    a, b = read_sim(full, ("low", "sr")), read_sim(part, ("high", "low", "sr"))
    assert b["sr/density"].shape[0] == 2
    np.testing.assert_array_equal(b["time"], a["time"][1:3])
    np.testing.assert_allclose(b["sr/density"], a["sr/density"][1:3], rtol=RTOL, atol=ATOL)
    # linear: a uniform low-res velocity u becomes f·u in high-res cells per frame
    v = b["sr/velocity"]
    assert v.shape == (2, 40, 32, 2)
    low = b["low/velocity"]
    np.testing.assert_allclose(v.mean(axis=(1, 2)), 4 * low.mean(axis=(1, 2)), rtol=0.05, atol=1e-4)


def test_plain_hdf5_and_npz_inputs_give_the_same_sr(files, tmp_path, capsys):
    sim = read_sim(files["sim"])
    plain = tmp_path / "plain.h5"
    with h5py.File(plain, "w") as f:
        f["low/density"] = sim["low/density"]
        f["low/velocity"] = sim["low/velocity"]
        f["time"] = sim["time"]
    npz = tmp_path / "seq.npz"
    np.savez(npz, density=sim["low/density"], velocity=sim["low/velocity"], time=sim["time"])
    ck = files["ckpt_v"]
    assert (
        cli(
            "upscale", "--checkpoint", ck, "--input", files["sim"], "--out", tmp_path / "a.h5", "-q"
        )
        == 0
    )
    for src in (plain, npz):
        out = tmp_path / f"{src.stem}_up.h5"
        assert cli("upscale", "--checkpoint", ck, "--input", src, "--out", out, "-q") == 0
        with open_sim(out) as f:  # the schema check passes without /high
            assert "high" not in f and f["sr/density"].shape == (5, 40, 32)
            got = f["sr/density"][:]
        with open_sim(tmp_path / "a.h5") as f:
            np.testing.assert_array_equal(got, f["sr/density"][:])
    # the other stages read it: export, preview, evaluate against the simulation
    out = tmp_path / "seq_up.h5"
    assert cli("export", "vtk", out, "--out", tmp_path / "vtk", "-q") == 0
    assert (tmp_path / "vtk" / "seq_up_sr.pvd").is_file()
    assert not (tmp_path / "vtk" / "seq_up_high.pvd").exists()
    assert cli("preview", out, "--out", tmp_path / "p.png", "-q") == 0
    args = ("--reference", files["sim"], "--out", tmp_path / "rep", "--no-fid", "-q")
    assert cli("evaluate", "--prediction", out, *args) == 0
    metrics = json.loads((tmp_path / "rep" / "metrics.json").read_text())
    assert "model" in json.dumps(metrics)


def test_density_only_input_needs_a_density_only_model(files, tmp_path, capsys):
    sim = read_sim(files["sim"])
    npz = tmp_path / "rho.npz"
    np.savez(npz, density=sim["low/density"])
    out = tmp_path / "o.h5"
    assert cli("upscale", "--checkpoint", files["ckpt_v"], "--input", npz, "--out", out) == 2
    one_line_error(capsys, npz, "'velocity'", "rho+v")
    args = ("--input", npz, "--out", out, "--set", "amp=off", "-q")
    assert cli("upscale", "--checkpoint", files["ckpt_rho"], *args) == 0
    up = read_sim(out, ("low", "sr"))
    np.testing.assert_array_equal(up["time"], np.arange(1, 6))  # no time given: 1..T
    assert not up["low/velocity"].any()
    expected = reference_sr(files["ckpt_rho"], sim["low/density"], None)
    np.testing.assert_allclose(up["sr/density"], expected, rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize(
    "writer, names",
    [
        (lambda p: np.savez(p, dens=np.zeros((2, 8, 8), np.float32)), ["missing array 'density'"]),
        (lambda p: np.savez(p, density=np.zeros((8, 8), np.float32)), ["'density'", "(8, 8)"]),
        (
            lambda p: np.savez(
                p, density=np.zeros((2, 8, 8), np.float32), velocity=np.zeros((2, 8, 8, 3))
            ),
            ["'velocity'", "(2, 8, 8, 3)"],
        ),
        (
            lambda p: np.savez(p, density=np.zeros((2, 8, 8), np.float32), time=np.zeros(3)),
            ["'time'"],
        ),
    ],
)
def test_bad_npz_is_a_one_line_error(files, tmp_path, capsys, writer, names):
    src = tmp_path / "bad.npz"
    writer(src)
    out = tmp_path / "o.h5"
    assert cli("upscale", "--checkpoint", files["ckpt_rho"], "--input", src, "--out", out) == 2
    one_line_error(capsys, src, *names)
    assert not out.exists()


def test_bad_inputs_are_one_line_errors(files, tmp_path, capsys):
    ck, out = files["ckpt_v"], tmp_path / "o.h5"
    h5 = tmp_path / "nolow.h5"
    with h5py.File(h5, "w") as f:
        f["density"] = np.zeros((2, 8, 8), np.float32)
    assert cli("upscale", "--checkpoint", ck, "--input", h5, "--out", out) == 2
    one_line_error(capsys, h5, "'/low/density'", "/density")
    assert cli("upscale", "--checkpoint", ck, "--input", tmp_path / "none.h5", "--out", out) == 2
    one_line_error(capsys, "none.h5", "no such input file")
    txt = tmp_path / "x.txt"
    txt.write_text("hello")
    assert cli("upscale", "--checkpoint", ck, "--input", txt, "--out", out) == 2
    one_line_error(capsys, txt, "not an accepted input")
    assert (
        cli("upscale", "--checkpoint", tmp_path / "nock.pt", "--input", files["sim"], "--out", out)
        == 2
    )
    one_line_error(capsys, "nock.pt", "no such checkpoint")
    assert (
        cli("upscale", "--checkpoint", files["ckpt_3d"], "--input", files["sim"], "--out", out) == 2
    )
    one_line_error(capsys, "3D", "2D")
    args = ("--simulate-scene", "plume", "--out", out)
    assert cli("upscale", "--checkpoint", ck, "--input", files["sim"], *args) == 2
    one_line_error(capsys, "--input", "--simulate-scene")
    assert cli("upscale", "--checkpoint", ck, "--out", out) == 2
    one_line_error(capsys, "--input")
    assert (
        cli("upscale", "--checkpoint", ck, "--input", files["sim"], "--out", out, "--frames", "7:9")
        == 2
    )
    one_line_error(capsys, "--frames", "7:9")
    assert (
        cli("upscale", "--checkpoint", ck, "--input", files["sim"], "--out", out, "--set", "tile=0")
        == 2
    )
    one_line_error(capsys, "tile")
    assert not out.exists()


def test_failed_upscale_leaves_no_file_and_keeps_the_old_one(files, tmp_path, capsys):
    sim = read_sim(files["sim"])
    density = sim["low/density"].copy()
    density[3, 2, 2] = np.nan
    src = tmp_path / "nan.npz"
    np.savez(src, density=density, velocity=sim["low/velocity"])
    out = tmp_path / "o.h5"
    out.write_bytes(b"previous result")
    args = ("--checkpoint", files["ckpt_v"], "--input", src, "--out", out, "--batch", "1")
    assert cli("upscale", *args) == 2  # frames 0-2 are written before frame 3 fails
    one_line_error(capsys, src, "not finite")
    assert out.read_bytes() == b"previous result"
    assert not list(tmp_path.glob("*.tmp"))


def test_3d_tiles_equal_whole_volumes(files, tmp_path):
    rng = np.random.default_rng(0)
    density = rng.random((1, 8, 9, 10)).astype(np.float32)
    velocity = rng.standard_normal((1, 8, 9, 10, 3)).astype(np.float32)
    src = tmp_path / "vol.npz"
    np.savez(src, density=density, velocity=velocity)
    ck = files["ckpt_3d"]
    whole, tiled = tmp_path / "whole.h5", tmp_path / "tiled.h5"
    assert cli("upscale", "--checkpoint", ck, "--input", src, "--out", whole, "-q") == 0
    args = ("--tile", 7, "--overlap", 2, "--batch", 3, "-q")  # halo of 3^3 kernels: 2 cells
    assert cli("upscale", "--checkpoint", ck, "--input", src, "--out", tiled, *args) == 0
    a, b = read_sim(whole, ("low", "sr")), read_sim(tiled, ("low", "sr"))
    with h5py.File(tiled) as f:
        assert "tiles of 7" in f["sr"].attrs["plan"]
    with h5py.File(whole) as f:
        assert "whole" in f["sr"].attrs["plan"]
    assert a["sr/density"].shape == (1, 32, 36, 40) and a["sr/density"].std() > 1e-3
    np.testing.assert_allclose(b["sr/density"], a["sr/density"], rtol=RTOL, atol=ATOL)
    # a small memory budget picks tiles by itself, with the same result
    budgeted = tmp_path / "budget.h5"
    assert (
        cli(
            "upscale", "--checkpoint", ck, "--input", src, "--out", budgeted, "--memory-mb", 8, "-q"
        )
        == 0
    )
    with h5py.File(budgeted) as f:
        assert "tiles" in f["sr"].attrs["plan"]
        np.testing.assert_allclose(f["sr/density"][:], a["sr/density"], rtol=RTOL, atol=ATOL)


def test_coarse_simulation_mode(files, tmp_path, capsys):
    out = tmp_path / "coarse.h5"
    args = ("--simulate-scene", "plume", "--dim", 2, "--res", 16, "--sim-frames", 3)
    assert (
        cli("upscale", "--checkpoint", files["ckpt_v"], "--out", out, *args, "--compare-frames", 2)
        == 0
    )
    lines = capsys.readouterr().out
    assert "coarse simulation" in lines and "high-res simulation" in lines and "speed-up" in lines
    with open_sim(out) as f:
        assert "high" not in f
        assert f["low/density"].shape == (3, 16, 16) and f["sr/density"].shape == (3, 64, 64)
        assert f["low/density"][-1].max() > 0.1  # the plume's inflow is in
        scene = json.loads(f.attrs["scene"])
        assert scene["res"] == [16, 16] and scene["coarse_of"]["res"] == [64, 64]
    saved = (tmp_path / "coarse.config.toml").read_text()
    assert "[simulate.scene]" in saved


def test_coarse_pipeline_result_has_the_cost(files, tmp_path):
    from pipelines.upscale import resolve_config, upscale_coarse

    config = resolve_config(
        scene="plume", dim=2, coarse_res=[16], factor=4, frames=3, compare_frames=2
    )
    assert config.simulate.scene.res == [64, 64]
    r = upscale_coarse(files["ckpt_v"], tmp_path / "c.h5", config)
    cost = r["cost"]
    assert cost["coarse_grid"] == [16, 16] and cost["high_grid"] == [64, 64]
    assert cost["coarse_total_s_per_frame"] == pytest.approx(
        cost["coarse_sim_s_per_frame"] + cost["upscale_s_per_frame"]
    )
    assert cost["speedup"] == pytest.approx(
        cost["high_sim_s_per_frame"]
        / (cost["coarse_sim_s_per_frame_same_frames"] + cost["upscale_s_per_frame"])
    )


# --------------------------------------------------------------------------- run


def write_pipeline(path: Path, files, extra: str = "") -> Path:
    path.write_text(
        f"""
name = "small"

[[stage]]
kind = "upscale"
checkpoint = "{files["ckpt_v"]}"
input = "{files["sim"]}"
out = "up.h5"

[[stage]]
kind = "export"
input = "up.h5"
out = "vtk"
groups = ["low", "sr"]
fields = ["density"]
{extra}
[[stage]]
kind = "evaluate"
prediction = "up.h5"
reference = "{files["sim"]}"
out = "report"
fid = false
baselines = ["linear"]
"""
    )
    return path


def test_run_a_pipeline_then_skip_then_redo_what_changed(files, tmp_path, capsys):
    pipe = write_pipeline(tmp_path / "p.toml", files)
    out = tmp_path / "run"
    assert cli("run", pipe, "--out", out) == 0
    log = capsys.readouterr().out
    assert log.count(": running") == 3
    assert (out / "up.h5").is_file() and (out / "vtk" / "up_sr.pvd").is_file()
    assert (out / "report" / "report.md").is_file()
    state = json.loads((out / "pipeline_state.json").read_text())
    assert set(state) == {"upscale", "export", "evaluate"}
    first = (out / "up.h5").stat().st_mtime_ns
    assert cli("run", pipe, "--out", out) == 0
    assert capsys.readouterr().out.count("complete, skipped") == 3
    assert (out / "up.h5").stat().st_mtime_ns == first
    # a changed stage option reruns that stage, and the stages reading its output
    pipe.write_text(
        pipe.read_text().replace('fields = ["density"]', 'fields = ["density", "velocity"]')
    )
    assert cli("run", pipe, "--out", out) == 0
    log = capsys.readouterr().out
    assert "upscale (upscale): complete, skipped" in log and "export (export): done" in log
    # a removed output reruns its stage; a newer input file reruns the stages reading it
    (out / "report" / "metrics.json").unlink()
    os.utime(out / "up.h5")
    assert cli("run", pipe, "--out", out) == 0
    log = capsys.readouterr().out
    assert "export (export): done" in log and "evaluate (evaluate): done" in log


def test_an_interrupted_training_stage_exits_130_and_says_how_to_resume(
    files, tmp_path, capsys, monkeypatch
):
    import pipelines.train

    def interrupted(cfg, data, out, **kw):  # what Ctrl-C during training returns
        return {"status": "interrupted", "iterations": 1, "checkpoint": None}

    monkeypatch.setattr(pipelines.train, "train", interrupted)
    pipe = tmp_path / "t.toml"
    pipe.write_text(f'[[stage]]\nkind = "train"\ndata = "{files["dir"] / "sim"}"\nout = "run"\n')
    assert cli("run", pipe, "--out", tmp_path / "r", "--quiet") == 130
    one_line_error(capsys, "training interrupted", "rerun to resume")
    state = tmp_path / "r" / "pipeline_state.json"  # the stage is not recorded as complete
    assert not state.exists() or "train" not in json.loads(state.read_text())


def test_bad_pipeline_files_are_one_line_errors(files, tmp_path, capsys):
    pipe = write_pipeline(tmp_path / "p.toml", files, '\n[[stage]]\nkind = "render"\n')
    assert cli("run", pipe, "--out", tmp_path / "r") == 2
    one_line_error(capsys, "p.toml", "'render'", "simulate")
    pipe = write_pipeline(
        tmp_path / "q.toml",
        files,
        '\n[[stage]]\nkind = "export"\nname = "e2"\ninput = "up.h5"\nout = "v"\ncolour = 1\n',
    )
    assert cli("run", pipe, "--out", tmp_path / "r") == 2
    one_line_error(capsys, "q.toml", "'colour'", "export")
    pipe = write_pipeline(
        tmp_path / "d.toml", files, '\n[[stage]]\nkind = "export"\ninput = "up.h5"\nout = "v"\n'
    )
    assert cli("run", pipe, "--out", tmp_path / "r") == 2
    one_line_error(capsys, "d.toml", "'export'", "twice")


def test_quickstart_pipeline_is_valid():
    from pipelines.run import QUICKSTART, load_pipeline

    data, path = load_pipeline(None)
    assert path == QUICKSTART
    kinds = [s["kind"] for s in data["stage"]]
    assert kinds[:3] == ["simulate", "simulate", "train"]
    assert {"upscale", "export", "evaluate"} <= set(kinds)


def test_pretrained_pipeline_runs_shrunk(tmp_path):
    """``fluidgan run pretrained2d`` on a small grid: the shipped model upscales a held-out
    simulation of its training scene, and the report scores it against the baselines."""
    import tomli_w

    from pipelines.run import load_pipeline

    data, _ = load_pipeline("pretrained2d")
    simulate = data["stage"][0]
    assert (simulate["scene"], simulate["seed"]) == ("training", 1001)  # held out: seed 1 trains
    simulate |= {"res": 64, "frames": 6}
    for spec in data["stage"]:
        if spec["kind"] == "preview":
            spec["frames"] = "2:6"
    pipe = tmp_path / "p.toml"
    pipe.write_text(tomli_w.dumps(data))
    assert cli("run", pipe, "--out", tmp_path / "r") == 0
    metrics = json.loads((tmp_path / "r" / "report" / "metrics.json").read_text())
    assert set(metrics["methods"]) == {"model", "nearest", "linear", "cubic"}
    assert metrics["methods"]["model"]["hf_energy_fraction"] > metrics["methods"]["cubic"][
        "hf_energy_fraction"
    ]


@pytest.mark.slow
def test_run_a_tiny_full_chain_and_resume(tmp_path, capsys):
    """simulate -> train (2 iterations) -> upscale -> export -> evaluate, then a rerun."""
    pipe = tmp_path / "tiny.toml"
    pipe.write_text(
        """
[[stage]]
kind = "simulate"
out = "data"
scene = "plume"
dim = 2
res = 32
frames = 6
sims = 2
seed = 1

[[stage]]
kind = "train"
data = "data"
out = "train"
config = "cpu_small2d"
iterations = 2
set = ["data.tile=4", "batch_size=3", "preview_every=0", "validation_samples=2",
       "preview_samples=1", "data.workers=0", "tensorboard=false"]

[[stage]]
kind = "upscale"
checkpoint = "train"
input = "data/sim_00001.h5"
out = "up.h5"

[[stage]]
kind = "export"
input = "up.h5"
out = "vtk"

[[stage]]
kind = "evaluate"
prediction = "up.h5"
reference = "data/sim_00001.h5"
out = "report"
fid = false
"""
    )
    out = tmp_path / "run"
    assert cli("run", pipe, "--out", out) == 0
    assert capsys.readouterr().out.count(": done") == 5
    assert (out / "train" / "checkpoints" / "ckpt_00000002.pt").is_file()
    assert (out / "vtk" / "up_high.pvd").is_file() and (out / "report" / "metrics.json").is_file()
    assert cli("run", pipe, "--out", out) == 0
    assert capsys.readouterr().out.count("complete, skipped") == 5
