"""Vorticity and divergence of cell-centred velocity tensors, by central differences in cells.

Velocities are ``(B, d, *S)`` with channel 0 = x along the last spatial axis (see
``fluidgan.advection``). Derivatives are per cell of the same grid: central differences in the
interior, one-sided first-order differences on the outermost layer (``torch.gradient``).
"""

from __future__ import annotations

import torch
from torch import Tensor

from fluidgan.advection import spatial_dim


def partial(component: Tensor, axis: int) -> Tensor:
    """∂/∂(axis) of ``component`` (B, *S); axis 0 = x (the last spatial axis), 1 = y, 2 = z."""
    return torch.gradient(component, dim=component.ndim - 1 - axis)[0]


def curl(vel: Tensor) -> Tensor:
    """The true curl ∇×u of ``vel`` (B, d, *S), in (velocity unit) per cell.

    2D: the scalar ω = ∂u_y/∂x - ∂u_x/∂y, shape (B, 1, *S).
    3D: the vector (∂u_z/∂y - ∂u_y/∂z, ∂u_x/∂z - ∂u_z/∂x, ∂u_y/∂x - ∂u_x/∂y), shape (B, 3, *S).
    """
    d = spatial_dim(vel)
    u = vel.unbind(1)
    if d == 2:
        return (partial(u[1], 0) - partial(u[0], 1)).unsqueeze(1)
    return torch.stack(
        [
            partial(u[2], 1) - partial(u[1], 2),
            partial(u[0], 2) - partial(u[2], 0),
            partial(u[1], 0) - partial(u[0], 1),
        ],
        dim=1,
    )


def divergence(vel: Tensor) -> Tensor:
    """∇·u of ``vel`` (B, d, *S) by central differences, shape (B, 1, *S)."""
    d = spatial_dim(vel)
    return sum(partial(vel[:, a], a) for a in range(d)).unsqueeze(1)


def vorticity_channels(dim: int) -> int:
    """Number of vorticity channels: 1 in 2D (a scalar), 3 in 3D (a vector)."""
    return 1 if dim == 2 else 3
