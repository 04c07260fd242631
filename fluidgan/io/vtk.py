"""ParaView volumes: one VTK XML ImageData file (.vti) per frame and a .pvd time collection.

Written with numpy and zlib only (no VTK import, so it is fast and works without a display
stack): VTK's "appended raw binary, compressed" layout, ``header_type="UInt64"``,
``compressor="vtkZLibDataCompressor"``. Each array in the ``<AppendedData>`` section is::

    [nblocks, blocksize, lastblocksize, csize_0, …, csize_{n-1}]   UInt64 little-endian
    zlib(block_0) … zlib(block_{n-1})

where ``blocksize`` is the uncompressed size of a full block, ``lastblocksize`` the
uncompressed size of the last block when it is partial (0 when it is full), and
``csize_i`` the compressed sizes; a ``DataArray``'s ``offset`` counts bytes from the
character after the ``_`` that opens the section.

Geometry (docs/FORMATS.md, "VTK for ParaView"): cell-centred data are written as VTK point
data at the cell centres. Every grid of a simulation spans the box [0, 1] along its
longest axis, i.e. ``dx = 1 / max(res)`` of *that* grid, origin ``box_min + dx/2`` with
``box_min = 0`` -- so the low-res, upscaled and high-res volumes of one simulation overlay
exactly in ParaView. ``Dimensions`` are ``shape[::-1]`` of the (z, y, x) array (x varies
fastest, as in C order). A 2D (y, x) frame becomes a one-cell-thick volume (1, y, x) and
its 2-vectors get ``v_z = 0``. ``density`` is the active scalar, ``velocity`` (always three
components) the active vector. Each file carries its frame time as the field-data array
``TimeValue``; the ``.pvd`` gives the same time as ``timestep``.

Every file is written under a temporary name in the same folder and renamed, so ParaView
never opens a half-written frame or collection.
"""

from __future__ import annotations

import os
import zlib
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from xml.sax.saxutils import quoteattr

import numpy as np

from fluidgan.io.atomic import write_bytes

HEADER_DTYPE = np.dtype("<u8")
BLOCK_SIZE = 1 << 20  # uncompressed bytes per zlib block; blocks compress in parallel
ZLIB_LEVEL = 1  # float fields barely compress harder at higher levels, but take 3-5x longer
VTK_TYPES = {
    np.dtype("float32"): "Float32",
    np.dtype("float64"): "Float64",
    np.dtype("int8"): "Int8",
    np.dtype("uint8"): "UInt8",
    np.dtype("int16"): "Int16",
    np.dtype("uint16"): "UInt16",
    np.dtype("int32"): "Int32",
    np.dtype("uint32"): "UInt32",
    np.dtype("int64"): "Int64",
    np.dtype("uint64"): "UInt64",
}
ACTIVE_SCALARS = "density"
ACTIVE_VECTORS = "velocity"


# --------------------------------------------------------------------------- geometry


def grid_geometry(shape: Sequence[int]) -> tuple[float, tuple[float, float, float]]:
    """Spacing ``dx = 1 / max(shape)`` and the origin (x, y, z) of the first cell centre.

    ``shape`` is the spatial (z, y, x) or (y, x) shape of one grid; the box is
    [0, shape[::-1] · dx], i.e. [0, 1] along the longest axis.
    """
    dx = 1.0 / max(shape)
    return dx, (0.5 * dx, 0.5 * dx, 0.5 * dx)


def as_volume(field: np.ndarray, dim: int) -> np.ndarray:
    """One frame as a VTK point array: scalar (*S) -> (Z, Y, X); vector (*S, dim) -> (Z, Y, X, 3).

    2D frames get a z axis of length 1; 2-vectors (v_x, v_y) get v_z = 0.
    """
    if field.ndim == dim:
        return field if dim == 3 else field[None]
    if field.ndim == dim + 1 and field.shape[-1] == dim:
        if dim == 3:
            return field
        vector = np.zeros((1, *field.shape[:-1], 3), dtype=field.dtype)
        vector[0, ..., :dim] = field
        return vector
    raise ValueError(f"a {dim}D frame must be (*S) or (*S, {dim}), got shape {field.shape}")


# --------------------------------------------------------------------------- encoding


def compress_blocks(
    raw: bytes | memoryview, block_size: int = BLOCK_SIZE, level: int = ZLIB_LEVEL
) -> bytes:
    """The header and zlib blocks of one appended array (VTK's vtkZLibDataCompressor layout)."""
    view = memoryview(raw).cast("B")
    size = view.nbytes
    blocks = [view[i : i + block_size] for i in range(0, size, block_size)]
    if len(blocks) > 1:  # zlib releases the GIL: threads compress blocks in parallel
        with ThreadPoolExecutor(min(len(blocks), os.cpu_count() or 1)) as pool:
            compressed = list(pool.map(lambda b: zlib.compress(b, level), blocks))
    else:
        compressed = [zlib.compress(b, level) for b in blocks]
    last = size - (len(blocks) - 1) * block_size if blocks else 0
    partial = 0 if last == block_size else last
    header = np.array(
        [len(blocks), block_size, partial, *(len(c) for c in compressed)], dtype=HEADER_DTYPE
    )
    return header.tobytes() + b"".join(compressed)


