"""Errors that reach the user as one line and exit code 2 (see docs/FORMATS.md)."""

from __future__ import annotations

import sys
from collections.abc import Callable


class UserError(Exception):
    """Bad input or usage: a file, key or value at fault, named in the message."""


class Fault(Exception):
    """The machine or another process is at fault, not the input: a full disk, a read-only
    or locked file, a file that vanished. One line naming the path and what was completed,
    exit code 1."""


class Interrupted(Exception):
    """Work stopped by Ctrl-C/SIGTERM after saving what it had: one line, exit code 130."""


def exit_status(work: Callable[[], object]) -> int:
    """Run a script's ``work``: 0, or a :class:`UserError` as one line on stderr and 2."""
    try:
        work()
    except UserError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0
