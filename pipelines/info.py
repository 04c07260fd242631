"""Stage ``info``: describe a dataset directory, a simulation file, a run or a checkpoint.

Describers are registered with a predicate that recognises their kind of path; the first
that matches, in registration order, answers.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np

from fluidgan.errors import UserError
from fluidgan.io.simfile import FORMAT, open_h5, open_sim, read_meta
from fluidgan.registry import Registry


@dataclass(frozen=True)
class Describer:
    """``describe(path)`` for the paths ``matches(path)`` recognises."""

    matches: Callable[[Path], bool]
    describe: Callable[[Path], dict]


# Tried in registration order; the first that matches answers.
DESCRIBERS: Registry[Describer] = Registry("describer", ordered=True)


def describer(kind: str, matches: Callable[[Path], bool]):
    def register(fn: Callable[[Path], dict]) -> Callable[[Path], dict]:
        DESCRIBERS.register(kind)(Describer(matches, fn))
        return fn

    return register


def describe(path: str | os.PathLike) -> dict:
    """What ``path`` is and what it holds, as plain data."""
    path = Path(path)
    if not path.exists():
        raise UserError(f"{path}: no such file or directory")
    for kind in DESCRIBERS:
        entry = DESCRIBERS[kind]
        if entry.matches(path):
            return {"kind": kind, "path": str(path), **entry.describe(path)}
    raise UserError(f"{path}: not something fluidgan knows ({', '.join(DESCRIBERS)})")


def _is_sim(path: Path) -> bool:
    if not (path.is_file() and h5py.is_hdf5(path)):
        return False
    with open_h5(path) as f:  # a file locked by a writer: a one-line fault
        return f.attrs.get("format") == FORMAT


@describer("simulation", _is_sim)
def describe_sim(path: Path) -> dict:
    with open_sim(path) as f:
        meta = read_meta(f)
        time = f["time"][:]
        groups = {}
        for name in ("high", "low", "sr"):
            if name not in f:
                continue
            density = f[name]["density"]
            last = density[-1]
            groups[name] = {
                "shape": list(density.shape),
                "datasets": sorted(f[name].keys()),
                "last_frame_density": {
                    "min": float(last.min()),
                    "max": float(last.max()),
                    "mean": float(last.mean()),
                },
            }
        return {
            "dim": meta.dim,
            "factor": meta.factor,
            "dt_per_frame": meta.dt,
            "seed": meta.seed,
            "frames": len(time),
            "time": [float(time[0]), float(time[-1])],
            "scene": meta.scene.get("name"),
            "generator": meta.scene.get("generator"),
            "solver": meta.solver,
            "groups": groups,
            "size_mb": round(path.stat().st_size / 2**20, 2),
        }


@describer("dataset", lambda p: (p / "manifest.json").is_file())
def describe_dataset(path: Path) -> dict:
    manifest = json.loads((path / "manifest.json").read_text())
    sims = manifest["sims"]
    present = [s for s in sims if (path / s["file"]).exists()]
    scene = manifest["config"]["scene"]
    size = sum((path / s["file"]).stat().st_size for s in present)
    return {
        "dim": manifest["dim"],
        "factor": manifest["factor"],
        "scene": scene.get("name"),
        "res": scene.get("res"),
        "frames": scene.get("frames"),
        "sims": len(sims),
        "complete": len(present),
        "pending": [s["index"] for s in sims if s not in present][:20],
        "size_mb": round(size / 2**20, 2),
        "low_res": [int(n) // int(manifest["factor"]) for n in scene.get("res", [])],
    }


def _is_checkpoint(path: Path) -> bool:
    return path.is_file() and path.suffix == ".pt"


@describer("checkpoint", _is_checkpoint)
def describe_checkpoint(path: Path) -> dict:
    from fluidgan.train.checkpoint import has_ema, load_checkpoint  # torch only when needed

    state = load_checkpoint(path)
    networks = {
        name: sum(int(t.numel()) for t in state[name].values())
        for name in ("generator", "spatial_discriminator", "temporal_discriminator")
        if state.get(name)
    }
    config = state.get("config") or {}
    return {
        "format": f"{state['format']} v{state['format_version']}",
        "fluidgan_version": state.get("fluidgan_version"),
        "iteration": state["iteration"],
        "model": state["model"],
        "parameters": networks,
        # EMA of G's weights (what upscale uses when present): its decay and start, or no
        "ema": (
            {"decay": config.get("ema_decay"), "start": config.get("ema_start", 0)}
            if has_ema(state)
            else "no"
        ),
        "metrics": state.get("metrics", {}),
    }


def _is_run(path: Path) -> bool:
    return path.is_dir() and (path / "checkpoints").is_dir()


@describer("run", _is_run)
def describe_run(path: Path) -> dict:
    from fluidgan.train.checkpoint import list_checkpoints

    saved = list_checkpoints(path)
    info = {"checkpoints": [p.name for p in saved]}
    if saved:
        latest = describe_checkpoint(saved[-1])
        info |= {k: latest[k] for k in ("iteration", "model", "ema", "metrics")}
    return info


def format_info(info: dict, indent: int = 0) -> str:
    """A readable, indented rendering of :func:`describe`'s answer."""
    lines = []
    for key, value in info.items():
        pad = "  " * indent
        if isinstance(value, dict):
            lines.append(f"{pad}{key}:")
            lines.append(format_info(value, indent + 1))
        else:
            if isinstance(value, float | np.floating):
                value = f"{value:.6g}"
            lines.append(f"{pad}{key}: {value}")
    return "\n".join(lines)
