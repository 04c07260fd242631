"""The dataset directory: ``config.toml``, ``manifest.json`` and one ``sim_NNNNN.h5`` per
simulation (docs/FORMATS.md), written by ``fluidgan simulate`` and ``fluidgan import``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from fluidgan import __version__
from fluidgan.io.atomic import write_text

MANIFEST = "manifest.json"
CONFIG = "config.toml"
MANIFEST_LOCK = ".manifest.lock"


def sim_name(index: int) -> str:
    return f"sim_{index:05d}.h5"


def sim_seed(seed: int, index: int) -> int:
    """The seed of simulation ``index``: independent streams from one dataset seed."""
    return int(np.random.SeedSequence([seed, index]).generate_state(1)[0])


def sim_status(out: Path, index: int) -> str:
    """``complete`` once ``sim_NNNNN.h5`` exists under its final name, else ``pending``."""
    return "complete" if (out / sim_name(index)).exists() else "pending"


def write_manifest(
    out: Path, dim: int, factor: int, sims: list[dict[str, Any]], config: dict[str, Any]
) -> dict[str, Any]:
    """Write ``manifest.json`` (atomically) for ``sims``, entries with a ``status``."""
    manifest = {
        "format": "fluidgan.dataset",
        "format_version": 1,
        "fluidgan_version": __version__,
        "dim": dim,
        "factor": factor,
        "complete": sum(s["status"] == "complete" for s in sims),
        "sims": sims,
        "config": config,
    }
    write_text(out / MANIFEST, json.dumps(manifest, indent=1))
    return manifest
