"""Low-res sequences to upscale, from the files a user may bring.

Accepted inputs (chosen by content, not by name):

* a fluidgan simulation file (``fluidgan simulate`` output, or any file with the
  docs/FORMATS.md schema): ``/low/density``, ``/low/velocity`` and, when present, ``/high``
  (copied to the output so ``fluidgan evaluate`` can compare against it);
* a plain HDF5 file with ``/low/density`` (T, [Z,] Y, X) and optionally ``/low/velocity``
  (T, [Z,] Y, X, d) in low-res cells per frame, and optionally ``/time`` (T,);
* a ``.npz`` archive with ``density`` (T, [Z,] Y, X), optionally ``velocity``
  (T, [Z,] Y, X, d) and ``time`` (T,).
* a directory of per-frame mantaflow ``.uni`` files in tempoGAN's layout
  (``density_low_NNNN.uni`` or ``density_NNNN.uni``, optionally velocity and the high-res
  pair), see :mod:`fluidgan.io.mantaflow`.

Arrays are C order (z, y, x), vector components (x, y[, z]), as in simulation files.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from fluidgan.errors import UserError
from fluidgan.io.simfile import FORMAT, SimMeta, open_h5, open_sim, read_meta
from fluidgan.registry import Registry


@dataclass
class LowSequence:
    """A low-res sequence, read lazily (h5py datasets) or from memory (numpy arrays).

    density (T, *s); velocity (T, *s, d) in low-res cells per frame, or None; time (T,);
    high: ``{"density", "velocity"}`` of the ground truth when the input has it.
    """

    path: Path
    kind: str
    density: Any
    velocity: Any | None
    time: np.ndarray
    meta: SimMeta | None = None
    high: dict[str, Any] | None = None
    _file: h5py.File | None = field(default=None, repr=False)

    @property
    def dim(self) -> int:
        return self.density.ndim - 1

    @property
    def frames(self) -> int:
        return self.density.shape[0]

    @property
    def low_shape(self) -> tuple[int, ...]:
        return tuple(self.density.shape[1:])

    def close(self) -> None:
        if self._file is not None and self._file.id.valid:
            self._file.close()

    def __enter__(self) -> LowSequence:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


Opener = Callable[[Path], LowSequence]
#: The accepted inputs: name -> (does a path match?, open it), tried in this order.
READERS: Registry[tuple[Callable[[Path], bool], Opener]] = Registry("input reader", ordered=True)


def reader(name: str, matches: Callable[[Path], bool]):
    def register(fn: Opener) -> Opener:
        READERS.register(name)((matches, fn))
        return fn

    return register


def _is_hdf5(path: Path) -> bool:
    return path.suffix.lower() != ".npz" and h5py.is_hdf5(path)


def _is_sim(path: Path) -> bool:
    if not _is_hdf5(path):
        return False
    with open_h5(path) as f:  # a file locked by a writer: a one-line fault
        return f.attrs.get("format") == FORMAT


@reader("simulation", _is_sim)
def open_simulation(path: Path) -> LowSequence:
    f = open_sim(path)
    high = {k: f["high"][k] for k in ("density", "velocity")} if "high" in f else None
    return LowSequence(
        path, "simulation", f["low/density"], f["low/velocity"], f["time"][:], read_meta(f), high, f
    )


@reader("hdf5", lambda p: _is_hdf5(p) and not _is_sim(p))
def open_plain_hdf5(path: Path) -> LowSequence:
    f = open_h5(path)
    try:
        if "low/density" not in f:
            raise UserError(
                f"{path}: missing dataset '/low/density' (has: {', '.join(_keys(f)) or 'none'})"
            )
        density = f["low/density"]
        velocity = f["low/velocity"] if "low/velocity" in f else None
        time = f["time"][:] if "time" in f else None
        seq = LowSequence(path, "hdf5", density, velocity, default_time(time, density.shape[0]))
        seq._file = f
        check_sequence(seq, "/low/density", "/low/velocity", "/time")
        return seq
    except Exception:
        f.close()
        raise


@reader("npz", lambda p: p.suffix.lower() == ".npz")
def open_npz(path: Path) -> LowSequence:
    try:
        data = np.load(path)
    except Exception as e:
        raise UserError(f"{path}: not a readable .npz archive ({type(e).__name__}: {e})") from None
    with data:
        if "density" not in data.files:
            raise UserError(
                f"{path}: missing array 'density' (has: {', '.join(data.files) or 'none'})"
            )
        density = np.asarray(data["density"], dtype=np.float32)
        velocity = np.asarray(data["velocity"], np.float32) if "velocity" in data.files else None
        time = np.asarray(data["time"], np.float64) if "time" in data.files else None
    seq = LowSequence(path, "npz", density, velocity, default_time(time, density.shape[0]))
    check_sequence(seq, "density", "velocity", "time")
    return seq


@reader("mantaflow", lambda p: p.is_dir())
def open_uni_directory(path: Path) -> LowSequence:
    """Per-frame mantaflow files: density_low_NNNN.uni (or density_NNNN.uni) and, when
    present, velocity_low_NNNN.uni and the high-res pair (copied as ground truth).
    Velocities are taken as in cells per frame (mantaflow's default dt = 1, as tempoGAN's
    generator writes them); for another dt import with ``fluidgan import mantaflow --dt``."""
    from fluidgan.io.mantaflow import frame_files, open_sequence

    if not frame_files(path):
        subdirs = sorted(d.name for d in path.iterdir() if d.is_dir() and frame_files(d))
        if subdirs:
            raise UserError(
                f"{path}: holds {len(subdirs)} simulations ({', '.join(subdirs[:3])}…); "
                f"pass one of them, e.g. {path / subdirs[0]}"
            )
    seq = open_sequence(path, single_as="low", need_velocity=False)
    velocity = seq.frames("velocity", "low") if seq.has("velocity", "low") else None
    high = None
    if seq.has("density", "high") and seq.has("velocity", "high"):
        high = {k: seq.frames(k, "high") for k in ("density", "velocity")}
    meta = SimMeta(seq.dim, seq.factor or 1, 1.0, 0, {"name": "mantaflow", "source": str(path)})
    return LowSequence(
        path, "mantaflow", seq.frames("density", "low"), velocity, seq.time(), meta, high
    )


def _keys(f: h5py.File) -> list[str]:
    names: list[str] = []
    f.visit(lambda name: names.append("/" + name) if isinstance(f[name], h5py.Dataset) else None)
    return names


def default_time(time: np.ndarray | None, frames: int) -> np.ndarray:
    """The stored times, or 1, 2, ... T frames when the input has none."""
    return np.arange(1, frames + 1, dtype=np.float64) if time is None else np.asarray(time)


def check_sequence(seq: LowSequence, density_key: str, velocity_key: str, time_key: str) -> None:
    """Shapes of a user-supplied sequence; a UserError names the key at fault."""
    shape = seq.density.shape
    if len(shape) not in (3, 4) or min(shape) < 1:
        raise UserError(
            f"{seq.path}: '{density_key}' has shape {shape}; expected (T, Y, X) or (T, Z, Y, X)"
        )
    if not np.issubdtype(seq.density.dtype, np.floating):
        raise UserError(f"{seq.path}: '{density_key}' has dtype {seq.density.dtype}, not float")
    if seq.velocity is not None and tuple(seq.velocity.shape) != (*shape, seq.dim):
        raise UserError(
            f"{seq.path}: '{velocity_key}' has shape {seq.velocity.shape}; "
            f"expected {(*shape, seq.dim)} (density's shape + {seq.dim} components)"
        )
    if seq.time.shape != (shape[0],):
        raise UserError(
            f"{seq.path}: '{time_key}' has shape {seq.time.shape}; expected ({shape[0]},)"
        )


def open_low_sequence(path: str | os.PathLike) -> LowSequence:
    """Open any accepted input (see the module docstring); a UserError says what is wrong."""
    path = Path(path)
    if not path.exists():
        raise UserError(f"{path}: no such input file or directory")
    for _name, (matches, opener) in READERS.items():
        try:
            hit = matches(path)
        except OSError:
            hit = False
        if hit:
            return opener(path)
    raise UserError(
        f"{path}: not an accepted input (a fluidgan simulation .h5, an HDF5 file with "
        "/low/density, an .npz with 'density', or a directory of mantaflow .uni frames)"
    )
