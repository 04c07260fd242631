"""The VTK export contract (docs/FORMATS.md), checked through VTK's own XML reader."""

from __future__ import annotations

import numpy as np
import pytest

vtk = pytest.importorskip("vtk")
from vtk.util.numpy_support import vtk_to_numpy  # noqa: E402
from vtk_reading import read_vti  # noqa: E402

from fluidgan.io.vtk import (  # noqa: E402
    HEADER_DTYPE,
    as_volume,
    compress_blocks,
    grid_geometry,
    vti_bytes,
    write_frame_vti,
)


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


def test_grid_geometry_uses_the_longest_axis():
    dx, origin = grid_geometry((8, 12, 16))
    assert dx == 1 / 16 and origin == (1 / 32,) * 3
