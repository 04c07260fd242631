"""mantaflow ``.uni`` grid files: read and write one grid, the header checked field by field.

The layout mantaflow writes with ``Grid::save("….uni")`` (its current version, magic
``MNT3``; ``MNT2`` files, one version older, are read too), little-endian, the whole file
gzip-compressed at level 1 (mantaflow's reader also takes an uncompressed file)::

    offset  bytes  field            type     meaning
    0       4      magic            char[4]  b"MNT3" (b"MNT2": info is 256 bytes, no dimT)
    4       12     dimX dimY dimZ   int32    cells per axis; a 2D grid has dimZ = 1
    16      4      gridType         int32    bit flags: 1 real, 2 int, 4 vec3, 8 MAC,
                                             16 levelset, 32 flags
    20      4      elementType      int32    0 int32, 1 float32, 2 three float32
    24      4      bytesPerElement  int32    4, 4, 12 (always single precision)
    28      252    info             char[]   who wrote it, NUL-padded
    280     4      dimT             int32    0 (4D grids have their own magic, M4T3)
    284     8      timestamp        uint64   milliseconds since 1970
    292     …      data             dimX·dimY·dimZ elements, x fastest

so the data read as a C-order numpy array is (Z, Y, X) for scalars and (Z, Y, X, 3) for
vectors, components (x, y, z). A MAC grid (``MACGrid``, gridType 12) stores component c
of cell i on the cell's *lower* face along axis c (the x component of cell (i, j, k) sits
at (i, j + ½, k + ½) in cell-corner units); :func:`mac_to_centred` and
:func:`centred_to_mac` convert. Velocities are in cells of their own grid per mantaflow
time unit.
"""

from __future__ import annotations

import gzip
import os
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np

from fluidgan import __version__
from fluidgan.errors import UserError
from fluidgan.io.atomic import write_bytes

MAGIC = b"MNT3"
OLD_MAGIC = b"MNT2"
INFO_BYTES = 252
# after the magic: dims, gridType, elementType, bytesPerElement, info, dimT, timestamp
_HEADER = struct.Struct(f"<6i{INFO_BYTES}siQ")
_OLD_HEADER = struct.Struct("<6i256sQ")  # MNT2: the same 288 bytes, no dimT
HEADER_BYTES = 4 + _HEADER.size  # 292: data start
assert _HEADER.size == _OLD_HEADER.size == 288

# gridType bit flags (mantaflow's GridBase::GridType)
TYPE_REAL, TYPE_INT, TYPE_VEC3, TYPE_MAC, TYPE_LEVELSET, TYPE_FLAGS = 1, 2, 4, 8, 16, 32
GRID_TYPES = {
    "real": TYPE_REAL,
    "int": TYPE_INT,
    "vec3": TYPE_VEC3,
    "mac": TYPE_MAC | TYPE_VEC3,
    "levelset": TYPE_LEVELSET | TYPE_REAL,
    "flags": TYPE_FLAGS | TYPE_INT,
}
# elementType -> (name, numpy dtype, components, bytesPerElement, gridType bits that fit)
ELEMENTS = {
    0: ("int", np.dtype("<i4"), 1, 4, TYPE_INT),
    1: ("float", np.dtype("<f4"), 1, 4, TYPE_REAL | TYPE_LEVELSET),
    2: ("vec3", np.dtype("<f4"), 3, 12, TYPE_VEC3 | TYPE_MAC),
}
_ELEMENT_OF = {"real": 1, "levelset": 1, "int": 0, "flags": 0, "vec3": 2, "mac": 2}


@dataclass(frozen=True)
class UniHeader:
    """The header of one ``.uni`` file; ``size`` is (dimX, dimY, dimZ)."""

    magic: str
    size: tuple[int, int, int]
    grid_type: int
    element_type: int
    bytes_per_element: int
    info: str
    dim_t: int
    timestamp: int

    @property
    def dim(self) -> int:
        """2 for a one-cell-thick grid (mantaflow's 2D), else 3."""
        return 2 if self.size[2] == 1 else 3

    @property
    def is_mac(self) -> bool:
        return bool(self.grid_type & TYPE_MAC)

    @property
    def components(self) -> int:
        return ELEMENTS[self.element_type][2]

    @property
    def kind(self) -> str:
        """real, int, vec3 or mac."""
        if self.is_mac:
            return "mac"
        return {0: "int", 1: "real", 2: "vec3"}[self.element_type]

    @property
    def data_shape(self) -> tuple[int, ...]:
        """(Z, Y, X) or (Z, Y, X, 3): the numpy shape of the data."""
        x, y, z = self.size
        return (z, y, x) if self.components == 1 else (z, y, x, 3)

    @property
    def data_bytes(self) -> int:
        x, y, z = self.size
        return x * y * z * self.bytes_per_element

    def describe(self) -> str:
        return f"{self.kind} grid {'x'.join(map(str, self.size))}"


