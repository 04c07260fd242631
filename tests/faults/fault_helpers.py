"""Helpers of the fault tests: tiny inputs, a CLI runner, tmpfs mounts, injected errors."""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from cli_checks import cli, one_line_error  # noqa: F401 (re-exported)

from fluidgan.io.simfile import SimMeta, SimWriter
from fluidgan.models.tempogan import Generator, init_weights
from fluidgan.train.checkpoint import save_checkpoint

ROOT = Path(__file__).resolve().parents[2]
SMALL = [[8, 16], [16, 16], [8, 4], [2, 1]]
TINY_TRAIN = {
    "iterations": 6,
    "batch_size": 6,
    "seed": 3,
    "checkpoint_every": 2,
    "keep_checkpoints": 0,
    "preview_every": 0,
    "preview_samples": 2,
    "validation_samples": 2,
    "tensorboard": False,
    "deterministic": True,
    "data": {"tile": 8, "channels": "rho+v+w", "workers": 0, "val_fraction": 0.0},
    "model": {
        "generator_widths": [[4, 8], [8, 8], [4, 4], [2, 1]],
        "discriminator_widths": [4, 8, 8, 8],
    },
}




def disk_full(exc_cls=OSError) -> OSError:
    return exc_cls(errno.ENOSPC, os.strerror(errno.ENOSPC))


# --- inputs -------------------------------------------------------------------------------


def blobs(shape: tuple[int, ...], t: float, seed: int) -> np.ndarray:
    """Smooth density in [0, 1]: Gaussian blobs drifting with time."""
    rng = np.random.default_rng(seed)
    axes = np.meshgrid(*[(np.arange(n) + 0.5) / n for n in shape], indexing="ij")
    out = np.zeros(shape)
    for _ in range(3):
        centre, drift = rng.uniform(0.3, 0.7, len(shape)), rng.uniform(-0.03, 0.03, len(shape))
        r2 = sum((a - c - v * t) ** 2 for a, c, v in zip(axes, centre, drift, strict=True))
        out += np.exp(-r2 / (2 * 0.12**2))
    return (out / out.max()).astype(np.float32)


def write_sim(path: Path, frames: int, low: int = 8, factor: int = 4, seed: int = 0) -> Path:
    """A 2D simulation file with smooth, time-varying fields (low^2 low-res cells)."""
    low_shape, high_shape = (low, low), (low * factor, low * factor)
    meta = SimMeta(dim=2, factor=factor, dt=1.0, seed=seed)
    with SimWriter(path, meta, frames, high_shape, low_shape) as w:
        for t in range(frames):
            high = blobs(high_shape, t, seed)
            low_d = high.reshape(low, factor, low, factor).mean(axis=(1, 3))
            yy, xx = np.meshgrid(np.linspace(-1, 1, low), np.linspace(-1, 1, low), indexing="ij")
            low_v = np.stack([-yy, xx], -1).astype(np.float32) * (1 + 0.1 * t)
            high_v = np.repeat(np.repeat(low_v, factor, 0), factor, 1) * factor
            w.write_frame(
                float(t),
                **{
                    "high/density": high,
                    "high/velocity": high_v,
                    "low/density": low_d,
                    "low/velocity": low_v,
                },
            )
    return path


def make_dataset(root: Path, sims: int = 2, frames: int = 5) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    entries = []
    for k in range(sims):
        write_sim(root / f"sim_{k:05d}.h5", frames, low=16, seed=100 + k)
        entries.append({"file": f"sim_{k:05d}.h5", "status": "complete"})
    (root / "manifest.json").write_text(json.dumps({"sims": entries}))
    return root


def make_checkpoint(path: Path) -> Path:
    """A 2D rho+v checkpoint as training writes it, random weights lifted above the final
    ReLU so the output is not all zeros."""
    torch.manual_seed(0)
    g = init_weights(Generator(2, 3, 4, widths=SMALL, kernel=3))
    g.blocks[-1].shortcut.conv.bias.data.fill_(0.5)
    info = {
        "dim": 2,
        "factor": 4,
        "in_channels": 3,
        "channels": "rho+v",
        "tile": 8,
        "generator_widths": SMALL,
        "kernel": 3,
        "batch_norm": True,
    }
    return save_checkpoint({"model": info, "generator": g.state_dict(), "iteration": 1}, path)


# --- a real small file system -----------------------------------------------------------


def mount_tmpfs(path: Path, size: str, *options: str) -> None:
    """Mount a tmpfs of ``size`` at ``path``; skip the test where that is not permitted."""
    path.mkdir(parents=True, exist_ok=True)
    opts = ",".join([f"size={size}", *options])
    result = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", opts, "tmpfs", str(path)], capture_output=True, text=True
    )
    if result.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({result.stderr.strip() or 'not permitted'})")


def remount(path: Path, *options: str) -> None:
    subprocess.run(["mount", "-o", ",".join(["remount", *options]), str(path)], check=True)


def unmount(path: Path) -> None:
    subprocess.run(["umount", "-l", str(path)], capture_output=True)


def run_fluidgan(*args, env: dict | None = None, **kwargs) -> subprocess.CompletedProcess:
    """``fluidgan ARGS`` in a fresh interpreter (what a user's shell runs)."""
    return subprocess.run(
        [sys.executable, "-m", "fluidgan", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "OMP_NUM_THREADS": "1", **(env or {})},
        **kwargs,
    )
