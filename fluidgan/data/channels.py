"""Generator input channels: density, + velocity, + vorticity (SPEC §2, "Inputs").

Channel order of the low-res input (C, *s): density; then velocity (x, y[, z]) in low-res
cells per frame; then vorticity (the scalar ω_z in 2D, (ω_x, ω_y, ω_z) in 3D) in 1/frame.
So C = 1 (``rho``), 1 + d (``rho+v``) or 1 + d + (1 | 3) (``rho+v+w``).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

from fluidgan.data.vorticity import curl, vorticity_channels
from fluidgan.errors import UserError

Part = Callable[[Tensor, Tensor], Tensor]
PARTS: dict[str, Part] = {
    "density": lambda density, vel: density,
    "velocity": lambda density, vel: vel,
    "vorticity": lambda density, vel: curl(vel),
}
CHANNEL_SETS: dict[str, tuple[str, ...]] = {
    "rho": ("density",),
    "rho+v": ("density", "velocity"),
    "rho+v+w": ("density", "velocity", "vorticity"),
}
PART_CHANNELS: dict[str, Callable[[int], int]] = {
    "density": lambda dim: 1,
    "velocity": lambda dim: dim,
    "vorticity": vorticity_channels,
}


def check_channels(channels: str) -> tuple[str, ...]:
    if channels not in CHANNEL_SETS:
        raise UserError(f"channels {channels!r}; valid: {', '.join(CHANNEL_SETS)}")
    return CHANNEL_SETS[channels]


def channel_count(channels: str, dim: int) -> int:
    """C of a channel set: 1, 1 + d, or 1 + d + (1 in 2D, 3 in 3D)."""
    return sum(PART_CHANNELS[p](dim) for p in check_channels(channels))


def channel_names(channels: str, dim: int) -> list[str]:
    """Names of the input channels in order, e.g. density, velocity_x, velocity_y, vorticity."""
    names = []
    for part in check_channels(channels):
        n = PART_CHANNELS[part](dim)
        names += [part] if n == 1 else [f"{part}_{a}" for a in "xyz"[:n]]
    return names


def needs_velocity_margin(channels: str) -> bool:
    """Vorticity uses central differences: sample one extra low-res cell on every side."""
    return "vorticity" in check_channels(channels)


def build_inputs(density: Tensor, vel: Tensor, channels: str) -> Tensor:
    """Stack the input channels: density (N, 1, *s), velocity (N, d, *s) -> (N, C, *s)."""
    return torch.cat([PARTS[p](density, vel) for p in check_channels(channels)], dim=1)