@dataclass
class UniGrid:
    """A grid read from a ``.uni`` file: ``data`` is (Z, Y, X) or (Z, Y, X, 3)."""

    header: UniHeader
    data: np.ndarray


def _open(path: Path) -> BinaryIO:
    """The file's bytes, through gzip when it starts with the gzip magic."""
    with path.open("rb") as f:
        compressed = f.read(2) == b"\x1f\x8b"
    return gzip.open(path, "rb") if compressed else path.open("rb")


def _read(path: Path, limit: int = -1) -> bytes:
    if not path.is_file():
        raise UserError(f"{path}: no such .uni file")
    try:
        with _open(path) as f:
            return f.read(limit)
    except (OSError, EOFError, zlib.error) as e:  # gzip.BadGzipFile is an OSError
        raise UserError(f"{path}: damaged gzip stream ({type(e).__name__}: {e})") from None


def parse_header(raw: bytes, path: Path) -> UniHeader:
    """The header at the start of ``raw`` (the decompressed file), checked."""
    magic = raw[:4]
    if magic in (b"M4T2", b"M4T3"):
        raise UserError(f"{path}: magic {magic.decode()} is a 4D grid, not supported")
    if magic not in (MAGIC, OLD_MAGIC):
        raise UserError(
            f"{path}: magic {magic!r} is not a mantaflow grid (expected b'MNT3' or b'MNT2')"
        )
    if len(raw) < HEADER_BYTES:
        raise UserError(f"{path}: truncated header ({len(raw)} of {HEADER_BYTES} bytes)")
    if magic == MAGIC:
        x, y, z, grid_type, element, nbytes, info, dim_t, stamp = _HEADER.unpack_from(raw, 4)
    else:
        x, y, z, grid_type, element, nbytes, info, stamp = _OLD_HEADER.unpack_from(raw, 4)
        dim_t = 0
    header = UniHeader(
        magic.decode(),
        (x, y, z),
        grid_type,
        element,
        nbytes,
        info.split(b"\0", 1)[0].decode("utf-8", "replace"),
        dim_t,
        stamp,
    )
    check_header(header, path)
    return header


def check_header(h: UniHeader, path: Path) -> None:
    """Every field against the others; a UserError names the file and the field."""
    for name, n in zip(("dimX", "dimY", "dimZ"), h.size):
        if n < 1:
            raise UserError(f"{path}: header field {name} = {n}, must be >= 1")
    if h.element_type not in ELEMENTS:
        raise UserError(
            f"{path}: header field elementType = {h.element_type}, "
            "expected 0 (int), 1 (float) or 2 (vec3)"
        )
    name, _dtype, _c, nbytes, fits = ELEMENTS[h.element_type]
    if h.bytes_per_element != nbytes:
        raise UserError(
            f"{path}: header field bytesPerElement = {h.bytes_per_element}, "
            f"expected {nbytes} for elementType {h.element_type} ({name})"
        )
    if not h.grid_type & fits:
        raise UserError(
            f"{path}: header field gridType = {h.grid_type} does not fit "
            f"elementType {h.element_type} ({name})"
        )
    if h.dim_t != 0:
        raise UserError(f"{path}: header field dimT = {h.dim_t}: a 4D grid, not supported")


def read_uni_header(path: str | os.PathLike) -> UniHeader:
    """The checked header alone (decompresses only the first bytes)."""
    path = Path(path)
    return parse_header(_read(path, HEADER_BYTES), path)


def read_uni(path: str | os.PathLike) -> UniGrid:
    """A whole ``.uni`` grid: (Z, Y, X) int32/float32 or (Z, Y, X, 3) float32."""
    path = Path(path)
    raw = _read(path)
    header = parse_header(raw, path)
    got = len(raw) - HEADER_BYTES
    if got != header.data_bytes:
        x, y, z = header.size
        raise UserError(
            f"{path}: data has {got} bytes, the header says dimX*dimY*dimZ*bytesPerElement = "
            f"{x}*{y}*{z}*{header.bytes_per_element} = {header.data_bytes}"
            + (" (truncated file)" if got < header.data_bytes else "")
        )
    dtype = ELEMENTS[header.element_type][1]
    data = np.frombuffer(raw, dtype, offset=HEADER_BYTES).reshape(header.data_shape)
    return UniGrid(header, data.astype(dtype.newbyteorder("="), copy=True))


