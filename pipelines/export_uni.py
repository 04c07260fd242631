"""Stage ``export uni``: a simulation file -> per-frame mantaflow ``.uni`` grids.

For every chosen group (``low``, ``sr``, ``high``) and frame index NNNN of the file:
``density_<group>_NNNN.uni`` (a real grid) and ``velocity_<group>_NNNN.uni`` -- tempoGAN's
naming, so ``fluidgan import mantaflow`` reads the low/high pair back, and mantaflow's
``RealGrid.load`` / ``MACGrid.load`` read every file. 2D frames become one-z-slice grids
with v_z = 0.

Velocity goes back to mantaflow's units, cells of its own grid per time unit: divided by
``dt``, the mantaflow time per frame (default: the file's ``dt`` attribute). By default it
is written as a MAC grid (face values, ½ the sum of the two neighbouring cell centres;
the first face of each axis takes the first cell's value) for ``MACGrid.load``;
``velocity = "centred"`` writes the cell-centred values as a Vec3 grid instead.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from fluidgan.config import save_toml, to_dict
from fluidgan.errors import UserError
from fluidgan.io.selection import frame_selection, select_groups
from fluidgan.io.simfile import GROUPS, open_sim
from fluidgan.io.uni import centred_to_mac, to_grid_layout, write_uni

VELOCITY_LAYOUTS = ("mac", "centred")
Source = str | os.PathLike  # a path, as a string or a Path


@dataclass
class ExportUniConfig:
    """``fluidgan export uni``: ``groups`` (empty = every group in the file), ``frames``
    ("A:B", "" = all), ``dt`` (mantaflow time per frame; 0 = the file's), ``velocity``
    ("mac" or "centred"), ``compress`` (gzip as mantaflow writes)."""

    groups: list[str] = field(default_factory=list)
    frames: str = ""
    dt: float = 0.0
    velocity: str = "mac"
    compress: bool = True

    def __post_init__(self):
        if self.velocity not in VELOCITY_LAYOUTS:
            raise ValueError(
                f"velocity {self.velocity!r}: expected one of {', '.join(VELOCITY_LAYOUTS)}"
            )
        if self.dt < 0:
            raise ValueError(f"dt must be > 0 (or 0 for the file's), got {self.dt}")


def velocity_grid(velocity: np.ndarray, dim: int, dt: float, layout: str) -> np.ndarray:
    """Cells per frame ([Z,] Y, X, dim) -> mantaflow's (Z, Y, X, 3) in cells per time unit."""
    grid = to_grid_layout(velocity, dim).astype(np.float32) / np.float32(dt)
    return centred_to_mac(grid, dim) if layout == "mac" else grid


def export_uni(
    input: Source, out_dir: Source, config: ExportUniConfig | None = None, *, progress: bool = False
) -> list[Path]:
    """Write the .uni files of ``input`` into ``out_dir``; return their paths. The
    resolved config goes beside them as ``export.config.toml``."""
    from tqdm.auto import tqdm

    config = config or ExportUniConfig()
    source, out = Path(input), Path(out_dir)
    written: list[Path] = []
    with open_sim(source) as f:
        dim = int(f.attrs["dim"])
        dt = config.dt or float(f.attrs["dt"])
        if not dt > 0:
            raise UserError(f"{source}: attribute dt = {dt}; pass --dt (mantaflow time per frame)")
        present = [g for g in GROUPS if g in f]
        chosen = select_groups(present, config.groups or None, source)
        selected = frame_selection(config.frames or None, f["time"].shape[0])
        out.mkdir(parents=True, exist_ok=True)
        bar = tqdm(
            total=len(chosen) * len(selected),
            desc="export uni",
            unit="frame",
            disable=not progress,
            leave=False,
        )
        kind = "mac" if config.velocity == "mac" else "vec3"
        for group in chosen:
            for t in selected:
                density = to_grid_layout(f[group]["density"][t], dim)
                velocity = velocity_grid(f[group]["velocity"][t], dim, dt, config.velocity)
                for name, data, grid_kind in (
                    ("density", density, "real"),
                    ("velocity", velocity, kind),
                ):
                    path = out / f"{name}_{group}_{t:04d}.uni"
                    written.append(write_uni(path, data, grid_kind, compress=config.compress))
                bar.update(1)
        bar.close()
    save_toml(to_dict(config), out / "export.config.toml")
    return written