def _fmt(value: float) -> str:
    return repr(float(value))


def vti_bytes(
    arrays: Mapping[str, np.ndarray],
    spacing: float,
    origin: Sequence[float],
    time: float | None = None,
    level: int = ZLIB_LEVEL,
    block_size: int = BLOCK_SIZE,
) -> bytes:
    """A complete .vti document for point arrays (Z, Y, X) or (Z, Y, X, C) of one shape.

    ``density`` becomes the active scalars and ``velocity`` the active vectors when present.
    ``time`` (if given) is stored as the field-data array ``TimeValue``.
    """
    if not arrays:
        raise ValueError("no arrays to write")
    shape = next(iter(arrays.values())).shape[:3]
    nz, ny, nx = shape
    extent = f"0 {nx - 1} 0 {ny - 1} 0 {nz - 1}"
    blobs, entries, offset = [], [], 0
    for name, array in arrays.items():
        if array.shape[:3] != shape or array.ndim not in (3, 4):
            raise ValueError(f"array {name!r} has shape {array.shape}, expected {shape}[+(C,)]")
        native = array.dtype.newbyteorder("=")
        if native not in VTK_TYPES:
            raise ValueError(f"array {name!r}: dtype {array.dtype} has no VTK type")
        data = np.ascontiguousarray(array, dtype=native.newbyteorder("<"))
        components = 1 if array.ndim == 3 else array.shape[3]
        blob = compress_blocks(data.data, block_size, level)
        entries.append(
            f'        <DataArray type="{VTK_TYPES[native]}" Name={quoteattr(name)} '
            f'NumberOfComponents="{components}" format="appended" offset="{offset}"/>'
        )
        blobs.append(blob)
        offset += len(blob)
    active = []
    if ACTIVE_SCALARS in arrays:
        active.append(f'Scalars="{ACTIVE_SCALARS}"')
    if ACTIVE_VECTORS in arrays and arrays[ACTIVE_VECTORS].ndim == 4:
        active.append(f'Vectors="{ACTIVE_VECTORS}"')
    field_data = ""
    if time is not None:
        field_data = (
            "    <FieldData>\n"
            '      <DataArray type="Float64" Name="TimeValue" NumberOfTuples="1" '
            f'format="ascii">{_fmt(time)}</DataArray>\n'
            "    </FieldData>\n"
        )
    head = (
        '<?xml version="1.0"?>\n'
        '<VTKFile type="ImageData" version="1.0" byte_order="LittleEndian" '
        'header_type="UInt64" compressor="vtkZLibDataCompressor">\n'
        f'  <ImageData WholeExtent="{extent}" Origin="{" ".join(map(_fmt, origin))}" '
        f'Spacing="{_fmt(spacing)} {_fmt(spacing)} {_fmt(spacing)}" '
        'Direction="1 0 0 0 1 0 0 0 1">\n'
        f"{field_data}"
        f'    <Piece Extent="{extent}">\n'
        f"      <PointData {' '.join(active)}>\n" + "\n".join(entries) + "\n"
        "      </PointData>\n"
        "      <CellData>\n"
        "      </CellData>\n"
        "    </Piece>\n"
        "  </ImageData>\n"
        '  <AppendedData encoding="raw">\n'
        "   _"
    )
    tail = "\n  </AppendedData>\n</VTKFile>\n"
    return head.encode() + b"".join(blobs) + tail.encode()


def write_vti(
    path: str | os.PathLike,
    arrays: Mapping[str, np.ndarray],
    spacing: float,
    origin: Sequence[float],
    time: float | None = None,
    level: int = ZLIB_LEVEL,
) -> Path:
    """Write one .vti file atomically; see :func:`vti_bytes`."""
    return write_bytes(path, vti_bytes(arrays, spacing, origin, time, level))


def write_frame_vti(
    path: str | os.PathLike,
    fields: Mapping[str, np.ndarray],
    dim: int,
    time: float | None = None,
    level: int = ZLIB_LEVEL,
) -> Path:
    """One simulation frame, fields (*S) or (*S, dim) of one grid, at its box geometry."""
    volumes = {name: as_volume(np.asarray(a), dim) for name, a in fields.items()}
    spatial = next(iter(fields.values())).shape[:dim]
    spacing, origin = grid_geometry(spatial)
    return write_vti(path, volumes, spacing, origin, time, level)


def pvd_bytes(entries: Sequence[tuple[float, str]]) -> bytes:
    """A ParaView collection: ``entries`` are (time, file name relative to the .pvd)."""
    rows = "".join(
        f'    <DataSet timestep="{_fmt(t)}" group="" part="0" file={quoteattr(name)}/>\n'
        for t, name in entries
    )
    return (
        '<?xml version="1.0"?>\n'
        '<VTKFile type="Collection" version="0.1" byte_order="LittleEndian">\n'
        "  <Collection>\n" + rows + "  </Collection>\n</VTKFile>\n"
    ).encode()


def write_pvd(path: str | os.PathLike, entries: Sequence[tuple[float, str]]) -> Path:
    """Write (or rewrite) a .pvd collection atomically."""
    return write_bytes(path, pvd_bytes(entries))
