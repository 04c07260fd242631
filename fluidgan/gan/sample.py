"""Drawing samples from a trained run and writing them: uint8 arrays, ``samples.npz``
(key ``images``: (N, H, W) or (N, H, W, 3) uint8; ``labels`` for class-conditional
models) and PNG grids."""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from fluidgan.errors import UserError
from fluidgan.io.atomic import atomic_path


@torch.no_grad()
def generate(
    run: Any,
    n: int,
    *,
    seed: int = 0,
    truncation: float | None = None,
    preview: bool = False,
    batch: int = 256,
) -> Tensor:
    """n images (n, C, H, W) in [-1, 1] from a run's sampling generator (its EMA copy
    when it has one), in eval mode. ``truncation``: BigGAN's truncation trick threshold.
    ``preview``: the game's grid view (cycle models show a | G_ab(a) | G_ba(G_ab(a)))."""
    limit = run.game.capacity(run.sources)
    if limit is not None and n > limit:
        raise UserError(f"this run can give {limit} samples (its domain-A images), not {n}")
    g = run.sampler
    was_training = g.training
    g.eval()
    gen = torch.Generator().manual_seed(seed)
    fn = run.game.preview if preview else run.game.sample
    try:
        parts = [
            fn(
                g,
                min(batch, n - i),
                generator=gen,
                truncation=truncation,
                sources=[{k: v[i:] for k, v in s.items()} for s in run.sources],
            )
            for i in range(0, n, batch)
        ]
    finally:
        g.train(was_training)
    return torch.cat(parts).float().cpu()


def reference_images(run: Any) -> np.ndarray:
    """The real images of the domain a run generates, (N, H, W[, 3]) uint8: the training
    set, or domain B for the two-mapping models (their samples are G_ab(a))."""
    return to_uint8(run.game.reference(run.sources).float().cpu())


def sample_labels(run: Any, n: int) -> np.ndarray | None:
    """The class of each of n samples of a class-conditional run (0, 1, ..., K-1, 0, ...)."""
    spec = run.spec
    return (
        np.arange(n) % spec.num_classes
        if spec.labelled and run.cfg.model.game in ("gan", "icgan")
        else None
    )


def to_uint8(x: Tensor) -> np.ndarray:
    """(N, C, H, W) in [-1, 1] -> (N, H, W) uint8 for one channel, (N, H, W, 3) for three."""
    a = ((x.detach().cpu().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).numpy()
    return a[:, 0] if a.shape[1] == 1 else a.transpose(0, 2, 3, 1)


def image_grid(images: np.ndarray, columns: int | None = None, pad: int = 1) -> np.ndarray:
    """Tile (N, H, W[, C]) images into one (rows·(H+pad)+pad, columns·(W+pad)+pad[, C])
    image, row by row, with ``pad`` black pixels between tiles."""
    n, h, w = images.shape[:3]
    columns = columns or math.ceil(math.sqrt(n))
    rows = math.ceil(n / columns)
    extra = images.shape[3:]
    tiles = np.zeros((rows * columns, h + pad, w + pad, *extra), dtype=images.dtype)
    tiles[:n, pad:, pad:] = images
    grid = tiles.reshape(rows, columns, h + pad, w + pad, *extra).swapaxes(1, 2)
    grid = grid.reshape(rows * (h + pad), columns * (w + pad), *extra)
    return np.pad(grid, [(0, pad), (0, pad)] + [(0, 0)] * len(extra))


def save_grid(images: np.ndarray, path: str | os.PathLike, columns: int | None = None) -> Path:
    """A PNG grid of uint8 images (8-bit grey or RGB, no alpha), written atomically."""
    from PIL import Image

    grid = image_grid(images, columns)
    with atomic_path(path) as tmp:
        Image.fromarray(np.ascontiguousarray(grid, dtype=np.uint8)).save(tmp, optimize=True)
    return Path(path)


def write_samples(
    images: np.ndarray, out: str | os.PathLike, labels: np.ndarray | None = None
) -> Path:
    """``out``/samples.npz (or ``out`` itself when it ends in .npz) plus a PNG grid of the
    first 64 next to it; returns the .npz path."""
    out = Path(out)
    path = out if out.suffix == ".npz" else out / "samples.npz"
    arrays = {"images": images} if labels is None else {"images": images, "labels": labels}
    with atomic_path(path) as tmp:
        np.savez_compressed(tmp, **arrays)
    save_grid(images[:64], path.with_suffix(".png"))
    return path
