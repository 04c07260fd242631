"""mantaflow ``.uni`` grids: our writer and reader, files built byte by byte from the
documented layout, files mantaflow itself wrote, and every header check."""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np
import pytest

from fluidgan.errors import UserError
from fluidgan.io.uni import (
    centred_to_mac,
    from_grid_layout,
    mac_to_centred,
    read_uni,
    read_uni_header,
    to_grid_layout,
    write_uni,
)

FIXTURES = Path(__file__).parent / "fixtures"
SIZES = {"3d": (5, 7, 3), "2d": (5, 7, 1)}  # (x, y, z): non-cubic, z = 1 is mantaflow's 2D
KINDS = {  # kind -> (gridType, elementType, bytesPerElement, components, integer)
    "real": (1, 1, 4, 1, False),
    "levelset": (17, 1, 4, 1, False),
    "int": (2, 0, 4, 1, True),
    "flags": (34, 0, 4, 1, True),
    "vec3": (4, 2, 12, 3, False),
    "mac": (12, 2, 12, 3, False),
}


def ramp(x: int, y: int, z: int, c: int = 0) -> float:
    """A value that names its cell and component: any axis mix-up changes it."""
    return x + 10 * y + 100 * z + 1000 * c


def grid_bytes(
    size: tuple[int, int, int],
    grid_type: int,
    element_type: int,
    nbytes: int,
    components: int,
    *,
    magic: bytes = b"MNT3",
    info: bytes = b"built by hand",
    dim_t: int = 0,
    timestamp: int = 1234567,
) -> bytes:
    """A .uni file from the documented layout, element by element, x fastest."""
    x_n, y_n, z_n = size
    if magic == b"MNT2":  # info[256], no dimT
        head = struct.pack("<6i256sQ", *size, grid_type, element_type, nbytes, info, timestamp)
    else:
        head = struct.pack(
            "<6i252siQ", *size, grid_type, element_type, nbytes, info, dim_t, timestamp
        )
    assert len(head) == 288
    fmt = "<i" if element_type == 0 else "<f"
    body = bytearray()
    for z in range(z_n):
        for y in range(y_n):
            for x in range(x_n):
                for c in range(components):
                    body += struct.pack(fmt, ramp(x, y, z, c))
    return magic + head + bytes(body)


def expected_ramp(size: tuple[int, int, int], components: int) -> np.ndarray:
    x_n, y_n, z_n = size
    out = np.zeros((z_n, y_n, x_n, components))
    for z, y, x, c in np.ndindex(out.shape):
        out[z, y, x, c] = ramp(x, y, z, c)
    return out[..., 0] if components == 1 else out


# --------------------------------------------------------------------------- byte layout


@pytest.mark.parametrize("compressed", [True, False])
@pytest.mark.parametrize("magic", [b"MNT3", b"MNT2"])
@pytest.mark.parametrize("tag", ["3d", "2d"])
@pytest.mark.parametrize("kind", list(KINDS))
def test_files_built_from_the_layout_are_read(tmp_path, kind, tag, magic, compressed):
    grid_type, element, nbytes, comps, integer = KINDS[kind]
    raw = grid_bytes(SIZES[tag], grid_type, element, nbytes, comps, magic=magic)
    path = tmp_path / "g.uni"
    path.write_bytes(gzip.compress(raw) if compressed else raw)
    grid = read_uni(path)
    h = grid.header
    assert (h.magic, h.size, h.grid_type, h.element_type) == (
        magic.decode(),
        SIZES[tag],
        *KINDS[kind][:2],
    )
    assert (h.info, h.timestamp, h.dim) == ("built by hand", 1234567, 2 if tag == "2d" else 3)
    assert h.kind == ("real" if kind == "levelset" else "int" if kind == "flags" else kind)
    assert grid.data.dtype == (np.int32 if integer else np.float32)
    np.testing.assert_array_equal(grid.data, expected_ramp(SIZES[tag], comps))
    assert read_uni_header(path) == h


