"""A full disk in every stage that writes: one line naming the path and what was done,
exit code 1, nothing half-written under a final name, and a rerun that resumes."""

from __future__ import annotations

import filecmp
import os
from pathlib import Path

import h5py
import numpy as np
import pytest
import tomli_w
import torch
from fault_helpers import TINY_TRAIN, cli, disk_full, make_dataset, one_line_error, run_fluidgan

from fluidgan.io.simfile import read_sim
from fluidgan.train.checkpoint import list_checkpoints, load_checkpoint
from pipelines.simulate import resolve_config, simulate

SIM_ARGS = ("--scene", "plume", "--dim", "2", "--res", "32", "--frames", "3", "--seed", "1")


def leftovers(folder: Path) -> list[Path]:
    """Temporary files a failed write must not leave behind."""
    return [p for p in folder.rglob("*") if ".tmp" in p.name]


def same_files(a: Path, b: Path, names) -> None:
    for name in names:
        assert filecmp.cmp(a / name, b / name, shallow=False), name


def kib_pages(n: float) -> str:
    """A tmpfs size of about ``n`` bytes, in whole 4 KiB pages."""
    return f"{4 * max(1, round(n / 4096))}k"


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> Path:
    """The dataset an uninterrupted `fluidgan simulate` writes."""
    out = tmp_path_factory.mktemp("reference") / "ds"
    config = resolve_config(scene="plume", dim=2, res=[32], frames=3, sims=2, seed=1)
    simulate(config, out, progress=False)
    return out


# --- simulate -----------------------------------------------------------------------------


def test_simulate_disk_full_names_the_file_and_the_count_then_resumes(
    reference, tmp_path, capsys, fill_disk_after, monkeypatch
):
    out = tmp_path / "ds"
    fill_disk_after(3, only="/high/density")  # the first of 2 sims (3 frames) fits
    assert cli("simulate", *SIM_ARGS, "--sims", 2, "--out", out, "-q") == 1
    err = one_line_error(capsys, out / "sim_00001.h5", "disk full", "1 of 2 simulations complete")
    assert "rerun" in err
    assert sorted(p.name for p in out.glob("sim_*")) == ["sim_00000.h5"]  # nothing partial
    assert not leftovers(out)
    first = (out / "sim_00000.h5").stat().st_mtime_ns

    monkeypatch.undo()  # space freed
    assert cli("simulate", *SIM_ARGS, "--sims", 2, "--out", out, "-q") == 0
    assert (out / "sim_00000.h5").stat().st_mtime_ns == first  # kept, not redone
    same_files(out, reference, ["sim_00000.h5", "sim_00001.h5", "manifest.json"])


def test_simulate_into_a_full_tmpfs_exits_1_without_a_crash(reference, tmpfs):
    """The real thing: HDF5 on a file system that fills up (it used to segfault at exit,
    in h5py's destructors, after a delayed chunk write failed)."""
    disk = tmpfs("24k")
    out = disk / "ds"
    result = run_fluidgan("simulate", *SIM_ARGS, "--sims", 2, "--out", out, "-q")
    assert result.returncode == 1, (result.returncode, result.stderr[-2000:])
    err = result.stderr.strip()
    assert err.startswith("error:") and "\n" not in err, err
    assert "disk full" in err and "0 of 2 simulations complete" in err, err
    assert not list(out.glob("sim_*")), list(out.iterdir())  # nothing looks valid

    from fault_helpers import remount

    remount(disk, "size=4m")  # free space, rerun: the same files as an uninterrupted run
    config = resolve_config(scene="plume", dim=2, res=[32], frames=3, sims=2, seed=1)
    simulate(config, out, progress=False)
    same_files(out, reference, ["sim_00000.h5", "sim_00001.h5", "manifest.json"])


