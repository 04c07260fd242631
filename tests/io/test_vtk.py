"""The VTK export contract (CONTRACTS.md), checked through VTK's own XML reader."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import numpy as np
import pytest

vtk = pytest.importorskip("vtk")
from vtk.util.numpy_support import vtk_to_numpy  # noqa: E402

from fluidgan.errors import UserError  # noqa: E402
from fluidgan.io.simfile import SimMeta, SimWriter  # noqa: E402
from fluidgan.io.vtk import (  # noqa: E402
    HEADER_DTYPE,
    as_volume,
    compress_blocks,
    grid_geometry,
    vti_bytes,
    write_frame_vti,
)
from pipelines.export import export_vtk, frame_selection  # noqa: E402


def read_vti(path):
    reader = vtk.vtkXMLImageDataReader()
    reader.SetFileName(str(path))
    reader.Update()
    image = reader.GetOutput()
    assert image.GetNumberOfPoints() > 0, f"VTK could not read {path}"
    return image


def point_value(image, name, i, j, k):
    """The value of array ``name`` at grid point (i, j, k) = (x, y, z), via VTK's own indexing."""
    array = image.GetPointData().GetArray(name)
    return np.array(array.GetTuple(image.ComputePointId([i, j, k])))


def test_non_cubic_3d_round_trip(tmp_path):
    rng = np.random.default_rng(0)
    density = rng.random((5, 7, 9), dtype=np.float32)  # (z, y, x)
    velocity = rng.standard_normal((5, 7, 9, 3)).astype(np.float32)
    path = write_frame_vti(tmp_path / "f.vti", {"density": density, "velocity": velocity}, 3, 2.5)
    image = read_vti(path)
    assert image.GetDimensions() == (9, 7, 5)  # shape[::-1]
    dx = 1.0 / 9
    np.testing.assert_allclose(image.GetSpacing(), (dx, dx, dx), rtol=1e-15)
    np.testing.assert_allclose(image.GetOrigin(), (dx / 2,) * 3, rtol=1e-15)  # box_min + dx/2
    pd = image.GetPointData()
    assert pd.GetScalars().GetName() == "density"
    assert pd.GetVectors().GetName() == "velocity"
    assert pd.GetArray("velocity").GetNumberOfComponents() == 3
    for i, j, k in [(0, 0, 0), (8, 6, 4), (3, 5, 1), (7, 2, 3)]:
        assert point_value(image, "density", i, j, k)[0] == density[k, j, i]
        np.testing.assert_array_equal(point_value(image, "velocity", i, j, k), velocity[k, j, i])
    np.testing.assert_array_equal(vtk_to_numpy(pd.GetArray("density")).reshape(5, 7, 9), density)
    time = vtk_to_numpy(image.GetFieldData().GetArray("TimeValue"))
    assert time.tolist() == [2.5]


def test_2d_frame_is_a_one_cell_thick_volume_with_zero_vz(tmp_path):
    rng = np.random.default_rng(1)
    density = rng.random((6, 10), dtype=np.float32)  # (y, x)
    velocity = rng.standard_normal((6, 10, 2)).astype(np.float32)  # (v_x, v_y)
    path = write_frame_vti(tmp_path / "f.vti", {"density": density, "velocity": velocity}, 2)
    image = read_vti(path)
    assert image.GetDimensions() == (10, 6, 1)
    np.testing.assert_allclose(image.GetSpacing(), (0.1, 0.1, 0.1))
    np.testing.assert_allclose(image.GetOrigin(), (0.05, 0.05, 0.05))
    for i, j in [(0, 0), (9, 5), (4, 2)]:
        assert point_value(image, "density", i, j, 0)[0] == density[j, i]
        vx, vy, vz = point_value(image, "velocity", i, j, 0)
        assert (vx, vy, vz) == (velocity[j, i, 0], velocity[j, i, 1], 0.0)
    assert image.GetFieldData().GetArray("TimeValue") is None  # no time given


@pytest.mark.parametrize("shape, block", [((5, 7, 9), 64), ((4, 4, 4), 64), ((3, 3, 3), 1 << 20)])
def test_compressed_blocks_full_partial_and_single(tmp_path, shape, block):
    """Several blocks with a partial last one, an exact multiple (lastblocksize 0), one block."""
    values = np.arange(np.prod(shape), dtype=np.float32).reshape(shape)
    data = vti_bytes({"density": values}, 1.0, (0.5, 0.5, 0.5), block_size=block)
    (tmp_path / "f.vti").write_bytes(data)
    got = vtk_to_numpy(read_vti(tmp_path / "f.vti").GetPointData().GetArray("density"))
    np.testing.assert_array_equal(got.reshape(shape), values)
    header = np.frombuffer(compress_blocks(values.tobytes(), block)[:24], HEADER_DTYPE)
    size = values.nbytes
    assert header[0] == -(-size // block) and header[1] == block
    assert header[2] == (0 if size % block == 0 else size % block)


def test_file_layout_is_appended_raw_zlib_uint64():
    data = vti_bytes({"density": np.zeros((2, 2, 2), np.float32)}, 1.0, (0.5,) * 3)
    head = data.split(b'encoding="raw">', 1)[0] + b'encoding="raw">'
    assert b'header_type="UInt64"' in head and b'compressor="vtkZLibDataCompressor"' in head
    assert b'format="appended"' in head and b'<AppendedData encoding="raw">' in head


def test_as_volume_rejects_wrong_shapes():
    assert as_volume(np.zeros((3, 4)), 2).shape == (1, 3, 4)
    assert as_volume(np.zeros((3, 4, 2)), 2).shape == (1, 3, 4, 3)
    with pytest.raises(ValueError):
        as_volume(np.zeros((3, 4, 5)), 2)


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
    written = export_vtk(sim, tmp_path / "vtk", frames="1:3")
    names = sorted(p.name for p in written)
    for group in ("high", "low", "sr"):
        assert f"sim_{group}.pvd" in names
        assert f"sim_{group}_0001.vti" in names and f"sim_{group}_0002.vti" in names
        assert f"sim_{group}_0000.vti" not in names
    assert not list((tmp_path / "vtk").glob("*.tmp"))  # atomic writes leave nothing behind
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
        export_vtk(sim, out, groups=["sr"])
    with pytest.raises(UserError, match="'bogus'"):
        export_vtk(sim, out, groups=["bogus"])
    with pytest.raises(UserError, match="no field 'pressure'"):
        export_vtk(sim, out, fields=["density", "pressure"])
    with pytest.raises(UserError, match="selects no frame"):
        export_vtk(sim, out, frames="7:9")
    only = export_vtk(sim, out, groups=["high"], fields=["density"], frames="-1")
    assert [p.name for p in only] == ["sim_high_0003.vti", "sim_high.pvd"]
    assert read_vti(only[0]).GetPointData().GetArray("velocity") is None


def test_frame_selection():
    assert frame_selection(None, 5) == range(5)
    assert list(frame_selection("1:3", 5)) == [1, 2]
    assert list(frame_selection("-2:", 5)) == [3, 4]
    assert list(frame_selection(":2", 5)) == [0, 1]
    assert list(frame_selection("4", 5)) == [4]
    with pytest.raises(UserError, match="expected A:B"):
        frame_selection("a:b", 5)


def test_grid_geometry_uses_the_longest_axis():
    dx, origin = grid_geometry((8, 12, 16))
    assert dx == 1 / 16 and origin == (1 / 32,) * 3
