"""Many writers on one dataset (``--shard K/N`` at once) and an input that vanishes
while training reads it."""

from __future__ import annotations

import gc
import json
import shutil
import socket
import subprocess
import sys
import textwrap
import time

import pytest
from fault_helpers import ROOT, TINY_TRAIN, make_dataset, run_fluidgan

from fluidgan.errors import Fault
from fluidgan.io.lock import exclusive
from fluidgan.train.checkpoint import latest_checkpoint, list_checkpoints, load_checkpoint
from pipelines.simulate import (
    MANIFEST_LOCK,
    prepare_output,
    resolve_config,
    sim_name,
    simulate,
)

SIM_ARGS = ("--scene", "plume", "--dim", "2", "--res", "32", "--frames", "2", "--seed", "4")


def test_manifest_rebuilds_take_turns(tmp_path):
    """A shard rebuilding the manifest waits while another one holds the lock, so it
    lists the files only after the other one's write."""
    out = tmp_path / "ds"
    config = resolve_config(scene="plume", dim=2, res=[32], frames=2, sims=2, seed=0)
    prepare_output(out, config, overwrite=False)
    child = textwrap.dedent(
        """
        import sys
        from pathlib import Path
        from pipelines.simulate import resolve_config, write_manifest
        config = resolve_config(scene="plume", dim=2, res=[32], frames=2, sims=2, seed=0)
        print("ready", flush=True)
        write_manifest(Path(sys.argv[1]), config)
        """
    )
    with exclusive(out / MANIFEST_LOCK):
        proc = subprocess.Popen(
            [sys.executable, "-c", child, str(out)], cwd=ROOT, stdout=subprocess.PIPE, text=True
        )
        assert proc.stdout.readline().strip() == "ready"
        (out / sim_name(1)).write_bytes(b"")  # this process's simulation, not yet listed
        time.sleep(0.5)
        assert proc.poll() is None  # waiting for the lock
        assert json.loads((out / "manifest.json").read_text())["complete"] == 0
    assert proc.wait(timeout=60) == 0
    assert json.loads((out / "manifest.json").read_text())["complete"] == 1


def test_three_shards_at_once_equal_one_process(tmp_path):
    """`fluidgan simulate --shard K/3` by three processes on one folder: the same files
    and manifest as a single process (3-9 s: three interpreters load the solver)."""
    single = tmp_path / "single"
    simulate(
        resolve_config(scene="plume", dim=2, res=[32], frames=2, sims=5, seed=4),
        single,
        progress=False,
    )
    shared = tmp_path / "shared"

    def shard(k: int) -> list[str]:
        return ["--shard", f"{k}/3", "--out", str(shared), "-q"]

    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "fluidgan", "simulate", *SIM_ARGS, "--sims", "5", *shard(k)],
            cwd=ROOT,
            stderr=subprocess.PIPE,
            text=True,
        )
        for k in range(3)
    ]
    for p in procs:
        assert p.wait(timeout=300) == 0, p.stderr.read()
    names = sorted(p.name for p in single.glob("sim_*.h5"))
    assert names == sorted(p.name for p in shared.glob("sim_*.h5")) and len(names) == 5
    for name in [*names, "manifest.json", "config.toml"]:
        assert (single / name).read_bytes() == (shared / name).read_bytes(), name
    assert not list(shared.glob("simulate.*.lock"))  # every shard released its lock


def test_a_shard_killed_mid_run_leaves_no_partial_file_and_reruns(tmp_path):
    """kill -9 of a shard: its lock is stale, its half-written simulation has a .tmp name;
    the rerun takes the lock over, removes the .tmp and completes."""
    out = tmp_path / "ds"
    result = run_fluidgan("simulate", *SIM_ARGS, "--sims", 1, "--out", out, "-q")
    assert result.returncode == 0, result.stderr
    (out / "sim_00000.h5").rename(out / "sim_00000.h5.tmp")  # as a kill leaves it
    (out / "simulate.shard-0-of-1.lock").write_text(
        json.dumps({"host": socket.gethostname(), "pid": 2**22 + 7})  # above pid_max
    )
    config = resolve_config(scene="plume", dim=2, res=[32], frames=2, sims=1, seed=4)
    simulate(config, out, progress=False)
    assert sorted(p.name for p in out.iterdir() if not p.name.startswith(".")) == [
        "config.toml",
        "manifest.json",
        "sim_00000.h5",
    ]


# --- an input that vanishes -------------------------------------------------------------------


def test_a_dataset_file_deleted_during_training_stops_with_a_checkpoint(tmp_path):
    from fluidgan.data.dataset import TileDataset
    from pipelines.train import train

    data = make_dataset(tmp_path / "data")
    moved = tmp_path / "moved"
    moved.mkdir()

    def delete_data(done, metrics, trainer):
        if done == 3:
            for sim in data.glob("sim_*.h5"):
                shutil.move(sim, moved / sim.name)
            # an open handle keeps a deleted file readable on a local disk; drop them, as a
            # new DataLoader worker or a network file system's stale handle would
            for obj in gc.get_objects():
                if type(obj) is TileDataset:
                    obj.close()

    run = tmp_path / "run"
    with pytest.raises(Fault) as info:
        train(TINY_TRAIN, data, run, device="cpu", after_iteration=delete_data)
    message = str(info.value)
    assert "sim_00000.h5" in message and "vanished" in message, message
    assert "3 of 6 iterations done" in message and "ckpt_00000003.pt" in message, message
    assert [p.name for p in list_checkpoints(run)] == ["ckpt_00000002.pt", "ckpt_00000003.pt"]
    assert not (run / "train.lock").exists()

    for sim in moved.iterdir():  # restored: the run continues from iteration 3
        shutil.move(sim, data / sim.name)
    result = train(None, data, run, device="cpu", resume=True)
    assert result["status"] == "completed"
    assert load_checkpoint(latest_checkpoint(run))["iteration"] == 6
