"""Graceful stops for long loops: Ctrl-C / SIGTERM finish the current step, then save.

Used by ``fluidgan train`` and ``fluidgan gan train``: the loop polls ``signal`` after each
iteration, writes its checkpoint and returns; a second Ctrl-C interrupts at once.
"""

from __future__ import annotations

import contextlib
import signal
from typing import Any


class StopRequest:
    """SIGINT / SIGTERM ask the loop to stop after the current iteration (and checkpoint);
    a second SIGINT interrupts at once."""

    def __init__(self):
        self.signal: int | None = None
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> StopRequest:
        with contextlib.suppress(ValueError):  # signals only in the main thread
            for sig in (signal.SIGINT, signal.SIGTERM):
                self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def _handle(self, signum, frame) -> None:
        if self.signal == signal.SIGINT and signum == signal.SIGINT:
            raise KeyboardInterrupt
        self.signal = signum

    def __exit__(self, *exc) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