def test_our_bytes_follow_the_layout(tmp_path):
    """Offsets of every header field in what we write, and the data x fastest."""
    data = expected_ramp(SIZES["3d"], 3).astype(np.float32)
    path = write_uni(tmp_path / "v.uni", data, "mac", info="probe", timestamp=99)
    blob = path.read_bytes()
    assert blob[:2] == b"\x1f\x8b"  # gzip, as mantaflow writes
    raw = gzip.decompress(blob)
    assert raw[:4] == b"MNT3"
    assert struct.unpack_from("<6i", raw, 4) == (5, 7, 3, 12, 2, 12)
    assert raw[28:280].rstrip(b"\0") == b"probe"
    assert struct.unpack_from("<iQ", raw, 280) == (0, 99)
    assert len(raw) == 292 + 5 * 7 * 3 * 12
    # the element of cell (x=2, y=3, z=1), component y, is at ((z*7 + y)*5 + x)*12 + 4
    offset = 292 + ((1 * 7 + 3) * 5 + 2) * 12 + 4
    assert struct.unpack_from("<f", raw, offset)[0] == ramp(2, 3, 1, 1)
    plain = write_uni(tmp_path / "p.uni", data, "mac", info="probe", timestamp=99, compress=False)
    assert plain.read_bytes() == raw
    # the same data gives the same bytes (no time stamp, gzip mtime 0)
    assert (
        write_uni(tmp_path / "w.uni", data, "mac", info="probe", timestamp=99).read_bytes() == blob
    )


# --------------------------------------------------------------------------- round trip


@pytest.mark.parametrize("compress", [True, False])
@pytest.mark.parametrize("tag", ["3d", "2d"])
@pytest.mark.parametrize("kind", list(KINDS))
def test_writer_reader_round_trip(tmp_path, kind, tag, compress):
    grid_type, element, nbytes, comps, integer = KINDS[kind]
    x, y, z = SIZES[tag]
    rng = np.random.default_rng(len(kind))
    shape = (z, y, x) if comps == 1 else (z, y, x, 3)
    data = rng.integers(-50, 50, shape, dtype=np.int32) if integer else rng.normal(size=shape)
    path = write_uni(tmp_path / f"{kind}.uni", data, kind, compress=compress)
    grid = read_uni(path)
    assert grid.header.size == (x, y, z)
    assert (grid.header.grid_type, grid.header.element_type) == (grid_type, element)
    assert grid.header.bytes_per_element == nbytes
    np.testing.assert_array_equal(grid.data, data.astype(grid.data.dtype))
    assert grid.data.dtype == (np.int32 if integer else np.float32)


def test_default_kind_follows_the_data(tmp_path):
    assert read_uni(write_uni(tmp_path / "a.uni", np.zeros((1, 2, 3)))).header.kind == "real"
    assert read_uni(write_uni(tmp_path / "b.uni", np.zeros((1, 2, 3, 3)))).header.kind == "vec3"
    ints = np.zeros((1, 2, 3), np.int64)
    assert read_uni(write_uni(tmp_path / "c.uni", ints)).header.kind == "int"
    with pytest.raises(ValueError, match="integer"):
        write_uni(tmp_path / "d.uni", np.zeros((1, 2, 3)), "int")
    with pytest.raises(ValueError, match="Z, Y, X, 3"):
        write_uni(tmp_path / "e.uni", np.zeros((1, 2, 3, 2)), "mac")


@pytest.mark.parametrize("dim", [2, 3])
def test_fluidgan_layout_round_trip(dim):
    rng = np.random.default_rng(dim)
    spatial = (7, 5) if dim == 2 else (3, 7, 5)
    scalar, vector = rng.normal(size=spatial), rng.normal(size=(*spatial, dim))
    grid_s, grid_v = to_grid_layout(scalar, dim), to_grid_layout(vector, dim)
    assert grid_s.shape == (*((1,) if dim == 2 else ()), *spatial)
    assert grid_v.shape == (*grid_s.shape, 3)
    if dim == 2:
        assert np.all(grid_v[..., 2] == 0)  # v_z = 0, as mantaflow's 2D
    np.testing.assert_array_equal(from_grid_layout(grid_s, dim), scalar)
    np.testing.assert_array_equal(from_grid_layout(grid_v, dim), vector)


