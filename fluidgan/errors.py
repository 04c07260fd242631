"""Errors that reach the user as one line and exit code 2 (see CONTRACTS.md)."""

from __future__ import annotations


class UserError(Exception):
    """Bad input or usage: a file, key or value at fault, named in the message."""


class Interrupted(Exception):
    """Work stopped by Ctrl-C/SIGTERM after saving what it had: one line, exit code 130."""
