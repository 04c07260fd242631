"""Validation previews and training curves: PNG images drawn with matplotlib's Agg backend.

A preview has one row per sample: low-res density | generated | ground truth; below them,
when a triplet is given, the aligned frames (t-1, t, t+1) that D_t sees, real and
generated. 3D fields show their middle z slice. The curves plot the logged metrics.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from fluidgan.io.atomic import atomic_path
from fluidgan.registry import Registry


def middle_slice(field: torch.Tensor | np.ndarray) -> np.ndarray:
    """A 2D image (Y, X) of a density (*spatial); the middle z slice in 3D."""
    a = field.detach().float().cpu().numpy() if isinstance(field, torch.Tensor) else field
    while a.ndim > 2:
        a = a[a.shape[0] // 2]
    return a


def save_preview(
    path: str | os.PathLike,
    low: torch.Tensor,
    generated: torch.Tensor,
    target: torch.Tensor,
    triplet_real: torch.Tensor | None = None,
    triplet_fake: torch.Tensor | None = None,
    title: str = "",
) -> Path:
    """Write the preview PNG.

    low (N, *s), generated and target (N, *S): densities; triplet_real / triplet_fake
    (3, *S): the aligned frames of one triplet. Every panel shares the range [0, max of
    the ground truth] so that brightness is comparable.
    """
    rows: list[tuple[list[np.ndarray], list[str]]] = [
        (
            [middle_slice(l), middle_slice(g), middle_slice(t)],
            ["low-res", "generated", "ground truth"],
        )
        for l, g, t in zip(low, generated, target, strict=True)
    ]
    if triplet_real is not None and triplet_fake is not None:
        for name, frames in (("real", triplet_real), ("generated", triplet_fake)):
            rows.append(
                (
                    [middle_slice(f) for f in frames],
                    [f"D_t {name} t-1", f"D_t {name} t", f"D_t {name} t+1"],
                )
            )
    vmax = max(float(middle_slice(t).max()) for t in target) or 1.0
    fig = Figure(figsize=(3 * 3, 3 * len(rows)), dpi=100)
    FigureCanvasAgg(fig)
    for r, (images, labels) in enumerate(rows):
        for c, (image, label) in enumerate(zip(images, labels, strict=True)):
            ax = fig.add_subplot(len(rows), 3, 3 * r + c + 1)
            ax.imshow(
                image, origin="lower", cmap="gray", vmin=0.0, vmax=vmax, interpolation="nearest"
            )
            ax.set_title(label, fontsize=9)
            ax.set_axis_off()
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return _save(fig, path)


def _save(fig: Figure, path: str | os.PathLike) -> Path:
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png")
    return Path(path)


#: The panels of the curves, left to right: title -> the logged metrics it shows.
CURVES: Registry[tuple[str, ...]] = Registry("curve panel", ordered=True)
CURVES.register("discriminators")(("d_s/loss", "d_t/loss"))
CURVES.register("generator (adversarial)")(("g/adv_s", "g/adv_t", "g/l2_t"))
CURVES.register("feature term (λ_f < 0)")(("g/feature",))
CURVES.register("L1 (train, validation, interpolation baseline)")(
    ("g/l1", "val/l1", "val/l1_interp")
)

#: The abscissae the curves can be drawn against (a logged key) -> its axis label.
AXES: Registry[str] = Registry("curve abscissa", ordered=True)
AXES.register("iteration")("iteration")
AXES.register("time")("wall time (s)")


def save_curves(
    rows: list[dict], path: str | os.PathLike, smooth: int = 25, x: tuple[str, ...] = ("iteration",)
) -> Path:
    """The logged metrics, one panel per group of :data:`CURVES` and one row of panels per
    abscissa in ``x`` (keys of :data:`AXES`: the iteration, the training wall time);
    per-iteration values are shown faintly, their running mean over ``smooth`` bold."""
    labels = [AXES[axis] for axis in x]  # an unknown abscissa: a UserError, before drawing
    fig = Figure(figsize=(4.2 * len(CURVES), 3.4 * len(x)), dpi=100)
    FigureCanvasAgg(fig)
    for row, (axis, label) in enumerate(zip(x, labels, strict=True)):
        for i, (title, keys) in enumerate(CURVES.items()):
            ax = fig.add_subplot(len(x), len(CURVES), row * len(CURVES) + i + 1)
            for key in keys:
                _plot_metric(ax, rows, axis, key, smooth)
            ax.set_title(title, fontsize=9)
            ax.set_xlabel(label)
            if ax.get_legend_handles_labels()[0]:  # a group may have nothing logged yet
                ax.legend(fontsize=7)
            ax.grid(alpha=0.3)
    fig.tight_layout()
    return _save(fig, path)


def _plot_metric(ax, rows: list[dict], axis: str, key: str, smooth: int) -> None:
    points = [
        (r[axis], r[key])
        for r in rows
        if isinstance(r.get(key), (int, float)) and isinstance(r.get(axis), (int, float))
    ]
    if not points:
        return
    x, y = np.array(points, dtype=np.float64).T
    sparse = len(x) < 2 * smooth or key.startswith("val/")
    line = ax.plot(
        x,
        y,
        lw=1.5 if sparse else 0.5,
        alpha=1.0 if sparse else 0.3,
        marker="o" if key.startswith("val/") else None,
        ms=3,
        label=key,
    )
    if not sparse:
        kernel = np.ones(smooth) / smooth
        ax.plot(
            x[smooth - 1 :], np.convolve(y, kernel, mode="valid"), lw=1.5, color=line[0].get_color()
        )