# --------------------------------------------------------------------------- MAC grids


def test_mac_to_centred_by_hand():
    """1D along each axis: faces 0, 2, 6, 12 -> centres 1, 4, 9 and 12 at the last cell."""
    faces = np.array([0.0, 2.0, 6.0, 12.0])
    mac = np.zeros((4, 4, 4, 3), np.float32)
    mac[..., 0] = faces[None, None, :]  # x along the last array axis
    mac[..., 1] = faces[None, :, None]
    mac[..., 2] = faces[:, None, None]
    c = mac_to_centred(mac, 3)
    np.testing.assert_array_equal(c[0, 0, :, 0], [1, 4, 9, 12])
    np.testing.assert_array_equal(c[0, :, 0, 1], [1, 4, 9, 12])
    np.testing.assert_array_equal(c[:, 0, 0, 2], [1, 4, 9, 12])
    c2 = mac_to_centred(mac[:1], 2)
    np.testing.assert_array_equal(c2[0, 0, :, 0], [1, 4, 9, 12])
    np.testing.assert_array_equal(c2[..., 2], mac[:1, ..., 2])  # 2D: z copied


def test_centred_to_mac_is_exact_for_linear_fields():
    """Faces of a linear field sit half-way; back to centres gives it again inside."""
    z, y, x = np.meshgrid(*[np.arange(n, dtype=np.float32) for n in (4, 6, 5)], indexing="ij")
    centred = np.stack([2 * x + 1, -3 * y + 0.5 * z, 0.25 * z - x], axis=-1)
    mac = centred_to_mac(centred, 3)
    np.testing.assert_allclose(mac[:, :, 1:, 0], (2 * (x - 0.5) + 1)[:, :, 1:])
    np.testing.assert_allclose(mac[:, 1:, :, 1], (-3 * (y - 0.5) + 0.5 * z)[:, 1:, :])
    np.testing.assert_allclose(mac[1:, :, :, 2], (0.25 * (z - 0.5) - x)[1:])
    np.testing.assert_array_equal(mac[:, :, 0, 0], centred[:, :, 0, 0])  # first face
    back = mac_to_centred(mac, 3)
    inner = (slice(1, -1),) * 3
    np.testing.assert_allclose(back[inner], centred[inner], atol=1e-6)


# --------------------------------------------------------------------------- mantaflow's own files


def f_c(size: tuple[int, int, int], c: int) -> np.ndarray:
    """The fixtures' input field (fixtures/README.md), (Z, Y, X)."""
    x_n, y_n, z_n = size
    z, y, x = np.meshgrid(*[np.arange(n, dtype=np.float32) for n in (z_n, y_n, x_n)], indexing="ij")
    return (c + 1) * x * x + 3 * y - 2 * z * y + 0.5 * c


@pytest.mark.parametrize("tag", ["3d", "2d"])
def test_files_mantaflow_wrote(tag):
    size = SIZES[tag]
    dim = 2 if tag == "2d" else 3
    real = read_uni(FIXTURES / f"mantaflow_real_{tag}.uni")
    assert real.header.magic == "MNT3" and real.header.info.startswith("mantaflow 0.13")
    assert real.header.size == size and real.header.kind == "real" and real.header.timestamp > 0
    np.testing.assert_array_equal(real.data, 2 * f_c(size, 0) + 1)
    ints = read_uni(FIXTURES / f"mantaflow_int_{tag}.uni")
    assert ints.header.kind == "int"
    np.testing.assert_array_equal(ints.data, f_c(size, 0).astype(np.int32) + 3)
    mac_in = np.stack([f_c(size, c) for c in range(3)], axis=-1)
    if dim == 2:
        mac_in[..., 2] = 0
    mac = read_uni(FIXTURES / f"mantaflow_mac_{tag}.uni")
    assert mac.header.kind == "mac" and mac.header.grid_type == 12
    np.testing.assert_array_equal(mac.data, 2 * mac_in)
    # mantaflow's resampleMacToVec3 (cells one away from the border) == ours there
    theirs = read_uni(FIXTURES / f"mantaflow_vec3_centred_{tag}.uni")
    assert theirs.header.kind == "vec3"
    ours = mac_to_centred(mac_in, dim)
    inner = (slice(1, -1),) * 3 if dim == 3 else (slice(None), slice(1, -1), slice(1, -1))
    np.testing.assert_allclose(theirs.data[inner][..., :dim], ours[inner][..., :dim], rtol=1e-6)
    assert np.abs(theirs.data).sum() == np.abs(theirs.data[inner]).sum() > 0


