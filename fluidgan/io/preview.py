"""Previews a person can look at: PNG grids, GIF and MP4 animations of simulation fields.

Columns are shown side by side -- low | SR | high for a simulation file, or low | baselines
| model | high in an evaluation report -- each drawn on the same physical box (the grid
spans [0, 1] along its longest axis, as in the VTK export), so a low-res column looks as
large as the high-res one and its cells are visibly coarser. y points up.

A 2D frame is shown as it is. A 3D volume is shown as three views: its middle z slice
(the x-y plane), its middle x slice (the z-y plane, z to the right) and its mean along z
(for density, the projection a camera looking along z sees). One colour scale per view,
shared by all columns and frames, with a colour bar, so columns compare at a glance.

Fields (:data:`FIELDS`): ``density``; ``velocity`` as its magnitude in high-res cells per
frame (a low-res velocity is multiplied by the factor); ``vorticity`` ∇×v in 1/frame
(ω_z, signed, in 2D; |ω| in 3D) -- resolution independent, since v and the derivative are
in cells of the same grid.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from matplotlib import animation

from fluidgan.errors import UserError
from fluidgan.io.atomic import atomic_path
from fluidgan.io.simfile import open_sim
from fluidgan.registry import Registry

GROUP_ORDER = ("low", "sr", "high")  # left to right: input, upscaled, ground truth
GROUP_LABELS = {"low": "low", "sr": "SR", "high": "high"}
PANEL_INCHES = 2.6
COLOUR_PERCENTILE = 99.5  # a few hot cells should not wash out the rest
SIGNED_ENERGY = 0.1  # a field is drawn signed when its negative part has this much energy


# --------------------------------------------------------------------------- fields


@dataclass(frozen=True)
class FieldStyle:
    """How one field is computed from a group's dataset and drawn.

    ``compute(frame, scale)``: ``frame`` is one frame of the ``source`` dataset ((*S) or
    (*S, d)); ``scale`` is high-res cells per cell of that grid (the factor for ``low``,
    1 otherwise). Returns (*S). Signed results are drawn with ``signed_cmap`` around 0.
    """

    name: str
    source: str
    label: str
    cmap: str
    signed_cmap: str
    compute: Callable[[np.ndarray, float], np.ndarray]


FIELDS: Registry[FieldStyle] = Registry("field", ordered=True)


def register_field(style: FieldStyle) -> FieldStyle:
    return FIELDS.register(style.name)(style)


def get_field(name: str) -> FieldStyle:
    if name not in FIELDS:
        raise UserError(f"--field {name!r}: valid fields are {', '.join(FIELDS)}")
    return FIELDS.get(name)


def curl(velocity: np.ndarray) -> np.ndarray:
    """∇×v of a cell-centred (*S, d) velocity by central differences (one-sided at borders).

    Components are (x, y[, z]) and x is the last array axis. 2D: the scalar
    ω_z = ∂v_y/∂x − ∂v_x/∂y, shape (*S); 3D: (ω_x, ω_y, ω_z), shape (*S, 3).
    Units: velocity units per cell.
    """
    dim = velocity.shape[-1]

    def d(component: int, along: int) -> np.ndarray:  # ∂v_component / ∂x_along
        return np.gradient(velocity[..., component], axis=dim - 1 - along)

    if dim == 2:
        return d(1, 0) - d(0, 1)
    return np.stack([d(2, 1) - d(1, 2), d(0, 2) - d(2, 0), d(1, 0) - d(0, 1)], axis=-1)


def _vorticity(velocity: np.ndarray, scale: float) -> np.ndarray:
    w = curl(velocity.astype(np.float32))
    return w if w.ndim == velocity.ndim - 1 else np.linalg.norm(w, axis=-1)


register_field(FieldStyle("density", "density", "density", "magma", "RdBu_r", lambda d, s: d))
register_field(
    FieldStyle(
        "velocity",
        "velocity",
        "|velocity| (high-res cells / frame)",
        "viridis",
        "RdBu_r",
        lambda v, s: np.linalg.norm(v, axis=-1) * np.float32(s),
    )
)
register_field(
    FieldStyle("vorticity", "velocity", "vorticity (1 / frame)", "viridis", "RdBu_r", _vorticity)
)


# --------------------------------------------------------------------------- views


def views(volume: np.ndarray) -> dict[str, np.ndarray]:
    """Named 2D images (rows = y) of one frame: itself (2D) or three views (3D)."""
    if volume.ndim == 2:
        return {"": volume}
    z, _, x = volume.shape
    return {
        "mid z": volume[z // 2],
        "mid x (z →)": volume[:, :, x // 2].T,
        "mean along z": volume.mean(axis=0),
    }


@dataclass(frozen=True)
class Column:
    """One column of a preview: ``views`` name -> (T, h, w) images of the shown frames.

    ``cells``: cells along the longest axis of the source grid; an image of shape (h, w)
    is drawn on [0, w/cells] x [0, h/cells].
    """

    label: str
    views: dict[str, np.ndarray]
    cells: int

    def extent(self, view: str) -> tuple[float, float, float, float]:
        h, w = self.views[view].shape[1:]
        return (0.0, w / self.cells, 0.0, h / self.cells)


def column(label: str, frames: Iterable[np.ndarray]) -> Column:
    """A column from field frames (*S), one view set per frame (memory: the views only)."""
    per_frame, cells = [], 0
    for frame in frames:
        per_frame.append(views(np.asarray(frame, dtype=np.float32)))
        cells = max(frame.shape)
    if not per_frame:
        raise ValueError(f"column {label!r}: no frames")
    names = list(per_frame[0])
    return Column(label, {n: np.stack([v[n] for v in per_frame]) for n in names}, cells)


def colour_limits(images: Sequence[np.ndarray]) -> tuple[float, float, bool]:
    """(vmin, vmax, signed): [0, p99.5] or, for a signed field, ±p99.5 of |x|.

    Signed: the negative values hold at least ``SIGNED_ENERGY`` of the positive ones'
    energy (Σx²), as in a detail band or a vorticity; the small undershoot of a cubic
    interpolation of a density (≪ 1 %) is not, and is drawn as 0."""
    values = np.concatenate([np.asarray(img, dtype=np.float64).ravel() for img in images])
    negative = float(np.square(values[values < 0]).sum())
    signed = negative > SIGNED_ENERGY * float(np.square(values[values > 0]).sum())
    values = np.abs(values)
    top = float(np.percentile(values, COLOUR_PERCENTILE)) or float(values.max()) or 1.0
    return (-top if signed else 0.0), top, signed


def frame_indices(selected: Sequence[int], count: int) -> list[int]:
    """Up to ``count`` evenly spread entries of ``selected`` (first and last included)."""
    picks = np.linspace(0, len(selected) - 1, min(count, len(selected)))
    return [selected[i] for i in sorted({round(float(p)) for p in picks})]


# --------------------------------------------------------------------------- figures


def _check_columns(columns: Sequence[Column]) -> list[str]:
    if not columns:
        raise ValueError("no columns to preview")
    names = list(columns[0].views)
    for c in columns:
        if list(c.views) != names:
            raise ValueError(f"column {c.label!r} has views {list(c.views)}, expected {names}")
    return names


def _show(ax, col, name: str, frame: int, limits: tuple[float, float, bool], style):
    """Draw one view of one column at ``frame`` with shared colour limits."""
    vmin, vmax, signed = limits
    im = ax.imshow(
        col.views[name][frame],
        origin="lower",
        extent=col.extent(name),
        cmap=style.signed_cmap if signed else style.cmap,
        vmin=vmin,
        vmax=vmax,
        interpolation="nearest",
    )
    _style_axis(ax)
    return im


def _style_axis(ax) -> None:
    ax.set_xticks([])
    ax.set_yticks([])


def preview_png(
    columns: Sequence[Column],
    times: Sequence[float],
    path: str | os.PathLike,
    style: FieldStyle | None = None,
) -> Path:
    """A grid: columns side by side, one row per (frame, view), a colour bar per row.

    Every column holds the same ``len(times)`` frames.
    """
    style = style or FIELDS.get("density")
    names = _check_columns(columns)
    limits = {n: colour_limits([c.views[n] for c in columns]) for n in names}
    rows = [(t, n) for t in range(len(times)) for n in names]
    fig, axes = plt.subplots(
        len(rows),
        len(columns),
        figsize=(PANEL_INCHES * len(columns) + 1.2, PANEL_INCHES * len(rows)),
        squeeze=False,
        constrained_layout=True,
    )
    for r, (t, name) in enumerate(rows):
        for c, col in enumerate(columns):
            ax = axes[r, c]
            im = _show(ax, col, name, t, limits[name], style)
            if r == 0:
                ax.set_title(col.label, fontsize=10)
            if c == 0:
                ax.set_ylabel(f"t = {times[t]:g}  {name}".strip(), fontsize=9)
        fig.colorbar(im, ax=axes[r, :], shrink=0.9, label=style.label)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=100)
    plt.close(fig)
    return Path(path)


def _pillow_writer(fps: int) -> animation.AbstractMovieWriter:
    return animation.PillowWriter(fps=fps)


def _ffmpeg_writer(fps: int) -> animation.AbstractMovieWriter:
    binary = shutil.which("ffmpeg")
    if binary is None:
        raise UserError(
            "MP4 needs an ffmpeg binary on PATH and none was found; install ffmpeg "
            "or write a .gif instead"
        )
    matplotlib.rcParams["animation.ffmpeg_path"] = binary
    return animation.FFMpegWriter(fps=fps, bitrate=4000)


#: ``writer(fps)`` by file suffix.
ANIMATION_WRITERS: Registry[Callable[[int], animation.AbstractMovieWriter]] = Registry(
    "animation format", ordered=True
)
ANIMATION_WRITERS.register(".gif")(_pillow_writer)
ANIMATION_WRITERS.register(".mp4")(_ffmpeg_writer)


def animation_writer(path: str | os.PathLike, fps: int) -> animation.AbstractMovieWriter:
    """The writer for the suffix of ``path`` (.gif: Pillow; .mp4: ffmpeg, a UserError if absent)."""
    suffix = Path(path).suffix.lower()
    if suffix not in ANIMATION_WRITERS:
        raise UserError(f"{path}: animations are {', '.join(ANIMATION_WRITERS)}")
    return ANIMATION_WRITERS.get(suffix)(fps)


def preview_animation(
    columns: Sequence[Column],
    times: Sequence[float],
    path: str | os.PathLike,
    style: FieldStyle | None = None,
    fps: int = 12,
) -> Path:
    """An animation (.gif or .mp4): columns side by side, one row per view, colour bars."""
    style = style or FIELDS.get("density")
    writer = animation_writer(path, fps)  # fails before any work when ffmpeg is missing
    names = _check_columns(columns)
    fig, axes = plt.subplots(
        len(names),
        len(columns),
        figsize=(PANEL_INCHES * len(columns) + 1.2, PANEL_INCHES * len(names) + 0.4),
        squeeze=False,
        constrained_layout=True,
    )
    images = []
    for r, name in enumerate(names):
        lims = colour_limits([c.views[name] for c in columns])
        for c, col in enumerate(columns):
            ax = axes[r, c]
            im = _show(ax, col, name, 0, lims, style)
            images.append((im, col.views[name]))
            if r == 0:
                ax.set_title(col.label, fontsize=10)
            if c == 0 and name:
                ax.set_ylabel(name, fontsize=9)
        fig.colorbar(im, ax=axes[r, :], shrink=0.9, label=style.label)
    title = fig.suptitle(f"t = {times[0]:g}")

    def update(k: int):
        for im, stack in images:
            im.set_data(stack[k])
        title.set_text(f"t = {times[k]:g}")
        return [im for im, _ in images]

    anim = animation.FuncAnimation(fig, update, frames=len(times), blit=False)
    with atomic_path(path) as tmp:
        anim.save(tmp, writer=writer)
    plt.close(fig)
    return Path(path)


# --------------------------------------------------------------------------- sim files


def sim_columns(f, groups: Sequence[str], style: FieldStyle, frames: Sequence[int]) -> list[Column]:
    """Columns of an open simulation file: ``style`` of ``frames`` of each group, read frame
    by frame (a 3D sequence need not fit in memory)."""
    factor = int(f.attrs["factor"])
    columns = []
    for group in groups:
        data = f[group][style.source]
        scale = float(factor) if group == "low" else 1.0
        label = GROUP_LABELS.get(group, group)
        columns.append(column(label, (style.compute(data[t], scale) for t in frames)))
    return columns


def preview_sim(
    sim: str | os.PathLike, stem: str | os.PathLike, groups: tuple[str, ...] = ("low", "high")
) -> list[Path]:
    """``<stem>.png`` (four frames) and ``<stem>.gif`` (up to 60 frames) of density."""
    stem = Path(stem)
    style = FIELDS.get("density")
    with open_sim(sim) as f:
        present = [g for g in GROUP_ORDER if g in groups and g in f]
        times = f["time"][:]
        every = list(range(len(times)))
        still = frame_indices(every, 4)
        moving = frame_indices(every, 60)
        png = preview_png(
            sim_columns(f, present, style, still), times[still], stem.with_suffix(".png")
        )
        gif_columns = sim_columns(f, present, style, moving)
    gif = preview_animation(gif_columns, times[moving], stem.with_suffix(".gif"), style)
    return [png, gif]
