"""Simulation files: the HDF5 schema of docs/FORMATS.md, written atomically, read lazily.

One file per simulation::

    /                attrs: format="fluidgan.sim", format_version=1, dim, factor, dt, seed,
                     scene (JSON), solver (JSON), fluidgan_version
    /high/density    float32 (T, [Z,] Y, X)
    /high/velocity   float32 (T, [Z,] Y, X, dim)  cell-centred, high-res cells per frame
    /low/density     float32 (T, [Z,] Y, X)
    /low/velocity    float32 (T, [Z,] Y, X, dim)  cell-centred, low-res cells per frame
    /time            float64 (T,)

Frames are written one at a time (a 3D sequence need not fit in memory) into
``<name>.tmp`` which is renamed to ``<name>`` only when the last frame is in, so a file
that exists under its final name is always complete.

Writers bypass HDF5's chunk cache: every write covers whole chunks, so the cache would
only delay it -- and a delayed write that fails (a full disk) fails in a destructor, where
HDF5 cannot report it and the process crashes at exit. Written directly, the write itself
raises, the writer closes its file in a ``finally`` and a one-line fault reaches the user.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from fluidgan import __version__
from fluidgan.errors import UserError
from fluidgan.io.faults import as_fault, faults_named

FORMAT = "fluidgan.sim"
FORMAT_VERSION = 1
GROUPS = ("high", "low", "sr")
REQUIRED = ("low/density", "low/velocity", "time")
# /high is the ground truth of a simulation; an upscaled coarse run or a user's low-res
# sequence has /sr instead. Every group present holds both fields.
ONE_OF = ("high", "sr")
# no timestamps in the file: the same seed must give bit-identical files
_COMPRESSION = {"compression": "gzip", "compression_opts": 1, "shuffle": True, "track_times": False}


@dataclass(frozen=True)
class SimMeta:
    """The root attributes of a simulation file."""

    dim: int
    factor: int
    dt: float
    seed: int
    scene: Mapping[str, Any] = field(default_factory=dict)
    solver: Mapping[str, Any] = field(default_factory=dict)

    def attrs(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "dim": self.dim,
            "factor": self.factor,
            "dt": self.dt,
            "seed": self.seed,
            "scene": json.dumps(self.scene, sort_keys=True),
            "solver": json.dumps(self.solver, sort_keys=True),
            "fluidgan_version": __version__,
        }


def chunk_shape(frame_shape: tuple[int, ...]) -> tuple[int, ...]:
    """One frame per chunk, or a 32^d block of one frame when a frame is large."""
    if int(np.prod(frame_shape)) <= 256**2:
        return (1, *frame_shape)
    return (1, *(min(32, n) for n in frame_shape))


class SimWriter:
    """Write a simulation frame by frame; ``commit()`` makes the file appear.

    Use as a context manager: leaving the block by an exception removes the temporary
    file, so nothing half-written is left looking valid.
    """

    suffix = ".tmp"  # of the file being written, beside ``path``

    def __init__(
        self,
        path: str | os.PathLike,
        meta: SimMeta,
        frames: int,
        high_shape: tuple[int, ...],
        low_shape: tuple[int, ...],
        groups: tuple[str, ...] = ("high", "low"),
    ):
        self.path = Path(path)
        self.tmp = self.path.with_name(self.path.name + self.suffix)
        self.frames = frames
        self.count = 0
        self._file = None
        with self._faults():
            self._file = open_h5(self.tmp, "w", rdcc_nbytes=0)
            try:
                self._file.attrs.update(meta.attrs())
                shapes = {"high": high_shape, "low": low_shape, "sr": high_shape}
                for group in groups:
                    create_fields(self._file, group, frames, shapes[group], meta.dim)
                self._file.create_dataset(
                    "time", shape=(frames,), dtype=np.float64, track_times=False
                )
            except BaseException:
                self.abort()
                raise

    def _faults(self):
        """A full disk or a read-only folder, named by the file being written."""
        return faults_named(self.path)

    def write_frame(self, time: float, **fields: np.ndarray) -> None:
        """Store frame ``self.count``; keys are ``"<group>/<field>"`` (e.g. ``high/density``)."""
        t = self.count
        if t >= self.frames:
            raise ValueError(f"{self.path}: all {self.frames} frames already written")
        with self._faults():
            for key, value in fields.items():
                self._file[key][t] = value
            self._file["time"][t] = time
        self.count += 1

    def write_extra(self, key: str, data: np.ndarray) -> None:
        """An optional dataset (e.g. ``low/vorticity``), written whole."""
        with self._faults():
            self._file.create_dataset(key, data=data, chunks=True, **_COMPRESSION)

    def describe_group(self, group: str, **attrs: Any) -> None:
        """Record where ``group`` came from as its attributes (numbers and strings as they
        are, anything else as JSON), e.g. the checkpoint and pass plan behind ``/sr``."""
        plain = {
            k: v if isinstance(v, int | float | str) else json.dumps(v) for k, v in attrs.items()
        }
        with self._faults():
            self._file[group].attrs.update(plain)

    def frame_bytes(self, frames: range) -> float:
        """Mean bytes one of ``frames`` (written) takes in the file: its compressed chunks
        (the file's own size would count index nodes allocated once, up front)."""
        total = 0
        for name in field_names(self._file):
            ds = self._file[name]
            grid = [range(0, n, c) for n, c in zip(ds.shape[1:], ds.chunks[1:], strict=True)]
            for t in frames:
                for corner in itertools.product(*grid):
                    info = ds.id.get_chunk_info_by_coord((t, *corner))
                    total += info.size if info.byte_offset is not None else 0
        return total / max(len(frames), 1) + 12  # its time (and CRC in a partial file)

    def commit(self) -> Path:
        if self.count != self.frames:
            raise ValueError(f"{self.path}: {self.count} of {self.frames} frames written")
        try:
            with self._faults():
                self._file.close()  # flushes: a full disk shows here
                os.replace(self.tmp, self.path)
        except BaseException:
            self.abort()
            raise
        return self.path

    def abort(self) -> None:
        """Close the file (even on a full disk) and remove the temporary file."""
        close_h5(self._file, self.tmp)
        with contextlib.suppress(OSError):
            self.tmp.unlink(missing_ok=True)

    def __enter__(self) -> SimWriter:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is not None or self.count != self.frames:
            self.abort()
        elif self._file is not None and self._file.id.valid:
            self.commit()


def field_names(f: h5py.File) -> list[str]:
    """``<group>/density`` and ``<group>/velocity`` of every group present."""
    return [f"{g}/{n}" for g in GROUPS if g in f for n in ("density", "velocity")]


def close_h5(f: h5py.File | None, path: Path) -> None:
    """Close ``f`` whatever happens. When the flush on close fails (a full disk), the file
    is being discarded: truncating it frees its own space so HDF5 can finish closing,
    instead of leaving the library with an open file it fails to flush at exit."""
    if f is None or not f.id.valid:
        return
    try:
        f.close()
    except (OSError, RuntimeError):  # h5py raises either, depending on where HDF5 failed
        with contextlib.suppress(OSError):
            os.truncate(path, 0)
        with contextlib.suppress(OSError, RuntimeError):
            f.close()


def open_h5(path: str | os.PathLike, mode: str = "r", **kwargs: Any) -> h5py.File:
    """``h5py.File`` with one-line errors: a file another process holds open is a Fault
    ("locked by another process"), as are a read-only or forbidden one; anything else
    HDF5 cannot open is a UserError ("not an HDF5 file")."""
    try:
        return h5py.File(path, mode, **kwargs)
    except OSError as e:
        fault = as_fault(e, path)  # locked, read-only, forbidden
        if fault is not None:
            raise fault from None
        if mode != "r":
            raise
        raise UserError(f"{path}: not an HDF5 file ({' '.join(str(e).split())})") from None


def create_fields(f: h5py.File, group: str, frames: int, shape: tuple[int, ...], dim: int) -> None:
    """Create ``<group>/density`` (T, *shape) and ``<group>/velocity`` (T, *shape, dim)."""
    g = f.require_group(group)
    g.create_dataset(
        "density",
        shape=(frames, *shape),
        dtype=np.float32,
        chunks=chunk_shape(shape),
        **_COMPRESSION,
    )
    g.create_dataset(
        "velocity",
        shape=(frames, *shape, dim),
        dtype=np.float32,
        chunks=(*chunk_shape(shape), dim),
        **_COMPRESSION,
    )


def open_sim(path: str | os.PathLike, mode: str = "r") -> h5py.File:
    """Open a simulation file after checking the schema; a UserError names what is wrong."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"{path}: no such simulation file")
    f = open_h5(path, mode)
    try:
        check_schema(f, path)
    except UserError:
        f.close()
        raise
    return f


def check_schema(f: h5py.File, path: Path) -> None:
    if f.attrs.get("format") != FORMAT:
        raise UserError(f"{path}: attribute 'format' is {f.attrs.get('format')!r}, not {FORMAT!r}")
    version = int(f.attrs.get("format_version", -1))
    if version != FORMAT_VERSION:
        raise UserError(f"{path}: format_version {version} is not supported ({FORMAT_VERSION})")
    for key in REQUIRED:
        if key not in f:
            raise UserError(f"{path}: missing dataset '/{key}'")
    if not any(group in f for group in ONE_OF):
        raise UserError(f"{path}: missing group '/high' (or '/sr' in an upscaled file)")
    for key in (f"{g}/{name}" for g in GROUPS if g in f for name in ("density", "velocity")):
        if key not in f:
            raise UserError(f"{path}: missing dataset '/{key}'")
    dim = int(f.attrs["dim"])
    frames = f["time"].shape[0]
    for group in (g for g in GROUPS if g in f):
        density, velocity = f[group]["density"], f[group]["velocity"]
        if density.ndim != dim + 1 or density.shape[0] != frames:
            raise UserError(
                f"{path}: /{group}/density has shape {density.shape}, "
                f"expected ({frames}, <{dim} spatial axes>)"
            )
        if velocity.shape != (*density.shape, dim):
            raise UserError(
                f"{path}: /{group}/velocity has shape {velocity.shape}, "
                f"expected {(*density.shape, dim)}"
            )


def read_meta(f: h5py.File) -> SimMeta:
    a = f.attrs
    return SimMeta(
        dim=int(a["dim"]),
        factor=int(a["factor"]),
        dt=float(a["dt"]),
        seed=int(a["seed"]),
        scene=json.loads(a["scene"]),
        solver=json.loads(a["solver"]),
    )


def read_sim(path: str | os.PathLike, groups: tuple[str, ...] = ("high", "low")) -> dict:
    """Load a whole simulation into memory: ``{"meta", "time", "<group>/<field>": array}``."""
    with open_sim(path) as f:
        out: dict[str, Any] = {"meta": read_meta(f), "time": f["time"][:]}
        for group in groups:
            for name in ("density", "velocity"):
                out[f"{group}/{name}"] = f[group][name][:]
        return out
