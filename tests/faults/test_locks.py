"""Locked, read-only and shared outputs: who holds what, said in one line."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from fault_helpers import ROOT, cli, one_line_error

from fluidgan.errors import Fault
from fluidgan.io import lock
from fluidgan.io.faults import LOCKED

SIM_ARGS = ("--scene", "plume", "--dim", "2", "--res", "32", "--frames", "2", "--seed", "1")


def hold(code: str) -> subprocess.Popen:
    """A second process that runs ``code`` (setup), prints 'ready' and waits for stdin."""
    script = textwrap.dedent(code) + "\nprint('ready', flush=True)\nsys.stdin.read()\n"
    proc = subprocess.Popen(
        [sys.executable, "-c", "import sys\n" + script],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    assert proc.stdout.readline().strip() == "ready"
    return proc


def release(proc: subprocess.Popen) -> None:
    proc.stdin.close()
    proc.wait(timeout=30)


@pytest.fixture
def writer_holds(inputs):
    """Another process holds the input simulation open for writing (HDF5 file lock)."""
    proc = hold(f"import h5py\nf = h5py.File({str(inputs['sim'])!r}, 'r+')")
    yield inputs["sim"]
    release(proc)


def test_a_file_open_for_writing_elsewhere_is_locked_not_corrupt(
    writer_holds, inputs, tmp_path, capsys
):
    sim = writer_holds
    assert cli("export", "vtk", sim, "--out", tmp_path / "vtk") == 1
    err = one_line_error(capsys, sim, LOCKED)
    assert "not an HDF5 file" not in err
    assert cli("preview", sim, "--out", tmp_path / "p.png") == 1
    one_line_error(capsys, sim, LOCKED)
    assert cli("info", sim) == 1
    one_line_error(capsys, sim, LOCKED)
    up = ("--checkpoint", inputs["checkpoint"], "--input", sim, "--out", tmp_path / "up.h5")
    assert cli("upscale", *up) == 1
    one_line_error(capsys, sim, LOCKED)


def test_a_file_that_is_not_hdf5_is_still_said_so(tmp_path, capsys):
    bad = tmp_path / "junk.h5"
    bad.write_bytes(b"not hdf5 at all" * 10)
    assert cli("export", "vtk", bad, "--out", tmp_path / "vtk") == 2
    one_line_error(capsys, bad, "not an HDF5 file")


# --- read-only destinations ---------------------------------------------------------------


def test_read_only_destinations_are_named(inputs, tmpfs, capsys):
    ro = tmpfs("1m", "ro")
    assert cli("export", "vtk", inputs["sim"], "--out", ro / "vtk", "-q") == 1
    one_line_error(capsys, ro / "vtk", "read-only file system")
    assert cli("simulate", *SIM_ARGS, "--out", ro / "ds", "-q") == 1
    one_line_error(capsys, ro / "ds", "read-only file system")
    up = ("--checkpoint", inputs["checkpoint"], "--input", inputs["sim"], "--out", ro / "u.h5")
    assert cli("upscale", *up, "-q") == 1
    one_line_error(capsys, ro / "u.h5", "read-only file system")
    assert cli("preview", inputs["sim"], "--out", ro / "p.png") == 1
    one_line_error(capsys, ro / "p.png", "read-only file system")


def test_permission_denied_is_named(inputs, tmp_path, capsys, monkeypatch):
    """(As root, permissions are not enforced: the error is injected where a write fails.)"""
    import errno

    import pipelines.export as export

    def denied(path, *a, **k):
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES))

    monkeypatch.setattr(export, "write_frame_vti", denied)
    out = tmp_path / "vtk"
    assert cli("export", "vtk", inputs["sim"], "--out", out, "-q") == 1
    one_line_error(capsys, out, "permission denied", "0 of 24 frames exported")


# --- one run per output ---------------------------------------------------------------------


def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def write_lock(path: Path, **owner) -> None:
    record = {**lock.owner_record(), **owner}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record))


def test_lock_is_exclusive_and_released(tmp_path):
    path = tmp_path / "x.lock"
    with lock.run_lock(path, "upscale"):
        owner = json.loads(path.read_text())
        assert owner["pid"] == os.getpid() and owner["host"] == socket.gethostname()
        with pytest.raises(Fault, match=f"upscale is already running.*pid {os.getpid()}"):
            lock.acquire(path, "upscale")
    assert not path.exists()


def test_a_stale_lock_of_a_dead_process_is_taken_over(tmp_path):
    path = tmp_path / "x.lock"
    write_lock(path, pid=dead_pid(), start=None)
    with lock.run_lock(path, "train"):
        assert json.loads(path.read_text())["pid"] == os.getpid()
    assert not list(tmp_path.iterdir())  # no stale copies left behind


def test_a_reused_pid_is_not_the_owner(tmp_path):
    """The owner died and its pid now belongs to a process started later (here: us)."""
    path = tmp_path / "x.lock"
    start = lock.process_start(os.getpid())
    if start is None:
        pytest.skip("no /proc here: process start times are unknown")
    write_lock(path, start=start - 1)
    with lock.run_lock(path, "train"):
        assert json.loads(path.read_text())["start"] == start


def test_a_lock_held_on_another_host_says_which_file_to_delete(tmp_path):
    path = tmp_path / "x.lock"
    write_lock(path, host="node-17", pid=1234)
    with pytest.raises(Fault, match="pid 1234 on node-17.*another host.*delete the lock file"):
        lock.acquire(path, "simulate")
    assert json.loads(path.read_text())["host"] == "node-17"  # left alone


def test_a_second_simulate_on_the_same_output_refuses(tmp_path, capsys):
    out = tmp_path / "ds"
    shard = out / "simulate.shard-0-of-1.lock"
    proc = hold(f"from fluidgan.io.lock import acquire\nacquire({str(shard)!r}, 'simulate')")
    try:
        assert cli("simulate", *SIM_ARGS, "--out", out, "-q") == 1
        one_line_error(capsys, shard, "simulate is already running", f"pid {proc.pid}")
        assert not list(out.glob("sim_*"))
    finally:
        release(proc)


def test_shards_of_another_count_refuse_but_other_shards_run(tmp_path, capsys):
    out = tmp_path / "ds"
    other = out / "simulate.shard-0-of-3.lock"
    proc = hold(f"from fluidgan.io.lock import acquire\nacquire({str(other)!r}, 'simulate')")
    try:
        assert cli("simulate", *SIM_ARGS, "--sims", 2, "--shard", "1/2", "--out", out) == 1
        one_line_error(capsys, "--shard 0/3 is writing here", "must share N")
        assert cli("simulate", *SIM_ARGS, "--sims", 3, "--shard", "1/3", "--out", out, "-q") == 0
        assert [p.name for p in out.glob("sim_*")] == ["sim_00001.h5"]
    finally:
        release(proc)


def test_a_second_export_of_the_same_input_refuses(inputs, tmp_path, capsys):
    out = tmp_path / "vtk"
    path = out / "seq.export.lock"
    proc = hold(f"from fluidgan.io.lock import acquire\nacquire({str(path)!r}, 'export vtk')")
    try:
        assert cli("export", "vtk", inputs["sim"], "--out", out, "-q") == 1
        one_line_error(capsys, path, "export vtk is already running")
        assert not list(out.glob("*.vti"))
    finally:
        release(proc)


def test_a_second_train_on_the_same_run_refuses(tmp_path):
    from pipelines.train import train

    run = tmp_path / "run"
    path = run / "train.lock"
    proc = hold(f"from fluidgan.io.lock import acquire\nacquire({str(path)!r}, 'train')")
    try:
        with pytest.raises(Fault, match="train is already running"):
            train({}, tmp_path / "no-data", run)
    finally:
        release(proc)
