"""Previews a person can look at: PNG strips and GIF animations of density.

2D frames are shown as they are; a 3D volume as its middle z slice and its density
projection along z (the view ParaView users expect from a smoke plume). Rows are groups
(low | high | sr), columns are frames; y points up.
"""

from __future__ import annotations

import os
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from matplotlib import animation

from fluidgan.io.simfile import open_sim


def views(density: np.ndarray) -> dict[str, np.ndarray]:
    """Named 2D images of one frame: itself (2D) or mid slice and projection (3D)."""
    if density.ndim == 2:
        return {"": density}
    return {"mid z": density[density.shape[0] // 2], "projection": density.mean(axis=0)}


def frame_indices(frames: int, count: int) -> list[int]:
    return sorted({round(float(i)) for i in np.linspace(0, frames - 1, min(count, frames))})


def preview_png(
    rows: dict[str, np.ndarray], times: np.ndarray, path: str | os.PathLike, count: int = 4
) -> Path:
    """A grid: one row per (group, view), ``count`` frames as columns, one colour bar."""
    path = Path(path)
    frames = frame_indices(len(times), count)
    panels = [
        (f"{group} {name}".strip(), [views(seq[t])[name] for t in frames])
        for group, seq in rows.items()
        for name in views(seq[0])
    ]
    vmax = max(float(np.percentile(img, 99.5)) for _, imgs in panels for img in imgs) or 1.0
    fig, axes = plt.subplots(
        len(panels),
        len(frames),
        figsize=(2.4 * len(frames) + 0.8, 2.4 * len(panels)),
        squeeze=False,
        constrained_layout=True,
    )
    for r, (label, images) in enumerate(panels):
        for c, img in enumerate(images):
            ax = axes[r, c]
            im = ax.imshow(img, origin="lower", cmap="magma", vmin=0.0, vmax=vmax)
            ax.set_xticks([])
            ax.set_yticks([])
            if r == 0:
                ax.set_title(f"t = {times[frames[c]]:g}", fontsize=9)
            if c == 0:
                ax.set_ylabel(label, fontsize=9)
    fig.colorbar(im, ax=axes, shrink=0.8, label="density")
    _save(fig, path)
    return path


def preview_gif(
    rows: dict[str, np.ndarray], path: str | os.PathLike, fps: int = 12, max_frames: int = 60
) -> Path:
    """An animation of the first view of every group side by side."""
    path = Path(path)
    seqs = {g: s for g, s in rows.items()}
    frames = frame_indices(len(next(iter(seqs.values()))), max_frames)
    first = {g: [next(iter(views(s[t]).values())) for t in frames] for g, s in seqs.items()}
    vmax = max(float(np.percentile(np.stack(v), 99.5)) for v in first.values()) or 1.0
    fig, axes = plt.subplots(1, len(first), figsize=(3 * len(first), 3.2), squeeze=False)
    images = []
    for ax, (group, imgs) in zip(axes[0], first.items()):
        images.append(ax.imshow(imgs[0], origin="lower", cmap="magma", vmin=0, vmax=vmax))
        ax.set_title(group)
        ax.axis("off")

    def update(k):
        for im, imgs in zip(images, first.values()):
            im.set_data(imgs[k])
        return images

    anim = animation.FuncAnimation(fig, update, frames=len(frames), blit=True)
    tmp = path.with_name(path.stem + ".tmp" + path.suffix)
    anim.save(tmp, writer=animation.PillowWriter(fps=fps))
    plt.close(fig)
    os.replace(tmp, path)
    return path


def _save(fig, path: Path) -> None:
    tmp = path.with_name(path.stem + ".tmp" + path.suffix)
    fig.savefig(tmp, dpi=100)
    plt.close(fig)
    os.replace(tmp, path)


def preview_sim(
    sim: str | os.PathLike, stem: str | os.PathLike, groups: tuple[str, ...] = ("low", "high")
) -> list[Path]:
    """``<stem>.png`` (a few frames) and ``<stem>.gif`` of one simulation file."""
    stem = Path(stem)
    with open_sim(sim) as f:
        present = [g for g in groups if g in f]
        rows = {g: f[g]["density"][:] for g in present}
        times = f["time"][:]
    return [
        preview_png(rows, times, stem.with_suffix(".png")),
        preview_gif(rows, stem.with_suffix(".gif")),
    ]
