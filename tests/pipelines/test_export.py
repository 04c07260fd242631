"""Stage ``export``: simulation files -> VTK volumes, read back through VTK's own reader
(the layout is described in docs/FORMATS.md, "VTK for ParaView")."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import numpy as np
import pytest

vtk = pytest.importorskip("vtk")
from vtk.util.numpy_support import vtk_to_numpy  # noqa: E402
from vtk_reading import read_vti  # noqa: E402

from fluidgan.config import load_toml  # noqa: E402
from fluidgan.errors import UserError  # noqa: E402
from fluidgan.io.simfile import SimMeta, SimWriter  # noqa: E402
from pipelines.export import ExportConfig, export_vtk  # noqa: E402


def make_sim(path, high=(8, 12, 16), factor=4, frames=4, groups=("high", "low", "sr")):
    dim = len(high)
    low = tuple(n // factor for n in high)
    rng = np.random.default_rng(2)
    with SimWriter(path, SimMeta(dim, factor, 0.5, 0), frames, high, low, groups=groups) as w:
        for t in range(frames):
            fields = {}
            for group, shape in (("high", high), ("low", low), ("sr", high)):
                if group in groups:
                    fields[f"{group}/density"] = rng.random(shape, dtype=np.float32)
                    fields[f"{group}/velocity"] = rng.random((*shape, dim), dtype=np.float32)
            w.write_frame(0.5 * (t + 1), **fields)
    return path


def test_export_pipeline_groups_overlay_and_pvd(tmp_path):
    sim = make_sim(tmp_path / "sim.h5")
    written = export_vtk(sim, tmp_path / "vtk", ExportConfig(frames="1:3"))
    names = sorted(p.name for p in written)
    for group in ("high", "low", "sr"):
        assert f"sim_{group}.pvd" in names
        assert f"sim_{group}_0001.vti" in names and f"sim_{group}_0002.vti" in names
        assert f"sim_{group}_0000.vti" not in names
    assert not list((tmp_path / "vtk").glob("*.tmp"))  # atomic writes leave nothing behind
    assert load_toml(tmp_path / "vtk" / "export.config.toml")["frames"] == "1:3"  # resolved
    # low and high span the same box: [origin - dx/2, origin + (n - 1/2) dx] per axis
    boxes = {}
    for group in ("low", "high"):
        image = read_vti(tmp_path / "vtk" / f"sim_{group}_0001.vti")
        dx, origin, dims = image.GetSpacing()[0], image.GetOrigin(), image.GetDimensions()
        boxes[group] = [(o - dx / 2, o + (n - 0.5) * dx) for o, n in zip(origin, dims)]
    np.testing.assert_allclose(boxes["low"], boxes["high"], atol=1e-12)
    np.testing.assert_allclose(boxes["high"], [(0, 1), (0, 0.75), (0, 0.5)], atol=1e-12)
    pvd = ET.parse(tmp_path / "vtk" / "sim_sr.pvd").getroot()
    entries = [(float(d.get("timestep")), d.get("file")) for d in pvd.iter("DataSet")]
    assert entries == [(1.0, "sim_sr_0001.vti"), (1.5, "sim_sr_0002.vti")]
    image = read_vti(tmp_path / "vtk" / "sim_sr_0002.vti")
    assert vtk_to_numpy(image.GetFieldData().GetArray("TimeValue")).tolist() == [1.5]


def test_export_pipeline_errors_name_the_value(tmp_path):
    sim = make_sim(tmp_path / "sim.h5", high=(16, 24), groups=("high", "low"))
    out = tmp_path / "vtk"
    with pytest.raises(UserError, match="no /sr group"):
        export_vtk(sim, out, ExportConfig(groups=["sr"]))
    with pytest.raises(UserError, match="'bogus'"):
        export_vtk(sim, out, ExportConfig(groups=["bogus"]))
    with pytest.raises(UserError, match="no field 'pressure'"):
        export_vtk(sim, out, ExportConfig(fields=["density", "pressure"]))
    with pytest.raises(UserError, match="selects no frame"):
        export_vtk(sim, out, ExportConfig(frames="7:9"))
    only = export_vtk(sim, out, ExportConfig(["high"], ["density"], "-1"))
    assert [p.name for p in only] == ["sim_high_0003.vti", "sim_high.pvd"]
    assert read_vti(only[0]).GetPointData().GetArray("velocity") is None
