"""Tiny synthetic datasets and configs for the training tests."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from fluidgan.io.simfile import SimMeta, SimWriter


def blobs(shape: tuple[int, ...], t: float, rng_seed: int) -> np.ndarray:
    """Smooth density in [0, 1]: a few Gaussian blobs drifting with time, (*shape)."""
    rng = np.random.default_rng(rng_seed)
    axes = np.meshgrid(*[(np.arange(n) + 0.5) / n for n in shape], indexing="ij")
    out = np.zeros(shape)
    for _ in range(4):
        centre = rng.uniform(0.25, 0.75, len(shape))
        drift = rng.uniform(-0.02, 0.02, len(shape))
        width = rng.uniform(0.08, 0.2)
        r2 = sum((a - c - v * t) ** 2 for a, c, v in zip(axes, centre, drift, strict=True))
        out += np.exp(-r2 / (2 * width**2))
    return (out / out.max()).astype(np.float32)


def swirl(shape: tuple[int, ...], scale: float) -> np.ndarray:
    """A smooth rotating velocity (*shape, d), components (x, y[, z])."""
    axes = np.meshgrid(*[(np.arange(n) + 0.5) / n - 0.5 for n in shape], indexing="ij")
    y, x = axes[-2], axes[-1]
    comps = [-y * scale, x * scale] + ([np.zeros_like(x)] if len(shape) == 3 else [])
    return np.stack(comps, axis=-1).astype(np.float32)


def block_mean(a: np.ndarray, f: int) -> np.ndarray:
    """Average over f^d blocks of the leading d axes."""
    d = a.ndim if a.shape[-1] > 3 else a.ndim - 1
    shape = []
    for n in a.shape[:d]:
        shape += [n // f, f]
    out = a.reshape(*shape, *a.shape[d:])
    return out.mean(axis=tuple(range(1, 2 * d, 2)))


def make_dataset(
    root: Path, dim: int = 2, sims: int = 2, frames: int = 6, low: int = 16, factor: int = 4
) -> Path:
    """``sims`` simulation files of ``frames`` frames, low res low^d, and a manifest."""
    root.mkdir(parents=True, exist_ok=True)
    low_shape, high_shape = (low,) * dim, (low * factor,) * dim
    entries = []
    for k in range(sims):
        path = root / f"sim_{k:05d}.h5"
        meta = SimMeta(dim=dim, factor=factor, dt=1.0, seed=k)
        with SimWriter(path, meta, frames, high_shape, low_shape) as w:
            for t in range(frames):
                hd = blobs(high_shape, t, seed := 100 + k)
                hv = swirl(high_shape, 2.0 * factor)
                ld = block_mean(hd, factor) if dim == 2 else blobs(low_shape, t, seed)
                lv = swirl(low_shape, 2.0)
                w.write_frame(
                    float(t),
                    **{
                        "high/density": hd,
                        "high/velocity": hv,
                        "low/density": ld,
                        "low/velocity": lv,
                    },
                )
        entries.append({"file": path.name, "status": "complete"})
    (root / "manifest.json").write_text(json.dumps({"sims": entries}))
    return root


TINY = {
    "iterations": 4,
    "batch_size": 6,
    "seed": 3,
    "checkpoint_every": 2,
    "keep_checkpoints": 2,
    "preview_every": 2,
    "preview_samples": 2,
    "validation_samples": 4,
    "tensorboard": False,
    "deterministic": True,
    "amp": "off",  # float32: the value checks compare with float32 references
    "data": {"tile": 8, "channels": "rho+v+w", "workers": 0, "val_fraction": 0.5},
    "model": {
        "generator_widths": [[4, 8], [8, 8], [4, 4], [2, 1]],
        "discriminator_widths": [4, 8, 8, 8],
    },
}


@pytest.fixture(autouse=True)
def _one_thread_each(one_thread):
    """Every test here runs on one torch thread (``one_thread``, tests/conftest.py)."""


@pytest.fixture(scope="session")
def dataset2d(tmp_path_factory) -> Path:
    return make_dataset(tmp_path_factory.mktemp("data2d"))


@pytest.fixture(scope="session")
def tiny_run2d(dataset2d, tmp_path_factory) -> Path:
    """A tiny tempoGAN run (G, D_s and D_t) trained once on ``dataset2d``; read it only."""
    import copy

    from pipelines.train import train

    run = tmp_path_factory.mktemp("tiny_run2d") / "run"
    train(copy.deepcopy(TINY), dataset2d, run, device="cpu")
    return run


@pytest.fixture
def tiny_config() -> dict:
    import copy

    return copy.deepcopy(TINY)
