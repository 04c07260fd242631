"""Resumable simulation files: ``<name>.partial`` keeps finished frames across a kill.

A long stage (``fluidgan upscale`` of a long or 3D sequence) writes its output with a
:class:`ResumableWriter`: frames go into ``<name>.partial``, and after every batch
:meth:`~ResumableWriter.checkpoint` records in the file's ``/partial`` group how many
frames are done and a CRC-32 of each. Ctrl-C, ``kill -9`` or a full disk leave the partial
file; the next writer created with the same ``key`` (what determines the output: input,
checkpoint, config, frame range) re-reads the done frames, checks their CRCs and goes on
from there. A partial file of another key, or one a kill left unreadable or inconsistent,
is discarded and the work starts over. The last frame removes ``/partial`` and renames the
file to ``<name>``, so a file under its final name is still always complete.
"""

from __future__ import annotations

import contextlib
import json
import zlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from fluidgan.errors import UserError
from fluidgan.io.simfile import SimMeta, SimWriter, field_names, open_h5

PARTIAL = "partial"


def frame_crc(fields: Mapping[str, np.ndarray], time: float) -> int:
    """CRC-32 of one frame's stored fields (in key order) and its time."""
    crc = 0
    for key in sorted(fields):
        crc = zlib.crc32(np.ascontiguousarray(fields[key]).tobytes(), crc)
    return zlib.crc32(np.float64(time).tobytes(), crc)


def done_frames(path: Path, key: str, frames: int) -> int | None:
    """Frames of the partial file ``path`` that can be kept, or None to start over."""
    if not path.exists():
        return None
    try:
        with h5py.File(path, "r") as f:
            record = f.get(PARTIAL)
            if record is None or record.attrs.get("key") != key or f["time"].shape[0] != frames:
                return None
            done = int(record.attrs["done"])
            fields = field_names(f)
            for t in range(done):
                crc = frame_crc({k: f[k][t] for k in fields}, float(f["time"][t]))
                if crc != int(record["crc"][t]):
                    return None
            return done
    except (OSError, RuntimeError, KeyError, ValueError):  # left unreadable by a kill
        return None


class ResumableWriter(SimWriter):
    """A SimWriter into ``<name>.partial`` that resumes after the frames already done.

    ``resumed``: frames found done (0 for a fresh file); write from frame ``resumed`` on.
    ``recorded``: frames recorded done so far (what a rerun will keep).
    Leaving the block by an exception keeps the partial file for the next run, except a
    UserError (bad input: rerunning cannot succeed), which removes it.
    """

    suffix = ".partial"

    def __init__(
        self,
        path,
        meta: SimMeta,
        frames: int,
        high_shape: tuple[int, ...],
        low_shape: tuple[int, ...],
        groups: tuple[str, ...],
        key: Mapping[str, Any],
    ):
        path = Path(path)
        self.key = json.dumps(key, sort_keys=True, default=str)
        self._pending: dict[int, int] = {}
        partial = path.with_name(path.name + self.suffix)
        done = done_frames(partial, self.key, frames)
        if done is None:
            super().__init__(path, meta, frames, high_shape, low_shape, groups)
            try:
                with self._faults():
                    record = self._file.create_group(PARTIAL)
                    record.attrs.update({"key": self.key, "done": 0})
                    record.create_dataset("crc", shape=(frames,), dtype=np.uint32)
            except BaseException:
                self.abort()
                raise
            self.resumed = 0
        else:
            self.path, self.tmp, self.frames = path, partial, frames
            self._file = None
            with self._faults():
                self._file = open_h5(partial, "r+", rdcc_nbytes=0)
            self.count = self.resumed = done
        self.recorded = self.resumed

    def write_frame(self, time: float, **fields: np.ndarray) -> None:
        stored = {k: np.asarray(v, self._file[k].dtype) for k, v in fields.items()}
        t = self.count
        super().write_frame(time, **stored)
        self._pending[t] = frame_crc(stored, time)

    def checkpoint(self) -> None:
        """Record the frames written so far as done: from here on they survive a kill."""
        with self._faults():
            record = self._file[PARTIAL]
            for t, crc in self._pending.items():
                record["crc"][t] = crc
            record.attrs["done"] = self.count
            self._file.flush()
        self._pending = {}
        self.recorded = self.count

    def commit(self) -> Path:
        if self.count == self.frames:
            with self._faults():
                del self._file[PARTIAL]
        return super().commit()

    def keep(self) -> None:
        """Close the partial file for a later run (a failed close leaves it to be checked
        then: a full disk may have cut the last write short)."""
        if self._file is not None and self._file.id.valid:
            # after a failed flush HDF5 may refuse to close (OSError or RuntimeError)
            with contextlib.suppress(OSError, RuntimeError):
                self._file.close()

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            super().__exit__(exc_type, exc, tb)
        elif issubclass(exc_type, UserError):
            self.abort()
        else:
            self.keep()
