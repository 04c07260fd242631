"""Atomic file writes: nothing half-written is ever left looking valid (docs/FORMATS.md).

Every writer of the project goes through :func:`atomic_path`: it writes to a temporary
name beside the target (same folder, so the rename is atomic; same suffix, so writers
that pick the format by suffix still work; the process id in the name, so two processes
writing the same file do not collide), renames it over the target when the block
succeeds and removes it when it fails. ``SimWriter`` keeps its own ``<name>.tmp`` because
its file stays open across many frames. A full disk, a read-only folder or a permission
denied becomes a one-line :class:`~fluidgan.io.faults.FileFault` naming the target.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from fluidgan.io.faults import faults_named


@contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path for ``path``; rename it to ``path`` when the block succeeds."""
    path = Path(path)
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp{path.suffix}")
    with faults_named(path):
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            yield tmp
            os.replace(tmp, path)
        finally:
            with contextlib.suppress(OSError):  # e.g. a read-only folder: nothing to remove
                tmp.unlink(missing_ok=True)


def write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """``data`` to ``path``, atomically."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
    return Path(path)


def write_text(path: str | os.PathLike, text: str) -> Path:
    """``text`` (UTF-8) to ``path``, atomically."""
    return write_bytes(path, text.encode())
