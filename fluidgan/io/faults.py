"""Faults of the machine, not of the input, as one line a user can act on.

A full disk (``ENOSPC``, ``EDQUOT``), a read-only file system (``EROFS``), a permission
denied (``EACCES``, ``EPERM``) and an HDF5 file locked by another process arrive as
``OSError`` -- h5py's too, with the errno set and the HDF5 text in the message, except
where h5py raises ``RuntimeError`` (a failed flush), whose HDF5 text still holds
``errno = N``. Stages wrap
their writes in :func:`faults_named`, which turns such an error into a :class:`FileFault`
naming the path, what was completed and what to do; any other ``OSError`` passes through.
"""

from __future__ import annotations

import errno
import os
import re
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from fluidgan.errors import Fault

LOCKED = "locked by another process — is a simulate/train still running?"
NO_LOCKING = "this file system does not support HDF5 file locking"
RESUME = "rerun the same command to resume"
# (errnos, reason, what to do; {resume}: how the stage resumes)
KINDS = (
    ({errno.ENOSPC}, "disk full", "free space and {resume}"),
    ({errno.EDQUOT}, "disk quota exceeded", "free space and {resume}"),
    ({errno.EROFS}, "read-only file system", "choose a writable location"),
    ({errno.EACCES, errno.EPERM}, "permission denied", "check its permissions"),
)
_HDF5_ERRNO = re.compile(r"errno = (\d+)")


class FileFault(Fault):
    """A fault at ``path``; ``completed`` says what was done before it and ``hint`` what
    to do (``{resume}`` in it: how the stage resumes, which stages fill in)."""

    def __init__(
        self,
        path: str | os.PathLike,
        reason: str,
        hint: str = "",
        completed: str = "",
        resume: str = RESUME,
    ):
        self.path, self.reason, self.hint = str(path), reason, hint
        self.completed, self.resume = completed, resume
        super().__init__(str(self))

    def __reduce__(self):  # rebuilt from its fields when raised in a worker process
        return (type(self), (self.path, self.reason, self.hint, self.completed, self.resume))

    def __str__(self) -> str:
        hint = self.hint.format(resume=self.resume)
        head = f"{self.path}: {self.reason}" if self.path else self.reason
        parts = (head, self.completed, hint)
        return "; ".join(p for p in parts if p)


def is_locked(e: Exception) -> bool:
    """HDF5 could not lock the file because another process holds it open (for writing,
    or we want to write and it reads)."""
    return "unable to lock file" in str(e) and os_errno(e) in (errno.EAGAIN, errno.EACCES)


def locking_unsupported(e: Exception) -> bool:
    """HDF5 could not lock the file because the file system cannot (some network ones)."""
    return "unable to lock file" in str(e) and not is_locked(e)


def os_errno(e: Exception) -> int | None:
    if isinstance(e, OSError) and e.errno is not None:
        return e.errno
    found = _HDF5_ERRNO.search(str(e))  # h5py leaves errno unset in some paths
    return int(found.group(1)) if found else None


def classify(e: Exception) -> tuple[str, str] | None:
    """``(reason, hint)`` when ``e`` (an OSError, or h5py's RuntimeError from HDF5) is a
    fault of the machine, else None."""
    if not isinstance(e, (OSError, RuntimeError)):
        return None
    if is_locked(e):
        return LOCKED, ""
    if locking_unsupported(e):
        return NO_LOCKING, "set HDF5_USE_FILE_LOCKING=FALSE if only one process uses it"
    code = os_errno(e)
    for codes, reason, hint in KINDS:
        if code in codes:
            return reason, hint
    return None


def as_fault(
    e: Exception, path: str | os.PathLike | None = None, completed: str = ""
) -> FileFault | None:
    """``e`` as a FileFault naming ``path`` (default: the error's file, if it names one),
    or None."""
    kind = classify(e)
    if kind is None:
        return None
    where = path if path is not None else (getattr(e, "filename", None) or "")
    return FileFault(where, *kind, completed)


@contextmanager
def faults_named(
    path: str | os.PathLike,
    completed: Callable[[], str] | None = None,
    resume: str | None = None,
) -> Iterator[None]:
    """Turn a fault of the machine in the block into a FileFault naming ``path``, what was
    done (``completed()`` at the moment it happens) and how to resume (default: rerun the
    same command); a FileFault from a nested block keeps its (more precise) path and gets
    the completion and resume note if it has none."""
    try:
        yield
    except FileFault as e:
        if not e.completed and completed is not None:
            e.completed = completed()
            if resume is not None:
                e.resume = resume
            e.args = (str(e),)
        raise
    except (OSError, RuntimeError) as e:
        fault = as_fault(e, path, completed() if completed is not None else "")
        if fault is None:
            raise
        if resume is not None:
            fault.resume = resume
            fault.args = (str(fault),)
        raise fault from None


@contextmanager
def stage_faults(
    out: str | os.PathLike,
    inputs: Callable[[], list[Path]],
    completed: Callable[[], str],
    resume: str,
    save_now: Callable[[], Path | None],
) -> Iterator[None]:
    """Faults of a long run writing into ``out`` (a training run): a full disk or a
    read-only folder names the file and ``completed()``; an input file that vanished
    (any error while one of ``inputs()`` is missing) first saves what the run has
    (``save_now()``), then stops with a fault naming the file."""
    try:
        with faults_named(out, completed, resume):
            yield
    except Fault:
        raise
    except Exception:
        missing = [p for p in inputs() if not Path(p).exists()]
        if not missing:
            raise
        saved = save_now()
        more = f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""
        raise Fault(
            f"{missing[0]}{more}: input file vanished during the run; {completed()}"
            + (f", saved {saved}" if saved else "")
            + f"; restore the file and {resume}"
        ) from None


# --- free space ---------------------------------------------------------------------------


def free_bytes(path: str | os.PathLike) -> int:
    """Free bytes (for this user) on the file system that holds ``path`` or would hold it."""
    path = Path(path).absolute()
    while not path.exists() and path != path.parent:
        path = path.parent
    return shutil.disk_usage(path).free


def human(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if abs(n) < 1000 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    raise AssertionError


def check_free_space(
    path: str | os.PathLike, needed: float, what: str, completed: str = ""
) -> None:
    """Refuse early, before writing ``what`` (about ``needed`` bytes) at ``path``, when
    the file system has less free space than that."""
    free = free_bytes(path)
    if free < needed:
        raise FileFault(
            path,
            f"not enough free space for {what}: about {human(needed)} needed, {human(free)} free",
            "free space or choose another location, then rerun the same command",
            completed,
        )
