"""Long stages killed (SIGKILL, Ctrl-C) resume from the frames done, and the result is
what an uninterrupted run writes, bit for bit."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import h5py
import numpy as np
import pytest
from fault_helpers import ROOT, cli, one_line_error

from fluidgan.io.simfile import read_sim
from fluidgan.io.vtk import write_frame_vti
from pipelines.upscale import UpscaleConfig, upscale

GROUPS = ("low", "sr", "high")
KEYS = ("time", *(f"{g}/{n}" for g in GROUPS for n in ("density", "velocity")))


def assert_same_sim(a: Path, b: Path) -> None:
    x, y = read_sim(a, GROUPS), read_sim(b, GROUPS)
    for key in KEYS:
        np.testing.assert_array_equal(x[key], y[key], err_msg=key)
    with h5py.File(a) as fa, h5py.File(b) as fb:
        assert dict(fa.attrs) == dict(fb.attrs)
        assert dict(fa["sr"].attrs) == dict(fb["sr"].attrs)
        assert "partial" not in fa


def same_tree(a: Path, b: Path) -> None:
    names = sorted(p.name for p in a.iterdir())
    assert names == sorted(p.name for p in b.iterdir())
    for name in names:
        assert (a / name).read_bytes() == (b / name).read_bytes(), name


def spy_on_export(monkeypatch, stop_after: int | None = None) -> list[str]:
    """The names of the frames ``export vtk`` writes from now on, in order; with
    ``stop_after``, a Ctrl-C once that many are written."""
    import pipelines.export as export

    written: list[str] = []

    def spy(path, *a, **k):
        if len(written) == stop_after:
            raise KeyboardInterrupt
        written.append(Path(path).name)
        return write_frame_vti(path, *a, **k)

    monkeypatch.setattr(export, "write_frame_vti", spy)
    return written


def run_slowly(patch: str, marker: Path, *args) -> subprocess.Popen:
    """``fluidgan ARGS`` in a subprocess where ``patch`` (a dotted method) writes the frames
    done to ``marker`` after each call and then sleeps, so the test can kill it mid-run."""
    module, cls, method = patch.rsplit(".", 2)
    script = textwrap.dedent(
        f"""
        import importlib, sys, time
        from pathlib import Path
        cls = getattr(importlib.import_module({module!r}), {cls!r})
        original = getattr(cls, {method!r})
        calls = [0]
        def slowly(self, *a, **k):
            out = original(self, *a, **k)
            calls[0] += 1
            Path({str(marker)!r}).write_text(str(calls[0]))
            time.sleep(0.25)
            return out
        setattr(cls, {method!r}, slowly)
        from fluidgan.cli import main
        main(sys.argv[1:])
        """
    )
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.Popen(
        [sys.executable, "-c", script, *map(str, args)],
        cwd=ROOT,
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )


def kill_after(proc: subprocess.Popen, marker: Path, calls: int) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if marker.exists() and marker.read_text() and int(marker.read_text()) >= calls:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            return
        assert proc.poll() is None, proc.stderr.read()
        time.sleep(0.02)
    proc.kill()
    raise AssertionError("the stage never got that far")


@pytest.fixture(scope="module")
def uninterrupted(inputs, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("whole") / "up.h5"
    upscale(inputs["checkpoint"], inputs["sim"], out, UpscaleConfig(batch=1))
    return out


def test_upscale_killed_resumes_from_the_frames_done(inputs, uninterrupted, tmp_path):
    out, marker = tmp_path / "up.h5", tmp_path / "marker"
    args = ("upscale", "--checkpoint", inputs["checkpoint"], "--input", inputs["sim"])
    proc = run_slowly(
        "fluidgan.io.partial.ResumableWriter.checkpoint", marker, *args, "--out", out, "--batch", 1
    )
    kill_after(proc, marker, 3)
    assert not out.exists()
    partial = tmp_path / "up.h5.partial"
    with h5py.File(partial) as f:
        done = int(f["partial"].attrs["done"])
    assert 3 <= done < 12
    assert (tmp_path / "up.h5.lock").exists()  # left by the killed run: stale

    result = upscale(inputs["checkpoint"], inputs["sim"], out, UpscaleConfig(batch=1))
    assert f"resumed after {done} frames done by an interrupted run" in result["notes"]
    assert_same_sim(out, uninterrupted)
    assert not partial.exists() and not (tmp_path / "up.h5.lock").exists()


def test_upscale_ctrl_c_says_how_far_it_got_and_resumes(
    inputs, uninterrupted, tmp_path, capsys, monkeypatch
):
    from fluidgan.io.partial import ResumableWriter

    original = ResumableWriter.checkpoint
    calls = []

    def checkpoint(self):
        original(self)
        calls.append(1)
        if len(calls) == 5:
            raise KeyboardInterrupt

    monkeypatch.setattr(ResumableWriter, "checkpoint", checkpoint)
    out = tmp_path / "up.h5"
    args = ("--checkpoint", inputs["checkpoint"], "--input", inputs["sim"], "--out", out)
    assert cli("upscale", *args, "--batch", 1, "-q") == 130
    one_line_error(capsys, "interrupted: 5 of 12 frames done", "rerun the same command")
    monkeypatch.undo()
    result = upscale(inputs["checkpoint"], inputs["sim"], out, UpscaleConfig(batch=1))
    assert "resumed after 5 frames done by an interrupted run" in result["notes"]
    assert_same_sim(out, uninterrupted)


def interrupt_after(monkeypatch, frames: int) -> None:
    from fluidgan.io.partial import ResumableWriter

    original = ResumableWriter.checkpoint

    def checkpoint(self):
        original(self)
        if self.recorded == frames:
            raise KeyboardInterrupt

    monkeypatch.setattr(ResumableWriter, "checkpoint", checkpoint)


def test_a_damaged_partial_file_is_redone(inputs, uninterrupted, tmp_path, monkeypatch):
    out = tmp_path / "up.h5"
    interrupt_after(monkeypatch, 6)
    with pytest.raises(Exception, match="interrupted"):
        upscale(inputs["checkpoint"], inputs["sim"], out, UpscaleConfig(batch=1))
    monkeypatch.undo()
    partial = tmp_path / "up.h5.partial"
    with h5py.File(partial, "r+") as f:  # a frame recorded done no longer matches its CRC
        f["sr/density"][2, 0, 0] += 1.0
    result = upscale(inputs["checkpoint"], inputs["sim"], out, UpscaleConfig(batch=1))
    assert not any("resumed" in n for n in result["notes"])
    assert_same_sim(out, uninterrupted)


def test_a_partial_file_of_another_checkpoint_is_redone(inputs, tmp_path, monkeypatch):
    ckpt = tmp_path / "g.pt"
    ckpt.write_bytes(inputs["checkpoint"].read_bytes())
    out = tmp_path / "up.h5"
    interrupt_after(monkeypatch, 4)
    with pytest.raises(Exception, match="interrupted"):
        upscale(ckpt, inputs["sim"], out, UpscaleConfig(batch=1))
    monkeypatch.undo()
    st = ckpt.stat()
    os.utime(ckpt, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))  # a retrained checkpoint
    result = upscale(ckpt, inputs["sim"], out, UpscaleConfig(batch=1))
    assert not any("resumed" in n for n in result["notes"])


def test_coarse_mode_resumes_after_the_frames_done(inputs, tmp_path, monkeypatch):
    """The coarse solver reruns from the start (its state is not saved), the generator
    only for the frames not done; the file equals an uninterrupted run's."""
    from pipelines.upscale import resolve_config, upscale_coarse

    config = resolve_config(
        scene="plume", dim=2, coarse_res=[8], factor=4, frames=6, compare_frames=0, batch=1
    )
    whole = tmp_path / "whole.h5"
    upscale_coarse(inputs["checkpoint"], whole, config)
    out = tmp_path / "c.h5"
    interrupt_after(monkeypatch, 4)
    with pytest.raises(Exception, match="interrupted: 4 of 6 frames done"):
        upscale_coarse(inputs["checkpoint"], out, config)
    monkeypatch.undo()
    upscale_coarse(inputs["checkpoint"], out, config)
    x, y = read_sim(out, ("low", "sr")), read_sim(whole, ("low", "sr"))
    for key in ("time", "low/density", "low/velocity", "sr/density", "sr/velocity"):
        np.testing.assert_array_equal(x[key], y[key], err_msg=key)


