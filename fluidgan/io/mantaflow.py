"""Directories of per-frame mantaflow ``.uni`` files, read as fluidgan sequences.

tempoGAN's data generator writes, per saved frame NNNN, ``density_low_NNNN.uni`` and
``velocity_low_NNNN.uni`` (the coarse grid) and ``density_high_NNNN.uni`` and
``velocity_high_NNNN.uni`` (the fine grid), one ``sim_XXXX/`` directory per simulation.
A single-resolution sequence is ``density_NNNN.uni`` + ``velocity_NNNN.uni``.

Reading converts honestly to the fluidgan schema: density (T, [Z,] Y, X); velocity
(T, [Z,] Y, X, dim) cell-centred (a MAC grid is averaged to the cell centres, see
:func:`fluidgan.io.uni.mac_to_centred`) and in cells of its own grid per *frame*:
mantaflow velocities are in cells per time unit, so they are multiplied by ``dt``, the
mantaflow time between two saved frames (1 in tempoGAN's generator: one step of the
default time step per frame). Frames must be numbered consecutively.
"""

from __future__ import annotations

import itertools
import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from fluidgan.errors import UserError
from fluidgan.io.uni import UniHeader, from_grid_layout, mac_to_centred, read_uni, read_uni_header

FRAME_FILE = re.compile(r"^(density|velocity)(?:_(low|high))?_(\d+)\.uni$")
FIELDS = ("density", "velocity")


def frame_files(directory: Path) -> dict[tuple[str, str], dict[int, Path]]:
    """``{(field, res): {frame number: path}}``, res "low", "high" or "" (single)."""
    found: dict[tuple[str, str], dict[int, Path]] = {}
    for path in sorted(directory.iterdir()) if directory.is_dir() else []:
        m = FRAME_FILE.match(path.name)
        if m and path.is_file():
            found.setdefault((m[1], m[2] or ""), {})[int(m[3])] = path
    return found


def sequence_dirs(src: str | os.PathLike) -> list[Path]:
    """``src`` itself when it holds frames, else its sub-directories that do, by name."""
    src = Path(src)
    if not src.is_dir():
        raise UserError(f"{src}: no such directory")
    if frame_files(src):
        return [src]
    dirs = [d for d in sorted(src.iterdir()) if d.is_dir() and frame_files(d)]
    if not dirs:
        raise UserError(
            f"{src}: no mantaflow frames (density_low_NNNN.uni + density_high_NNNN.uni, or "
            "density_NNNN.uni) here or in its sub-directories"
        )
    return dirs


def file_name(field: str, res: str, number: int, width: int = 4) -> str:
    return f"{field}_{res + '_' if res else ''}{number:0{width}d}.uni"


@dataclass
class UniSequence:
    """The checked frames of one directory.

    ``files[(field, res)][k]`` is frame ``numbers[k]``, res "low" or "high" (files named
    without a resolution count as ``single_as``); ``headers`` the first file's header of
    each; ``factor`` the high/low ratio when both resolutions are present.
    """

    root: Path
    numbers: list[int]
    files: dict[tuple[str, str], list[Path]]
    headers: dict[tuple[str, str], UniHeader]
    dim: int
    factor: int | None

    @property
    def resolutions(self) -> tuple[str, ...]:
        return tuple(r for r in ("low", "high") if ("density", r) in self.files)

    @property
    def paired(self) -> bool:
        return self.resolutions == ("low", "high")

    def has(self, field: str, res: str) -> bool:
        return (field, res) in self.files

    def shape(self, res: str) -> tuple[int, ...]:
        """([Z,] Y, X) of a resolution."""
        x, y, z = self.headers[("density", res)].size
        return (y, x) if self.dim == 2 else (z, y, x)

    def time(self, dt: float = 1.0) -> np.ndarray:
        """(T,) float64: frame number × dt, in mantaflow time units."""
        return np.asarray(self.numbers, dtype=np.float64) * dt

    def frames(self, field: str, res: str, dt: float = 1.0) -> UniFrames:
        key = (field, res)
        if key not in self.files:
            raise UserError(f"{self.root}: no {file_name(field, res, 0)[:-9]}_NNNN.uni files")
        return UniFrames(self.files[key], self.headers[key], self.dim, dt)


