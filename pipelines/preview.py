"""Stage ``preview``: a PNG, GIF or MP4 of one simulation file, low | SR | high side by side.

The format follows the suffix of ``out``. A PNG shows ``count`` frames spread over the
selected range; an animation shows every selected frame (at most ``max_frames``, evenly
thinned beyond). MP4 needs an ffmpeg binary on PATH.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from fluidgan.config import save_toml, to_dict
from fluidgan.errors import UserError
from fluidgan.io.faults import faults_named
from fluidgan.io.preview import (
    GROUP_ORDER,
    animation_writer,
    frame_indices,
    get_field,
    preview_animation,
    preview_png,
    sim_columns,
)
from fluidgan.io.selection import frame_selection, select_groups
from fluidgan.io.simfile import open_sim

FORMATS = (".png", ".gif", ".mp4")


@dataclass
class PreviewConfig:
    """``fluidgan preview``: ``groups`` (empty = every group in the file), ``field``
    (density | velocity | vorticity), ``frames`` ("A:B", "" = all), ``count`` frames in a
    PNG, ``fps`` and at most ``max_frames`` frames in an animation."""

    groups: list[str] = field(default_factory=list)
    field: str = "density"
    frames: str = ""
    count: int = 4
    fps: int = 12
    max_frames: int = 200

    def __post_init__(self):
        for key in ("count", "fps", "max_frames"):
            if getattr(self, key) < 1:
                raise ValueError(f"{key} must be >= 1, got {getattr(self, key)}")


def preview(
    input: str | os.PathLike, out: str | os.PathLike, config: PreviewConfig | None = None
) -> Path:
    """Write the preview ``out`` (.png, .gif or .mp4) of ``input``; return its path. The
    resolved config goes beside it as ``<out stem>.config.toml``.

    ``config.groups``: any of low, sr, high (default: those present), shown in that order;
    ``field``: density, velocity or vorticity; ``frames``: ``"A:B"``.
    """
    config = config or PreviewConfig()
    source, out = Path(input), Path(out)
    suffix = out.suffix.lower()
    if suffix not in FORMATS:
        raise UserError(f"--out {out}: the preview format follows the suffix: {', '.join(FORMATS)}")
    style = get_field(config.field)
    if suffix != ".png":
        animation_writer(out, config.fps)  # a missing ffmpeg fails here, before any reading
    out.parent.mkdir(parents=True, exist_ok=True)
    with open_sim(source) as f:
        present = [g for g in GROUP_ORDER if g in f]
        chosen = select_groups(present, config.groups or None, source)
        chosen = [g for g in GROUP_ORDER if g in chosen]
        selected = frame_selection(config.frames or None, f["time"].shape[0])
        shown = frame_indices(selected, config.count if suffix == ".png" else config.max_frames)
        times = f["time"][:][shown]
        columns = sim_columns(f, chosen, style, shown)
    with faults_named(out, lambda: "no preview written", "rerun the same command"):
        if suffix == ".png":
            path = preview_png(columns, times, out, style)
        else:
            path = preview_animation(columns, times, out, style, config.fps)
        save_toml(to_dict(config), path.with_name(path.stem + ".config.toml"))
    return path