# --- export -------------------------------------------------------------------------------


def test_export_killed_resumes_and_writes_the_same_files(inputs, tmp_path, monkeypatch):
    whole = tmp_path / "whole"
    assert cli("export", "vtk", inputs["sim"], "--out", whole, "-q") == 0
    out, marker = tmp_path / "vtk", tmp_path / "marker"
    args = ("export", "vtk", inputs["sim"], "--out", out, "-q")
    proc = run_slowly("pipelines.export.ExportRecord.mark_done", marker, *args)
    kill_after(proc, marker, 4)
    done = json.loads((out / "seq.export.json").read_text())["done"]
    assert 4 <= len(done) < 24 and not (out / "export.config.toml").exists()
    written = spy_on_export(monkeypatch)
    assert cli(*args) == 0
    assert len(written) == 24 - len(done) and not set(written) & set(done)
    same_tree(out, whole)


def test_export_of_a_changed_input_is_redone(inputs, tmp_path, monkeypatch):
    source = tmp_path / "seq.h5"
    source.write_bytes(inputs["sim"].read_bytes())
    out = tmp_path / "vtk"
    spy_on_export(monkeypatch, stop_after=5)
    assert cli("export", "vtk", source, "--out", out, "-q") == 130
    assert (out / "seq.export.json").exists()
    os.utime(source)  # rewritten meanwhile (e.g. by a new upscale): the frames are stale
    written = spy_on_export(monkeypatch)
    assert cli("export", "vtk", source, "--out", out, "-q") == 0
    assert len(written) == 24
    assert not (out / "seq.export.json").exists()  # complete: no record left


# --- fluidgan run ---------------------------------------------------------------------------


def test_run_resumes_a_pipeline_at_the_interrupted_stage(inputs, tmp_path, capsys, monkeypatch):
    pipe = tmp_path / "p.toml"
    pipe.write_text(
        textwrap.dedent(
            f"""
            [[stage]]
            kind = "upscale"
            checkpoint = "{inputs["checkpoint"]}"
            input = "{inputs["sim"]}"
            out = "up.h5"

            [[stage]]
            kind = "export"
            input = "up.h5"
            out = "vtk"
            """
        )
    )
    spy_on_export(monkeypatch, stop_after=5)
    out = tmp_path / "run"
    assert cli("run", pipe, "--out", out, "--quiet") == 130
    one_line_error(capsys, "interrupted", "5 of 36 frames exported")
    written = spy_on_export(monkeypatch)
    assert cli("run", pipe, "--out", out) == 0
    log = capsys.readouterr().out
    assert "upscale (upscale): complete, skipped" in log
    assert len(written) == 36 - 5
