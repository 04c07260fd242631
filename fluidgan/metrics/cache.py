"""The project cache directory and atomic writes into it."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import IO, Any

from fluidgan.io.atomic import atomic_path

CACHE_ENV = "FLUIDGAN_CACHE"


def cache_dir() -> Path:
    """``$FLUIDGAN_CACHE`` if set, else ``~/.cache/fluidgan`` (not created here)."""
    env = os.environ.get(CACHE_ENV)
    return Path(env).expanduser() if env else Path.home() / ".cache" / "fluidgan"


def key_digest(key: Mapping[str, Any]) -> str:
    """sha1 of the canonical JSON of ``key`` (sorted keys): names a cached file."""
    text = json.dumps(key, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha1(text.encode()).hexdigest()


def write_atomic(path: Path, write: Callable[[IO[bytes]], None]) -> Path:
    """Write via ``write(file)`` to a temporary name in the same folder, then rename.

    A reader never sees a half-written file, and two processes writing the same key
    leave one complete file.
    """
    with atomic_path(path) as tmp, tmp.open("wb") as f:
        write(f)
    return path
