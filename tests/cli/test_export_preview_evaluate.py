"""``fluidgan export vtk``, ``fluidgan preview`` and ``fluidgan evaluate`` as a user runs them."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from scipy import ndimage

from fluidgan import cli as cli_module
from fluidgan.cli import main
from fluidgan.config import load_toml
from fluidgan.io.simfile import SimMeta, SimWriter
from solvers.lowres import derive_low

NEW_COMMANDS = {
    "export": "fluidgan.cli.export:export",
    "preview": "fluidgan.cli.preview:preview",
    "evaluate": "fluidgan.cli.evaluate:evaluate",
}


@pytest.fixture(autouse=True)
def commands(monkeypatch):
    for name, target in NEW_COMMANDS.items():
        monkeypatch.setitem(cli_module.COMMANDS, name, target)


def cli(*args: str) -> int:
    with pytest.raises(SystemExit) as exit_info:
        main([str(a) for a in args])
    return exit_info.value.code


def smooth(rng, shape, sigma=1.5):
    return ndimage.gaussian_filter(rng.standard_normal(shape), sigma, mode="wrap")


def write_sim(path, high=(16, 24), factor=4, frames=4, sr="perfect", seed=0):
    """A small smoke-like sequence; ``sr``: "perfect" (= high), "noisy", or None (no /sr)."""
    rng = np.random.default_rng(seed)
    dim = len(high)
    low = tuple(n // factor for n in high)
    groups = ("high", "low") if sr is None else ("high", "low", "sr")
    with SimWriter(path, SimMeta(dim, factor, 0.5, seed), frames, high, low, groups=groups) as w:
        for t in range(frames):
            density = np.clip(smooth(rng, high) * 2 + 0.3, 0, None).astype(np.float32)
            density[..., : high[-1] // 6] = 0.0  # some air
            velocity = np.stack([smooth(rng, high) for _ in range(dim)], -1).astype(np.float32)
            low_density, low_velocity = derive_low(density, velocity, factor)
            fields = {
                "high/density": density,
                "high/velocity": velocity,
                "low/density": low_density,
                "low/velocity": low_velocity,
            }
            if sr == "perfect":
                fields["sr/density"] = density
            elif sr == "noisy":
                noise = 0.05 * rng.standard_normal(high)
                fields["sr/density"] = np.clip(density + noise, 0, None).astype(np.float32)
            w.write_frame(0.5 * (t + 1), **fields)
    return path


@pytest.fixture(scope="module")
def sims(tmp_path_factory):
    d = tmp_path_factory.mktemp("sims")
    return {
        "2d": write_sim(d / "sim2.h5"),
        "2d_noisy": write_sim(d / "up2.h5", sr="noisy"),
        "2d_plain": write_sim(d / "plain2.h5", sr=None),
        "2d_other": write_sim(d / "other2.h5", seed=9),
        "3d": write_sim(d / "sim3.h5", high=(8, 12, 16), frames=3, sr="noisy"),
    }


# --------------------------------------------------------------------------- export


def test_export_vtk_writes_readable_volumes(sims, tmp_path):
    vtk = pytest.importorskip("vtk")
    out = tmp_path / "vtk"
    assert (
        cli(
            "export",
            "vtk",
            sims["3d"],
            "--out",
            out,
            "--group",
            "low,sr",
            "--frames",
            "1:",
            "--quiet",
        )
        == 0
    )
    assert load_toml(out / "export.config.toml")["frames"] == "1:"  # the resolved config
    names = sorted(p.name for p in out.iterdir() if p.suffix != ".toml")
    assert names == [
        "sim3_low.pvd",
        "sim3_low_0001.vti",
        "sim3_low_0002.vti",
        "sim3_sr.pvd",
        "sim3_sr_0001.vti",
        "sim3_sr_0002.vti",
    ]
    reader = vtk.vtkXMLImageDataReader()
    reader.SetFileName(str(out / "sim3_sr_0002.vti"))
    reader.Update()
    image = reader.GetOutput()
    assert image.GetDimensions() == (16, 12, 8)
    import h5py

    with h5py.File(sims["3d"]) as f:
        expected = f["sr/density"][2, 5, 7, 11]  # (t, z, y, x)
    got = image.GetPointData().GetArray("density").GetTuple1(image.ComputePointId([11, 7, 5]))
    assert got == expected


def test_export_vtk_bad_group_is_one_line_exit_2(sims, tmp_path, capsys):
    assert cli("export", "vtk", sims["2d_plain"], "--out", tmp_path / "v", "--group", "sr") == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "no /sr group" in err and "plain2.h5" in err


# --------------------------------------------------------------------------- preview


@pytest.mark.parametrize(
    "key, name, field",
    [
        ("2d", "p.png", "density"),
        ("3d", "p.png", "velocity"),
        ("2d", "p.gif", "vorticity"),
        ("3d", "p.gif", "density"),
    ],
)
def test_preview_writes_images(sims, tmp_path, key, name, field):
    import matplotlib.image

    out = tmp_path / name
    assert (
        cli(
            "preview",
            sims[key],
            "--out",
            out,
            "--field",
            field,
            "--count",
            "2",
            "--frames",
            "0:2",
            "--quiet",
        )
        == 0
    )
    assert out.stat().st_size > 1000
    config = name.rsplit(".", 1)[0] + ".config.toml"  # the resolved config, beside it
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([name, config])  # no tmp file
    assert load_toml(tmp_path / config)["field"] == field
    if name.endswith(".png"):
        height, width = matplotlib.image.imread(out).shape[:2]
        assert width > height / 2  # three columns side by side


def test_preview_mp4_without_ffmpeg_is_a_clear_error(sims, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    assert cli("preview", sims["2d"], "--out", tmp_path / "p.mp4") == 2
    assert "ffmpeg" in capsys.readouterr().err
    assert not list(tmp_path.iterdir())


@pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="no ffmpeg binary")
def test_preview_mp4_with_ffmpeg(sims, tmp_path):
    out = tmp_path / "p.mp4"
    assert cli("preview", sims["2d"], "--out", out, "--quiet") == 0
    assert out.stat().st_size > 1000


def test_preview_bad_suffix(sims, tmp_path, capsys):
    assert cli("preview", sims["2d"], "--out", tmp_path / "p.jpg") == 2
    assert ".png, .gif, .mp4" in capsys.readouterr().err


# --------------------------------------------------------------------------- evaluate


def test_evaluate_perfect_model_against_baselines(sims, tmp_path):
    out = tmp_path / "report"
    assert (
        cli(
            "evaluate",
            "--prediction",
            sims["2d"],
            "--reference",
            sims["2d"],
            "--out",
            out,
            "--no-fid",
            "--quiet",
        )
        == 0
    )
    for name in (
        "metrics.json",
        "report.md",
        "spectra.png",
        "temporal.png",
        "preview.png",
        "config.toml",
    ):
        assert (out / name).is_file(), name
    metrics = json.loads((out / "metrics.json").read_text())  # strict JSON: no NaN/Infinity
    methods = metrics["methods"]
    assert list(methods) == ["model", "nearest", "linear", "cubic"]
    model = methods["model"]
    assert model["psnr"] == "inf" and model["ssim"] == pytest.approx(1.0)
    assert model["hf_energy_fraction"] == pytest.approx(1.0)
    assert model["warping_error_ratio"] == pytest.approx(1.0)
    for name in ("nearest", "linear", "cubic"):
        b = methods[name]
        assert 0 < b["psnr"] < 60 and b["ssim"] < 1 and b["rel_l2"] > 0
    for name in ("linear", "cubic"):  # smooth interpolation misses the small scales
        assert methods[name]["hf_energy_fraction"] < 0.5
    assert metrics["fid"] == {"status": "disabled"}
    report = (out / "report.md").read_text()
    assert "| model |" in report and "| cubic |" in report and "![spectra](spectra.png)" in report


def test_evaluate_noisy_model_and_fid_with_a_registered_extractor(sims, tmp_path, monkeypatch):
    from feature_helpers import register_thumbnails

    register_thumbnails(monkeypatch, "pixels")  # 8x8 thumbnails: enough for the FID plumbing
    out = tmp_path / "r"
    assert (
        cli(
            "evaluate",
            "--prediction",
            sims["2d_noisy"],
            "--reference",
            sims["2d_noisy"],
            "--out",
            out,
            "--fid-features",
            "pixels",
            "--baselines",
            "nearest",
            "--quiet",
        )
        == 0
    )
    metrics = json.loads((out / "metrics.json").read_text())
    assert list(metrics["methods"]) == ["model", "nearest"]
    model = metrics["methods"]["model"]
    assert 20 < model["psnr"] < 40 and model["hf_energy_fraction"] > 1  # noise adds HF energy
    fid = metrics["fid"]
    assert fid["status"] == "ok" and fid["n_real"] == 4
    assert fid["methods"]["model"]["n"] == 4 and fid["methods"]["nearest"]["fid"] > 0


def test_evaluate_fid_unavailable_is_skipped_with_the_reason(sims, tmp_path):
    out = tmp_path / "r"
    assert (
        cli(
            "evaluate",
            "--prediction",
            sims["3d"],
            "--reference",
            sims["3d"],
            "--out",
            out,
            "--fid-features",
            "domain:nonexistent",
            "--baselines",
            "linear",
            "--quiet",
        )
        == 0
    )
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["fid"]["status"] == "skipped"
    assert "nonexistent" in metrics["fid"]["reason"]
    assert "FID: skipped" in (out / "report.md").read_text()
    assert metrics["dim"] == 3 and metrics["spectra"]["k_low_nyquist"] == 2.0


def test_evaluate_without_sr_evaluates_baselines_only(sims, tmp_path):
    out = tmp_path / "r"
    assert (
        cli(
            "evaluate",
            "--prediction",
            sims["2d_plain"],
            "--reference",
            sims["2d_plain"],
            "--out",
            out,
            "--no-fid",
            "--set",
            "smoke_threshold=0.05",
            "--quiet",
        )
        == 0
    )
    metrics = json.loads((out / "metrics.json").read_text())
    assert list(metrics["methods"]) == ["nearest", "linear", "cubic"]
    assert metrics["settings"]["smoke_threshold"] == 0.05


def test_evaluate_refuses_unrelated_files(sims, tmp_path, capsys):
    code = cli(
        "evaluate",
        "--prediction",
        sims["2d"],
        "--reference",
        sims["2d_other"],
        "--out",
        tmp_path / "r",
        "--no-fid",
    )
    assert code == 2
    assert "/low density differs" in capsys.readouterr().err
    assert (
        cli(
            "evaluate",
            "--prediction",
            sims["2d_plain"],
            "--reference",
            sims["2d_plain"],
            "--out",
            tmp_path / "r",
            "--baselines",
            "none",
        )
        == 2
    )
    assert (
        cli(
            "evaluate",
            "--prediction",
            sims["2d"],
            "--reference",
            sims["2d"],
            "--out",
            tmp_path / "r",
            "--baselines",
            "lanczos",
        )
        == 2
    )
    assert "lanczos" in capsys.readouterr().err


def test_export_and_preview_take_config_files_and_sets(sims, tmp_path, capsys):
    config = tmp_path / "export.toml"
    config.write_text('groups = ["low"]\nfields = ["density"]\n')
    out = tmp_path / "vtk"
    assert cli("export", "vtk", sims["2d"], "--out", out, "--config", config, "--quiet") == 0
    assert {p.suffix for p in out.iterdir()} == {".vti", ".pvd", ".toml"}
    assert all("_low" in p.name for p in out.iterdir() if p.suffix != ".toml")
    png = tmp_path / "p.png"
    assert cli("preview", sims["2d"], "--out", png, "--set", "count=1", "--quiet") == 0
    assert load_toml(tmp_path / "p.config.toml")["count"] == 1
    assert cli("preview", sims["2d"], "--out", png, "--set", "fps=0") == 2
    err = capsys.readouterr().err
    assert "fps must be >= 1" in err and err.count("\n") == 1