def open_sequence(
    directory: str | os.PathLike,
    select: Sequence[int] | Callable[[int], Sequence[int]] | None = None,
    *,
    single_as: str = "high",
    need_velocity: bool = True,
) -> UniSequence:
    """Find, pair and check the frames of one directory; headers only, no data read.

    ``select``: indices into the sorted frame numbers (e.g. a ``range``), or a function of
    their count that returns them. ``single_as``: what a single-resolution sequence is,
    and the resolution that must be present: "high" for a dataset, "low" for an input to
    upscale. ``need_velocity``: velocity files are required (else they may be absent
    altogether, never for some frames only).

    A UserError names the file and what does not fit: a missing partner file, a gap in the
    numbering, a grid of another size or kind, a high-res grid that is not an integer
    multiple of the low-res one.
    """
    root = Path(directory)
    found = frame_files(root)
    if not found:
        raise UserError(f"{root}: no mantaflow frame files (density_*_NNNN.uni) found")
    named = {res for _f, res in found}
    if "" in named and named != {""}:
        raise UserError(
            f"{root}: mixes density_NNNN.uni with density_low/high_NNNN.uni; keep one layout"
        )
    present = [r for r in ("low", "high") if r in named] or [""]
    if single_as == "high" and present == ["low"]:
        raise UserError(
            f"{root}: has low-res frames only; a dataset needs the high-res frames "
            "(density_high_NNNN.uni); to upscale them use `fluidgan upscale --input`"
        )
    if single_as == "low" and present == ["high"]:
        raise UserError(
            f"{root}: has high-res frames only (density_high_NNNN.uni); the input to "
            "upscale is the low-res sequence (density_low_NNNN.uni or density_NNNN.uni)"
        )
    keys = [(f, r) for r in present for f in FIELDS if need_velocity or (f, r) in found]
    reference = found.get(keys[0], {})
    if not reference:
        raise UserError(f"{root}: no {file_name(*keys[0], 0)[:-9]}_NNNN.uni files")
    numbers = sorted(reference)
    for key in keys:
        have = found.get(key, {})
        for n in numbers:
            if n not in have:
                raise UserError(
                    f"{root / file_name(*key, n)}: missing ({file_name(*keys[0], n)} exists)"
                )
        extra = sorted(set(have) - set(numbers))
        if extra:
            raise UserError(
                f"{root / file_name(*keys[0], extra[0])}: missing "
                f"({file_name(*key, extra[0])} exists)"
            )
    if callable(select):
        select = select(len(numbers))
    if select is not None:
        numbers = [numbers[i] for i in select]
    for a, b in itertools.pairwise(numbers):
        if b != a + 1:
            raise UserError(
                f"{root / file_name(*keys[0], a + 1)}: missing, frame numbers jump from {a} to "
                f"{b}; take a consecutive range with --frames A:B"
            )
    files = {(f, r or single_as): [found[(f, r)][n] for n in numbers] for f, r in keys}
    headers = {key: check_files(key, paths) for key, paths in files.items()}
    resolutions = [r or single_as for r in present]
    for res in resolutions:
        d, v = headers[("density", res)], headers.get(("velocity", res))
        if v is not None and v.size != d.size:
            raise UserError(
                f"{files[('velocity', res)][0]}: {v.describe()} is not the size of "
                f"{files[('density', res)][0].name} ({d.describe()})"
            )
    dim = headers[("density", resolutions[0])].dim
    factor = None
    if len(resolutions) == 2:
        factor = grid_factor(
            headers[("density", "low")],
            headers[("density", "high")],
            files[("density", "low")][0],
            files[("density", "high")][0],
        )
    return UniSequence(root, numbers, files, headers, dim, factor)


def check_files(key: tuple[str, str], paths: list[Path]) -> UniHeader:
    """Every file of one field and resolution: the right kind, all of the first's size."""
    field, _res = key
    first = read_uni_header(paths[0])
    kinds = ("real",) if field == "density" else ("vec3", "mac")
    for path in paths:
        h = first if path is paths[0] else read_uni_header(path)
        if h.kind not in kinds:
            raise UserError(
                f"{path}: holds a {h.kind} grid (gridType {h.grid_type}); "
                f"{field} must be a {' or '.join(kinds)} grid"
            )
        if h.size != first.size or h.kind != first.kind:
            raise UserError(f"{path}: {h.describe()}, but {paths[0].name} is a {first.describe()}")
    return first


def grid_factor(low: UniHeader, high: UniHeader, low_path: Path, high_path: Path) -> int:
    """The integer f with high size = f · low size on every axis (z stays 1 in 2D)."""
    if low.dim != high.dim:
        raise UserError(
            f"{high_path}: a {high.dim}D grid ({high.describe()}) but {low_path.name} is "
            f"{low.dim}D ({low.describe()})"
        )
    factor = high.size[0] // low.size[0]
    axes = range(high.dim)
    if factor < 1 or any(high.size[a] != factor * low.size[a] for a in axes):
        hs, ls = ("x".join(map(str, h.size)) for h in (high, low))
        raise UserError(
            f"{high_path}: grid {hs} is not an integer multiple of {low_path.name}'s grid {ls}"
        )
    return factor


class UniFrames:
    """A lazily read stack of frames, shaped and converted as the fluidgan schema wants.

    ``frames[k]`` reads one file; ``frames[a:b]`` stacks several. Density (T, *S) float32;
    velocity (T, *S, dim) float32, cell-centred, in cells per frame (× ``dt``).
    """

    def __init__(self, paths: list[Path], header: UniHeader, dim: int, dt: float = 1.0):
        self.paths = list(paths)
        self.header = header
        self.dim = dim
        self.dt = float(dt)
        x, y, z = header.size
        spatial = (y, x) if dim == 2 else (z, y, x)
        vector = header.components == 3
        self.shape = (len(self.paths), *spatial, *((dim,) if vector else ()))
        self.dtype = np.dtype(np.float32)

    @property
    def ndim(self) -> int:
        return len(self.shape)

    def __len__(self) -> int:
        return self.shape[0]

    def read(self, k: int) -> np.ndarray:
        path = self.paths[k]
        grid = read_uni(path)
        if grid.header.size != self.header.size or grid.header.kind != self.header.kind:
            raise UserError(
                f"{path}: {grid.header.describe()}, expected a {self.header.describe()}"
            )
        data = grid.data
        if grid.header.components == 3:
            if grid.header.is_mac:
                data = mac_to_centred(data, self.dim)
            data = data * np.float32(self.dt)
        return from_grid_layout(data, self.dim).astype(np.float32)

    def __getitem__(self, index: int | slice) -> np.ndarray:
        if isinstance(index, slice):
            picks = range(len(self))[index]
            return np.stack([self.read(k) for k in picks]).reshape(len(picks), *self.shape[1:])
        return self.read(range(len(self))[index])

    def __array__(self, dtype=None, copy=None) -> np.ndarray:
        out = self[:]
        return out if dtype is None else out.astype(dtype)
