"""Generator input channels: density, + velocity, + vorticity (docs/METHOD.md, "Training data").

Channel order of the low-res input (C, *s): density; then velocity (x, y[, z]) in low-res
cells per frame; then vorticity (the scalar ω_z in 2D, (ω_x, ω_y, ω_z) in 3D) in 1/frame.
So C = 1 (``rho``), 1 + d (``rho+v``) or 1 + d + (1 | 3) (``rho+v+w``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor

from fluidgan.data.vorticity import curl, vorticity_channels
from fluidgan.errors import UserError
from fluidgan.registry import Registry


@dataclass(frozen=True)
class Part:
    """A block of input channels: ``build(density, vel)`` -> (N, count(dim), *s)."""

    build: Callable[[Tensor, Tensor], Tensor]
    count: Callable[[int], int]


PARTS: Registry[Part] = Registry("input part", ordered=True)
PARTS.register("density")(Part(lambda density, vel: density, lambda dim: 1))
PARTS.register("velocity")(Part(lambda density, vel: vel, lambda dim: dim))
PARTS.register("vorticity")(Part(lambda density, vel: curl(vel), vorticity_channels))

#: The ``channels`` values: parts, in channel order.
CHANNEL_SETS: Registry[tuple[str, ...]] = Registry("channel set", ordered=True)
CHANNEL_SETS.register("rho")(("density",))
CHANNEL_SETS.register("rho+v")(("density", "velocity"))
CHANNEL_SETS.register("rho+v+w")(("density", "velocity", "vorticity"))


def check_channels(channels: str) -> tuple[str, ...]:
    if channels not in CHANNEL_SETS:
        raise UserError(f"channels {channels!r}; valid: {', '.join(CHANNEL_SETS)}")
    return CHANNEL_SETS.get(channels)


def channel_count(channels: str, dim: int) -> int:
    """C of a channel set: 1, 1 + d, or 1 + d + (1 in 2D, 3 in 3D)."""
    return sum(PARTS.get(p).count(dim) for p in check_channels(channels))


def channel_names(channels: str, dim: int) -> list[str]:
    """Names of the input channels in order, e.g. density, velocity_x, velocity_y, vorticity."""
    names = []
    for part in check_channels(channels):
        n = PARTS.get(part).count(dim)
        names += [part] if n == 1 else [f"{part}_{a}" for a in "xyz"[:n]]
    return names


def needs_velocity_margin(channels: str) -> bool:
    """Vorticity uses central differences: sample one extra low-res cell on every side."""
    return "vorticity" in check_channels(channels)


def build_inputs(density: Tensor, vel: Tensor, channels: str) -> Tensor:
    """Stack the input channels: density (N, 1, *s), velocity (N, d, *s) -> (N, C, *s)."""
    return torch.cat([PARTS.get(p).build(density, vel) for p in check_channels(channels)], dim=1)