def test_simulate_refuses_early_when_the_rest_cannot_fit(reference, tmpfs, capsys):
    """Once one simulation is complete its size is the estimate for the others."""
    disk = tmpfs("2m")
    out = disk / "ds"
    out.mkdir()
    for name in ("sim_00000.h5", "manifest.json", "config.toml"):
        (out / name).write_bytes((reference / name).read_bytes())
    size = (out / "sim_00000.h5").stat().st_size
    free = os.statvfs(disk).f_bavail * os.statvfs(disk).f_frsize
    (disk / "filler").write_bytes(b"\0" * (free - size // 2))  # half a simulation left
    assert cli("simulate", *SIM_ARGS, "--sims", 2, "--out", out, "-q") == 1
    one_line_error(capsys, "not enough free space for 1 more simulation", "1 of 2 simulations")
    assert not (out / "sim_00001.h5").exists() and not leftovers(out)


def test_simulate_refuses_after_the_first_frame_when_the_dataset_cannot_fit(
    reference, tmpfs, capsys
):
    """No simulation complete yet: the first frame's compressed size is the estimate."""
    disk = tmpfs(kib_pages((reference / "sim_00000.h5").stat().st_size * 0.9))
    out = disk / "ds"
    assert cli("simulate", *SIM_ARGS, "--sims", 2, "--out", out, "-q") == 1
    one_line_error(capsys, "not enough free space for 2 simulations of 3 frames", "0 of 2")
    assert not list(out.glob("sim_*"))


# --- upscale ------------------------------------------------------------------------------


def test_upscale_disk_full_keeps_the_frames_done_and_resumes(
    inputs, tmp_path, capsys, fill_disk_after, monkeypatch
):
    args = ("--checkpoint", inputs["checkpoint"], "--input", inputs["sim"], "--batch", "2", "-q")
    whole = tmp_path / "whole.h5"
    assert cli("upscale", *args, "--out", whole) == 0
    capsys.readouterr()

    out = tmp_path / "up.h5"
    fill_disk_after(5, only="/sr/density")  # frames 0-3 (two batches) are recorded done
    assert cli("upscale", *args, "--out", out) == 1
    one_line_error(capsys, "disk full", "4 of 12 frames done", "up.h5.partial", "rerun")
    assert not out.exists() and (tmp_path / "up.h5.partial").exists()
    assert not (tmp_path / "up.h5.lock").exists()

    monkeypatch.undo()
    from pipelines.upscale import UpscaleConfig, upscale

    result = upscale(inputs["checkpoint"], inputs["sim"], out, UpscaleConfig(batch=2))
    assert any("resumed after 4 frames" in n for n in result["notes"]), result["notes"]
    a, b = read_sim(out, ("low", "sr", "high")), read_sim(whole, ("low", "sr", "high"))
    for key in ("time", "low/density", "sr/density", "sr/velocity", "high/density"):
        np.testing.assert_array_equal(a[key], b[key])  # bit for bit
    with h5py.File(out) as f:
        assert "partial" not in f
    assert not (tmp_path / "up.h5.partial").exists()


def test_upscale_into_a_full_tmpfs_exits_1_and_resumes(inputs, tmp_path, tmpfs):
    whole = tmp_path / "whole.h5"
    from pipelines.upscale import UpscaleConfig, upscale

    upscale(inputs["checkpoint"], inputs["sim"], whole, UpscaleConfig(batch=1))
    disk = tmpfs(kib_pages(whole.stat().st_size / 3))  # full within the first frames
    out = disk / "up.h5"
    args = ("--checkpoint", inputs["checkpoint"], "--input", inputs["sim"], "--batch", 1)
    result = run_fluidgan("upscale", *args, "--out", out, "-q")
    assert result.returncode == 1, (result.returncode, result.stderr[-2000:])
    err = result.stderr.strip()
    assert err.startswith("error:") and "\n" not in err and "disk full" in err, err
    assert "of 12 frames done" in err and not out.exists()

    from fault_helpers import remount

    remount(disk, "size=4m")
    upscale(inputs["checkpoint"], inputs["sim"], out, UpscaleConfig(batch=1))
    a, b = read_sim(out, ("low", "sr", "high")), read_sim(whole, ("low", "sr", "high"))
    for key in ("time", "low/velocity", "sr/density", "high/density"):
        np.testing.assert_array_equal(a[key], b[key])


def test_upscale_refuses_early_with_the_estimate_then_resumes(inputs, tmp_path, tmpfs, capsys):
    """After the first frame its compressed size is the estimate for the others."""
    from pipelines.upscale import UpscaleConfig, upscale

    whole = tmp_path / "whole.h5"
    upscale(inputs["checkpoint"], inputs["sim"], whole, UpscaleConfig(batch=1))
    disk = tmpfs(kib_pages(whole.stat().st_size * 0.75))
    out = disk / "up.h5"
    args = ("--checkpoint", inputs["checkpoint"], "--input", inputs["sim"], "--batch", 1)
    assert cli("upscale", *args, "--out", out, "-q") == 1
    one_line_error(capsys, "not enough free space for 11 more frames", "1 of 12 frames done")
    from fault_helpers import remount

    remount(disk, "size=4m")
    result = upscale(inputs["checkpoint"], inputs["sim"], out, UpscaleConfig(batch=1))
    assert "resumed after 1 frames done by an interrupted run" in result["notes"]
    a, b = read_sim(out, ("low", "sr", "high")), read_sim(whole, ("low", "sr", "high"))
    for key in ("time", "low/velocity", "sr/density", "high/density"):
        np.testing.assert_array_equal(a[key], b[key])


# --- export, preview, evaluate ------------------------------------------------------------


def test_export_disk_full_names_the_count_then_resumes(inputs, tmp_path, capsys, monkeypatch):
    import pipelines.export as export

    whole = tmp_path / "whole"
    assert cli("export", "vtk", inputs["sim"], "--out", whole, "-q") == 0
    calls = {"n": 0}
    original = export.write_frame_vti

    def write(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] > 5:
            raise disk_full()
        return original(*args, **kwargs)

    monkeypatch.setattr(export, "write_frame_vti", write)
    out = tmp_path / "vtk"
    assert cli("export", "vtk", inputs["sim"], "--out", out, "-q") == 1
    one_line_error(capsys, out, "disk full", "5 of 24 frames exported", "rerun")
    assert len(list(out.glob("*.vti"))) == 5 and not leftovers(out)

    calls["n"] = -100  # space freed: only the 19 frames left are written
    assert cli("export", "vtk", inputs["sim"], "--out", out, "-q") == 0
    assert calls["n"] == -100 + 19
    names = sorted(p.name for p in whole.iterdir() if p.suffix in (".vti", ".pvd"))
    assert names == sorted(p.name for p in out.iterdir() if p.suffix in (".vti", ".pvd"))
    same_files(out, whole, names)


def savefig_fails(monkeypatch):
    from matplotlib.figure import Figure

    def savefig(self, *args, **kwargs):
        raise disk_full()

    monkeypatch.setattr(Figure, "savefig", savefig)


def test_preview_disk_full(inputs, tmp_path, capsys, monkeypatch):
    savefig_fails(monkeypatch)
    out = tmp_path / "p.png"
    assert cli("preview", inputs["sim"], "--out", out) == 1
    one_line_error(capsys, out, "disk full", "no preview written")
    assert not out.exists() and not leftovers(tmp_path)


def test_evaluate_disk_full(inputs, tmp_path, capsys, monkeypatch):
    savefig_fails(monkeypatch)
    out = tmp_path / "report"
    sim = inputs["sim"]
    args = ("--prediction", sim, "--reference", sim, "--out", out, "--no-fid")
    assert cli("evaluate", *args) == 1
    one_line_error(capsys, out, "disk full")
    assert not (out / "metrics.json").exists() and not leftovers(tmp_path)


# --- training -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    return make_dataset(tmp_path_factory.mktemp("train-data"))


def test_train_checkpoint_disk_full_keeps_the_last_checkpoint_and_resumes(
    dataset, tmp_path, capsys, monkeypatch
):
    config = tmp_path / "tiny.toml"
    config.write_text(tomli_w.dumps(TINY_TRAIN))
    run = tmp_path / "run"
    args = ("train", "--data", dataset, "--out", run, "--config", config, "--device", "cpu")
    saves = {"n": 0}
    original = torch.save

    def save(*a, **k):
        saves["n"] += 1
        if saves["n"] > 1:  # iteration 2 is saved, iteration 4 is not
            raise disk_full()
        return original(*a, **k)

    monkeypatch.setattr(torch, "save", save)
    assert cli(*args, "-q") == 1
    one_line_error(
        capsys, "ckpt_00000004.pt", "disk full", "4 of 6 iterations done", "ckpt_00000002.pt"
    )
    assert [p.name for p in list_checkpoints(run)] == ["ckpt_00000002.pt"]
    assert not leftovers(run) and not (run / "train.lock").exists()

    monkeypatch.undo()
    assert cli(*args, "--resume", "-q") == 0
    assert load_checkpoint(run)["iteration"] == 6


def test_train_log_disk_full_names_the_run(dataset, tmp_path, capsys, monkeypatch):
    from fluidgan.train.logging import MetricsLogger

    config = tmp_path / "tiny.toml"
    config.write_text(tomli_w.dumps(TINY_TRAIN))
    run = tmp_path / "run"
    original = MetricsLogger.log

    def log(self, iteration, metrics):
        if iteration > 3:
            raise disk_full()
        return original(self, iteration, metrics)

    monkeypatch.setattr(MetricsLogger, "log", log)
    args = ("train", "--data", dataset, "--out", run, "--config", config, "--device", "cpu")
    assert cli(*args, "-q") == 1
    one_line_error(capsys, run, "disk full", "4 of 6 iterations done", "ckpt_00000002.pt")


def test_gan_train_disk_full(tmp_path, capsys, monkeypatch):
    def save(*a, **k):
        raise disk_full()

    monkeypatch.setattr(torch, "save", save)
    out = tmp_path / "gan"
    sets = ["train.batch_size=8", "model.width=8", "model.z_dim=12", "eval.metrics=[]"]
    args = [a for s in sets for a in ("--set", s)]
    assert cli("gan", "train", "dcgan", "--out", out, "--iterations", 1, *args, "-q") == 1
    one_line_error(capsys, "checkpoint.pt", "disk full", "no checkpoint written yet", "--resume")
    assert not leftovers(out)
