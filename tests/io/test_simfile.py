"""The simulation file contract: schema, atomic write, clear errors."""

from __future__ import annotations

import h5py
import numpy as np
import pytest

from fluidgan.errors import UserError
from fluidgan.io.simfile import SimMeta, SimWriter, open_sim, read_meta, read_sim


def frame(shape, dim, value):
    return {
        "high/density": np.full(shape, value, np.float32),
        "high/velocity": np.full((*shape, dim), value, np.float32),
        "low/density": np.full([n // 4 for n in shape], value, np.float32),
        "low/velocity": np.full((*[n // 4 for n in shape], dim), value, np.float32),
    }


@pytest.mark.parametrize("shape", [(16, 24), (8, 12, 16)])
def test_round_trip(tmp_path, shape):
    dim = len(shape)
    meta = SimMeta(dim, 4, 0.5, 11, {"name": "x"}, {"advection": "maccormack"})
    low = tuple(n // 4 for n in shape)
    with SimWriter(tmp_path / "s.h5", meta, 3, shape, low) as w:
        for t in range(3):
            w.write_frame(0.5 * (t + 1), **frame(shape, dim, t))
    data = read_sim(tmp_path / "s.h5")
    assert data["meta"] == meta
    assert data["high/velocity"].shape == (3, *shape, dim)
    assert data["low/density"].shape == (3, *low)
    np.testing.assert_array_equal(data["time"], [0.5, 1.0, 1.5])
    assert data["high/density"][2].max() == 2
    with h5py.File(tmp_path / "s.h5") as f:
        assert f.attrs["format"] == "fluidgan.sim" and f.attrs["format_version"] == 1
        assert f["high/density"].compression == "gzip"
        assert f["high/density"].dtype == np.float32


def test_failure_leaves_nothing_that_looks_valid(tmp_path):
    meta = SimMeta(2, 4, 1.0, 0)
    with pytest.raises(RuntimeError), SimWriter(tmp_path / "s.h5", meta, 3, (8, 8), (2, 2)) as w:
        w.write_frame(1.0, **frame((8, 8), 2, 1))
        raise RuntimeError("solver blew up")
    assert not list(tmp_path.iterdir())


def test_incomplete_file_is_not_committed(tmp_path):
    meta = SimMeta(2, 4, 1.0, 0)
    with SimWriter(tmp_path / "s.h5", meta, 3, (8, 8), (2, 2)) as w:
        w.write_frame(1.0, **frame((8, 8), 2, 1))
    assert not (tmp_path / "s.h5").exists()


def test_schema_errors_name_the_problem(tmp_path):
    with pytest.raises(UserError, match="no such simulation file"):
        open_sim(tmp_path / "missing.h5")
    (tmp_path / "text.h5").write_text("hello")
    with pytest.raises(UserError, match="not an HDF5 file"):
        open_sim(tmp_path / "text.h5")
    with h5py.File(tmp_path / "other.h5", "w") as f:
        f.attrs["format"] = "something"
    with pytest.raises(UserError, match="attribute 'format' is 'something'"):
        open_sim(tmp_path / "other.h5")
    meta = SimMeta(2, 4, 1.0, 0)
    with SimWriter(tmp_path / "s.h5", meta, 1, (8, 8), (2, 2)) as w:
        w.write_frame(1.0, **frame((8, 8), 2, 1))
    with h5py.File(tmp_path / "s.h5", "a") as f:
        del f["low/velocity"]
    with pytest.raises(UserError, match="missing dataset '/low/velocity'"):
        open_sim(tmp_path / "s.h5")


def test_meta_round_trips_json(tmp_path):
    meta = SimMeta(3, 2, 0.25, 5, {"sources": [{"radius": 0.1}]}, {})
    with SimWriter(tmp_path / "s.h5", meta, 1, (8, 8, 8), (2, 2, 2)) as w:
        w.write_frame(0.25, **frame((8, 8, 8), 3, 0))
    with open_sim(tmp_path / "s.h5") as f:
        assert read_meta(f).scene["sources"][0]["radius"] == 0.1