def encode_uni(
    data: np.ndarray, kind: str | None = None, *, info: str | None = None, timestamp: int = 0
) -> bytes:
    """The uncompressed bytes of a ``.uni`` file holding ``data`` (see :func:`write_uni`)."""
    data = np.asarray(data)
    if kind is None:
        integer = np.issubdtype(data.dtype, np.integer)
        kind = "int" if integer else "real" if data.ndim == 3 else "vec3"
    if kind not in GRID_TYPES:
        raise ValueError(f"grid kind {kind!r}: expected one of {', '.join(GRID_TYPES)}")
    element = _ELEMENT_OF[kind]
    _name, dtype, components, nbytes, _fits = ELEMENTS[element]
    expected = 3 if components == 1 else 4
    if data.ndim != expected or (components == 3 and data.shape[-1] != 3) or min(data.shape) < 1:
        layout = "(Z, Y, X)" if components == 1 else "(Z, Y, X, 3)"
        raise ValueError(f"a {kind} grid needs data of shape {layout}, got {data.shape}")
    if element == 0 and not np.issubdtype(data.dtype, np.integer):
        raise ValueError(f"an {kind} grid needs integer data, got {data.dtype}")
    z, y, x = data.shape[:3]
    text = (info if info is not None else f"fluidgan {__version__}").encode()[: INFO_BYTES - 1]
    header = _HEADER.pack(x, y, z, GRID_TYPES[kind], element, nbytes, text, 0, timestamp)
    return MAGIC + header + np.ascontiguousarray(data, dtype=dtype).tobytes()


def write_uni(
    path: str | os.PathLike,
    data: np.ndarray,
    kind: str | None = None,
    *,
    compress: bool = True,
    info: str | None = None,
    timestamp: int = 0,
) -> Path:
    """Write one grid as mantaflow's ``Grid::load`` reads it, atomically.

    ``data``: (Z, Y, X) or (Z, Y, X, 3) (a 2D grid has Z = 1; :func:`to_grid_layout` makes
    it from a fluidgan field). ``kind``: real, int, vec3, mac, levelset or flags (default:
    int for integer data, else real or vec3 by shape). Gzip level 1 as mantaflow writes,
    or plain with ``compress=False``. ``timestamp`` (ms) defaults to 0 so that the same
    data gives the same bytes.
    """
    raw = encode_uni(data, kind, info=info, timestamp=timestamp)
    return write_bytes(path, gzip.compress(raw, compresslevel=1, mtime=0) if compress else raw)


def to_grid_layout(field: np.ndarray, dim: int) -> np.ndarray:
    """A fluidgan field -> mantaflow's layout.

    ([Z,] Y, X) -> (Z, Y, X), one z slice in 2D; ([Z,] Y, X, dim) -> (Z, Y, X, 3), v_z = 0
    in 2D.
    """
    field = np.asarray(field)
    vector = field.ndim == dim + 1
    if dim == 2:
        field = field[None]
        if vector:
            field = np.concatenate([field, np.zeros_like(field[..., :1])], axis=-1)
    return field


def from_grid_layout(data: np.ndarray, dim: int) -> np.ndarray:
    """mantaflow's (Z, Y, X[, 3]) -> a fluidgan field ([Z,] Y, X[, dim]); inverse of
    :func:`to_grid_layout` (in 2D the z slice and v_z are dropped)."""
    if dim == 3:
        return data
    if data.shape[0] != 1:
        raise ValueError(f"a 2D grid has one z slice, got shape {data.shape}")
    return data[0, ..., :2] if data.ndim == 4 else data[0]


def _axis_of(component: int) -> int:
    """The array axis of vector component c (x, y, z) in (Z, Y, X, 3): 2, 1, 0."""
    return 2 - component


def mac_to_centred(mac: np.ndarray, dim: int) -> np.ndarray:
    """Face velocities (Z, Y, X, 3) -> cell-centred (Z, Y, X, 3).

    u_c(i) = ½ (u_c on face i + u_c on face i+1) along axis c. The last cell's upper face
    is not stored (it lies outside the grid): there the lower face value is used (zero
    gradient), which differs from the average only in that one layer. In 2D the z
    component is copied (mantaflow keeps it 0).
    """
    out = np.array(mac, dtype=np.float32, copy=True)
    for c in range(dim):
        axis = _axis_of(c)
        u = mac[..., c]
        upper = np.concatenate([np.delete(u, 0, axis=axis), np.take(u, [-1], axis=axis)], axis)
        out[..., c] = 0.5 * (u + upper)
    return out


def centred_to_mac(centred: np.ndarray, dim: int) -> np.ndarray:
    """Cell-centred velocities (Z, Y, X, 3) -> face velocities (Z, Y, X, 3).

    Face i along axis c gets ½ (u_c(i-1) + u_c(i)); the first face (on the grid's lower
    boundary) takes u_c(0). In 2D the z component is copied.
    """
    out = np.array(centred, dtype=np.float32, copy=True)
    for c in range(dim):
        axis = _axis_of(c)
        u = centred[..., c]
        lower = np.concatenate([np.take(u, [0], axis=axis), np.delete(u, -1, axis=axis)], axis)
        out[..., c] = 0.5 * (lower + u)
    return out
