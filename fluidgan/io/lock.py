"""Locks against two writers: one run per output, one read-modify-write at a time.

:func:`run_lock` guards an output (a dataset shard, a run directory, an upscaled file, an
export) for the duration of a stage: a lock file beside it holds the owner's host, pid and
start time. A second run on the same output refuses with a one-line
:class:`~fluidgan.errors.Fault` naming the owner. A lock left by a run that died (its pid
gone on this host, or reused by a process that started later) is stale and taken over; a
lock held on another host cannot be checked from here, so the message says which file to
delete if that run is gone. Files are created with ``os.link`` of a complete temporary
file, which is atomic on local and network file systems alike.

:func:`exclusive` serialises short read-modify-write sections between processes (the
dataset manifest that concurrent ``--shard`` jobs update) with ``fcntl.lockf``.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import socket
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from fluidgan.errors import Fault
from fluidgan.io.faults import faults_named


def process_start(pid: int) -> int | None:
    """The start time of ``pid`` in clock ticks since boot (Linux), or None if unknown."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # the command name (field 2) may hold spaces: fields after its closing ')'
    return int(stat.rsplit(")", 1)[1].split()[19])


def owner_record() -> dict[str, Any]:
    return {
        "host": socket.gethostname(),
        "pid": os.getpid(),
        "start": process_start(os.getpid()),
        "since": time.strftime("%Y-%m-%d %H:%M:%S"),
        "command": " ".join([Path(sys.argv[0]).name, *sys.argv[1:]]),
    }


def is_alive(owner: dict[str, Any]) -> bool | None:
    """Whether the owner process still runs: None when it is on another host."""
    if owner.get("host") != socket.gethostname():
        return None
    pid = int(owner.get("pid", -1))
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's live process
        return True
    recorded = owner.get("start")
    # a pid reused by a process that started after the owner: the owner is gone
    return recorded is None or process_start(pid) in (None, recorded)


def read_owner(path: Path) -> dict[str, Any] | None:
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError):  # unreadable or not ours: treat as held
        return {}


def _create(path: Path, record: dict[str, Any]) -> bool:
    """Create ``path`` holding ``record`` unless it exists; True when created."""
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(record))
    try:
        os.link(tmp, path)
        return True
    except FileExistsError:
        return False
    finally:
        tmp.unlink(missing_ok=True)


def _take_over(path: Path, stale: dict[str, Any]) -> None:
    """Move a stale lock aside; put it back if another process replaced it meanwhile."""
    aside = path.with_name(f"{path.name}.stale.{os.getpid()}")
    try:
        os.rename(path, aside)
    except FileNotFoundError:
        return  # someone else took it over first: try again
    if read_owner(aside) != stale:  # not the stale lock we saw: a live one, restore it
        with contextlib.suppress(FileExistsError):
            os.link(aside, path)
    aside.unlink(missing_ok=True)


def describe_owner(owner: dict[str, Any]) -> str:
    if not owner:
        return "an unknown owner"
    return (
        f"pid {owner.get('pid')} on {owner.get('host')} since {owner.get('since')} "
        f"({owner.get('command', '?')})"
    )


def acquire(path: str | os.PathLike, what: str) -> Path:
    """Create the lock file ``path`` for ``what`` (e.g. "simulate shard 0/2"), taking over
    a stale one; a live owner is a Fault naming it."""
    path = Path(path)
    record = owner_record()
    with faults_named(path):
        path.parent.mkdir(parents=True, exist_ok=True)
        for _ in range(5):
            if _create(path, record):
                return path
            owner = read_owner(path)
            if owner is None:
                continue  # released meanwhile
            alive = is_alive(owner) if owner else True
            if alive is False:
                _take_over(path, owner)
                continue
            where = (
                " (on another host: if that run is gone, delete the lock file)"
                if alive is None
                else ""
                if owner
                else " (unreadable: if no run is active, delete the lock file)"
            )
            raise Fault(
                f"{path}: {what} is already running on this output, held by "
                f"{describe_owner(owner)}"
                f"{where}; wait for it to finish or choose another output"
            )
    raise Fault(f"{path}: could not take the lock for {what} (it keeps changing hands)")


def release(path: Path) -> None:
    """Remove the lock file if it is still ours."""
    owner = read_owner(path)
    if owner and owner.get("pid") == os.getpid() and owner.get("host") == socket.gethostname():
        path.unlink(missing_ok=True)


@contextmanager
def run_lock(path: str | os.PathLike, what: str) -> Iterator[Path]:
    """Hold the lock file ``path`` for ``what`` while the block runs."""
    held = acquire(path, what)
    try:
        yield held
    finally:
        release(held)


@contextmanager
def exclusive(path: str | os.PathLike) -> Iterator[None]:
    """Block until this process holds an exclusive ``fcntl`` lock on ``path`` (created
    empty if absent and left in place: removing it would let two processes lock two files)."""
    path = Path(path)
    with faults_named(path):
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.lockf(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock
