"""Faults of the machine for every writing stage: tiny inputs, a real tmpfs where the
platform allows one, and an injected full disk everywhere else."""

from __future__ import annotations

import sys
from pathlib import Path

import h5py
import pytest

sys.path.insert(0, str(Path(__file__).parent))  # the tests import fault_helpers

from fault_helpers import disk_full, make_checkpoint, mount_tmpfs, unmount, write_sim


@pytest.fixture
def fill_disk_after(monkeypatch):
    """``fill_disk_after(n, only=None)``: after ``n`` HDF5 dataset writes (to the dataset
    named ``only``, if given) every write fails as on a full disk (h5py raises OSError
    with errno ENOSPC)."""

    def arm(n: int, only: str | None = None) -> dict:
        original = h5py.Dataset.__setitem__
        state = {"writes": 0}

        def write(self, key, value):
            if only is None or self.name == only:
                state["writes"] += 1
            if state["writes"] > n:
                raise disk_full()
            return original(self, key, value)

        monkeypatch.setattr(h5py.Dataset, "__setitem__", write)
        return state

    return arm


@pytest.fixture(scope="session")
def inputs(tmp_path_factory) -> dict[str, Path]:
    """A 12-frame 2D simulation file (8^2 low-res cells) and a 2D rho+v checkpoint."""
    d = tmp_path_factory.mktemp("fault-inputs")
    return {
        "sim": write_sim(d / "seq.h5", frames=12),
        "checkpoint": make_checkpoint(d / "g.pt"),
    }


@pytest.fixture(autouse=True)
def _one_thread_each(one_thread):
    """Every test here runs on one torch thread (``one_thread``, tests/conftest.py)."""


@pytest.fixture
def tmpfs(tmp_path):
    """``tmpfs(size, *options)``: a fresh tmpfs mounted under tmp_path (unmounted after)."""
    mounted: list[Path] = []

    def make(size: str, *options: str) -> Path:
        path = tmp_path / f"tmpfs{len(mounted)}"
        mount_tmpfs(path, size, *options)
        mounted.append(path)
        return path

    yield make
    for path in mounted:
        unmount(path)
