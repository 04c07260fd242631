"""The dataset directory's names, seeds and manifest, and what a writer records of /sr."""

from __future__ import annotations

import json

import h5py
import numpy as np

from fluidgan.io.dataset import MANIFEST, sim_name, sim_seed, sim_status, write_manifest
from fluidgan.io.simfile import SimMeta, SimWriter


def test_sim_seeds_are_distinct_reproducible_and_depend_on_the_dataset_seed():
    seeds = [sim_seed(7, i) for i in range(50)]
    assert len(set(seeds)) == 50 and seeds == [sim_seed(7, i) for i in range(50)]
    assert sim_seed(8, 0) != sim_seed(7, 0)
    assert sim_name(12) == "sim_00012.h5"


def test_manifest_counts_the_complete_files(tmp_path):
    (tmp_path / sim_name(1)).write_bytes(b"")
    sims = [{"index": i, "file": sim_name(i), "status": sim_status(tmp_path, i)} for i in range(3)]
    written = write_manifest(tmp_path, 2, 4, sims, {"seed": 1})
    assert json.loads((tmp_path / MANIFEST).read_text()) == written
    assert written["complete"] == 1 and [s["status"] for s in written["sims"]] == [
        "pending",
        "complete",
        "pending",
    ]
    assert (written["format"], written["dim"], written["factor"]) == ("fluidgan.dataset", 2, 4)


def test_describe_group_stores_scalars_as_they_are_and_the_rest_as_json(tmp_path):
    meta = SimMeta(2, 2, 1.0, 0, {}, {})
    with SimWriter(tmp_path / "s.h5", meta, 1, (4, 4), (2, 2), ("low", "sr")) as w:
        w.describe_group("sr", checkpoint="c.pt", batch=3, plan={"mode": "whole"})
        z = np.zeros((4, 4), np.float32)
        w.write_frame(
            0.0,
            **{
                "low/density": z[:2, :2],
                "low/velocity": np.zeros((2, 2, 2)),
                "sr/density": z,
                "sr/velocity": np.zeros((4, 4, 2)),
            },
        )
        w.commit()
    with h5py.File(tmp_path / "s.h5") as f:
        attrs = dict(f["sr"].attrs)
    assert attrs["checkpoint"] == "c.pt" and attrs["batch"] == 3
    assert json.loads(attrs["plan"]) == {"mode": "whole"}