def test_flags_and_levelset_grids_mantaflow_wrote():
    flags = read_uni(FIXTURES / "mantaflow_flags_2d.uni")
    assert flags.header.grid_type == 34 and flags.data.dtype == np.int32
    inside = np.zeros(flags.data.shape, bool)
    inside[0, 2:-2, 2:-2] = True  # mantaflow walls cells 0..bnd and N-1-bnd..N-1
    assert inside.sum() == 3  # 3 rows (y) by 1 column (x): the axes are not swapped
    assert np.all(flags.data[inside] == 4) and np.all(flags.data[~inside] == 2)
    ls = read_uni(FIXTURES / "mantaflow_levelset_3d.uni")
    assert ls.header.grid_type == 17 and ls.header.kind == "real"
    np.testing.assert_array_equal(ls.data, f_c(SIZES["3d"], 0) - 4)


# --------------------------------------------------------------------------- bad files


def real_bytes(**changes) -> bytes:
    fields = {"size": (5, 7, 3), "grid_type": 1, "element_type": 1, "nbytes": 4, "components": 1}
    fields.update(changes)
    kw = {k: fields.pop(k) for k in ("magic", "dim_t") if k in fields}
    return grid_bytes(
        fields["size"],
        fields["grid_type"],
        fields["element_type"],
        fields["nbytes"],
        fields["components"],
        **kw,
    )


BAD = {
    "magic": (real_bytes(magic=b"XYZ1"), "magic b'XYZ1'"),
    "4d": (real_bytes(magic=b"M4T3"), "4D grid"),
    "dimZ": (real_bytes(size=(5, 7, 0)), "dimZ = 0"),
    "elementType": (real_bytes(element_type=5), "elementType = 5"),
    "bytesPerElement": (real_bytes(nbytes=8), "bytesPerElement = 8"),
    "gridType": (real_bytes(grid_type=4), "gridType = 4"),
    "dimT": (real_bytes(dim_t=6), "dimT = 6"),
    "truncated data": (real_bytes()[:-5], "truncated file"),
    "extra data": (real_bytes() + b"\0" * 4, "data has 424 bytes"),
    "truncated header": (real_bytes()[:100], "truncated header"),
}


@pytest.mark.parametrize("compressed", [True, False])
@pytest.mark.parametrize("case", list(BAD))
def test_bad_files_name_the_file_and_the_field(tmp_path, case, compressed):
    raw, message = BAD[case]
    path = tmp_path / "bad.uni"
    path.write_bytes(gzip.compress(raw) if compressed else raw)
    with pytest.raises(UserError) as e:
        read_uni(path)
    text = str(e.value)
    assert str(path) in text and message in text and "\n" not in text, text


def test_damaged_gzip_stream(tmp_path):
    path = tmp_path / "cut.uni"
    path.write_bytes(gzip.compress(real_bytes())[:-30])
    with pytest.raises(UserError, match="damaged gzip stream"):
        read_uni(path)
    with pytest.raises(UserError, match="no such .uni file"):
        read_uni(tmp_path / "none.uni")


def test_header_alone_is_read_from_a_truncated_file(tmp_path):
    path = tmp_path / "short.uni"
    path.write_bytes(gzip.compress(real_bytes()[:-40]))
    assert read_uni_header(path).size == (5, 7, 3)
    with pytest.raises(UserError, match="truncated file"):
        read_uni(path)
