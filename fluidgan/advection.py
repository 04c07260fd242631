"""Differentiable semi-Lagrangian advection of 2D/3D fields and the tempoGAN D_t frame alignment.

Conventions (the same as the solver's, ``solvers/grid.py``):

* fields are ``(B, C, *S)`` with ``S = (Y, X)`` or ``(Z, Y, X)``;
* velocities are ``(B, d, *S)``, cell-centred, in cells per time unit, channel 0 = x (along the
  last spatial axis), 1 = y, 2 = z;
* cell ``(…, j, i)`` has its centre at x = i + 0.5, y = j + 0.5, so a position p in cells is the
  sample index p - 0.5.

``A(f, u, Δt)`` moves ``f`` along ``u`` by ``Δt``: every cell centre x is traced back to
``p = x - Δt·u(x)`` and ``f`` is interpolated (bi/trilinearly) at ``p``, with ``p`` clamped to
the cell-centre range so the interpolation weights always sum to 1. ``grid_sample`` with
``align_corners=True`` on index coordinates and ``padding_mode="border"`` is exactly that
clamp (it clips the unnormalised coordinate to ``[0, n - 1]``). MacCormack (``order=2``) adds
the error-compensation step and clamps to the min/max of the 2^d samples of the forward step.

Everything is differentiable with respect to the field and the velocity.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor

from fluidgan.registry import Registry

UPSAMPLE_MODES = {2: "bilinear", 3: "trilinear"}


def spatial_dim(x: Tensor) -> int:
    """Number of spatial axes of a ``(B, C, *S)`` tensor; 2 or 3."""
    d = x.ndim - 2
    if d not in (2, 3):
        raise ValueError(f"expected a (B, C, Y, X) or (B, C, Z, Y, X) tensor, got {tuple(x.shape)}")
    return d


def cell_indices(shape: tuple[int, ...], device=None, dtype=torch.float32) -> Tensor:
    """Index coordinates of every cell, ``(d, *shape)``, component 0 = x (the last axis)."""
    axes = [torch.arange(n, device=device, dtype=dtype) for n in shape]
    grids = torch.meshgrid(*axes, indexing="ij")  # grids[k] varies along array axis k
    return torch.stack(grids[::-1])


def sample_at(field: Tensor, index: Tensor, mode: str = "bilinear") -> Tensor:
    """``field`` (B, C, *S_in) interpolated at index coordinates ``index`` (B, d, *S_out).

    ``index[:, 0]`` is the (fractional) index along the last axis (x). Indices outside
    ``[0, n - 1]`` are clamped to it, so the weights of the linear interpolation sum to 1.
    ``mode="nearest"`` is exact when the indices are integers (lattice-preserving transforms).
    """
    d = spatial_dim(field)
    sizes = field.shape[2:][::-1]  # (nx, ny[, nz]) matches the component order of index
    scale = torch.tensor(
        [2.0 / max(n - 1, 1) for n in sizes], device=index.device, dtype=index.dtype
    ).view(1, d, *([1] * d))
    grid = (index * scale - 1.0).movedim(1, -1)  # (B, *S_out, d), normalised to [-1, 1]
    return F.grid_sample(field, grid, mode=mode, padding_mode="border", align_corners=True)


def _as_batch_scalar(dt: float | Tensor, like: Tensor) -> Tensor:
    """``dt`` (a number, or one per batch entry) shaped to broadcast over (B, d, *S)."""
    dt = torch.as_tensor(dt, dtype=like.dtype, device=like.device)
    return dt.reshape(-1, *([1] * (like.ndim - 1)))


def backtrace(vel: Tensor, dt: float | Tensor) -> Tensor:
    """Departure points ``x - dt·u(x)`` of every cell centre, as index coordinates (B, d, *S)."""
    base = cell_indices(tuple(vel.shape[2:]), vel.device, vel.dtype)
    return base.unsqueeze(0) - _as_batch_scalar(dt, vel) * vel


def semi_lagrangian(field: Tensor, vel: Tensor, dt: float | Tensor = 1.0) -> Tensor:
    """First-order semi-Lagrangian step: ``f(x - dt·u(x))`` by clamped linear interpolation."""
    return sample_at(field, backtrace(vel, dt))


def stencil_extrema(field: Tensor, index: Tensor) -> tuple[Tensor, Tensor]:
    """Min and max of the 2^d samples the linear interpolation at ``index`` reads.

    As in the solver, the stencil of an index p clamped to [0, n - 1] is the pair
    ``i = min(floor(p), n - 2)``, ``i + 1`` per axis (on the last cell centre the pair is
    (n - 2, n - 1) with all weight on n - 1).
    """
    d = spatial_dim(field)
    shape = field.shape[2:]
    # Max/min over each cell's upper 2^d block (replicate padding only matters for n = 1).
    padded = F.pad(field, (0, 1) * d, mode="replicate")
    pool = (F.max_pool2d, F.max_pool3d)[d - 2]
    upper = pool(padded, kernel_size=2, stride=1)
    lower = -pool(-padded, kernel_size=2, stride=1)
    with torch.no_grad():
        sizes = torch.tensor(shape[::-1], device=index.device, dtype=index.dtype)
        top = (sizes - 1).view(1, d, *([1] * d))
        last = (sizes - 2).clamp(min=0).view(1, d, *([1] * d)).long()
        base = torch.minimum(torch.minimum(index.clamp(min=0.0), top).floor().long(), last)
        strides = [1]
        for n in shape[::-1][:-1]:  # x stride 1, y stride nx, z stride nx*ny
            strides.append(strides[-1] * n)
        flat = sum(base[:, a] * strides[a] for a in range(d)).flatten(1)  # (B, N)
        flat = flat.unsqueeze(1).expand(-1, field.shape[1], -1)
    lo = lower.flatten(2).gather(2, flat).view_as(field)
    hi = upper.flatten(2).gather(2, flat).view_as(field)
    return lo, hi


#: MacCormack limiters ``(mc, fwd, lo, hi) -> limited``, named and listed as in
#: ``solvers.advection.CLAMP_MODES``.
LIMITERS: Registry[Callable[[Tensor, Tensor, Tensor, Tensor], Tensor]] = Registry(
    "MacCormack clamp", ordered=True
)


@LIMITERS.register("clamp")
def _limit_clamp(value: Tensor, fwd: Tensor, lo: Tensor, hi: Tensor) -> Tensor:
    return torch.clamp(value, lo, hi)


@LIMITERS.register("revert")
def _limit_revert(value: Tensor, fwd: Tensor, lo: Tensor, hi: Tensor) -> Tensor:
    return torch.where((value < lo) | (value > hi), fwd, value)


@LIMITERS.register("none")
def _limit_none(value: Tensor, fwd: Tensor, lo: Tensor, hi: Tensor) -> Tensor:
    return value


def maccormack(
    field: Tensor, vel: Tensor, dt: float | Tensor = 1.0, clamp: str = "clamp"
) -> Tensor:
    """MacCormack step (Selle et al. 2008) limited by the forward stencil's extrema.

    fwd = SL(φ, Δt); bwd = SL(fwd, -Δt); mc = fwd + (φ - bwd)/2. ``clamp="clamp"`` clamps mc
    to the [min, max] of the 2^d samples of φ the forward step interpolated (mantaflow
    clampMode 1), ``"revert"`` returns fwd where mc leaves that range (clampMode 2, the
    tempoGAN scenes), ``"none"`` keeps mc.
    """
    if clamp not in LIMITERS:
        raise ValueError(f"MacCormack clamp {clamp!r}; valid: {', '.join(LIMITERS)}")
    index = backtrace(vel, dt)
    fwd = sample_at(field, index)
    bwd = semi_lagrangian(fwd, vel, -_as_batch_scalar(dt, vel).flatten())
    corrected = fwd + 0.5 * (field - bwd)
    if clamp == "none":
        return corrected
    lo, hi = stencil_extrema(field, index)
    return LIMITERS[clamp](corrected, fwd, lo, hi)


def advect(
    field: Tensor, vel: Tensor, dt: float | Tensor = 1.0, order: int = 1, clamp: str = "clamp"
) -> Tensor:
    """A(field, vel, dt): move ``field`` (B, C, *S) along ``vel`` (B, d, *S) by ``dt``.

    ``vel`` is cell-centred in cells per time unit (channel 0 = x); ``dt`` is a number or a
    tensor of B values (one time step per batch entry, e.g. +1 and -1 frames). ``order`` 1 is
    semi-Lagrangian, 2 MacCormack with the ``clamp`` limiter. Returns a tensor like ``field``.
    Same semantics as ``solvers.advection.advect_scalar_centred``.
    """
    d = spatial_dim(field)
    if vel.shape[1] != d or vel.shape[2:] != field.shape[2:]:
        raise ValueError(
            f"velocity {tuple(vel.shape)} does not match field {tuple(field.shape)} "
            f"(expected (B, {d}, {', '.join(map(str, field.shape[2:]))}))"
        )
    if vel.shape[0] != field.shape[0]:
        vel = vel.expand(field.shape[0], *vel.shape[1:])
    vel = vel.to(field.dtype)
    if order == 1:
        return semi_lagrangian(field, vel, dt)
    if order == 2:
        return maccormack(field, vel, dt, clamp)
    raise ValueError(
        f"advection order {order!r}; valid orders: 1 (semi-Lagrangian), 2 (MacCormack)"
    )


def upsample_velocity(low_vel: Tensor, factor: int) -> Tensor:
    """Low-res velocity (N, d, *s) in low cells/frame -> (N, d, *f·s) in high cells/frame.

    Linear interpolation at the high-res cell centres (``align_corners=False``; values beyond
    the outermost low-res centres are the edge values), multiplied by ``factor``.
    """
    d = spatial_dim(low_vel)
    up = F.interpolate(low_vel, scale_factor=factor, mode=UPSAMPLE_MODES[d], align_corners=False)
    return up * factor


def align_triplet(
    high: Tensor, low_vel: Tensor, factor: int, order: int = 1, clamp: str = "clamp"
) -> Tensor:
    """Warp a triplet of high-res frames to the time of its centre frame (tempoGAN's D_t input).

    high: (B, 3, C, *S) frames t-1, t, t+1 (real or generated: apply the same warp to both);
    low_vel: (B, 3, d, *s) each frame's own low-res cell-centred velocity, low cells/frame,
    with S = factor·s. Frame t-1 is advected by +1 frame with its velocity, frame t+1 by -1
    frame with its velocity, frame t is unchanged; ``order``/``clamp`` as in :func:`advect`.
    Returns (B, 3, C, *S); differentiable in ``high`` (and ``low_vel``).
    """
    if high.shape[1] != 3 or low_vel.shape[1] != 3:
        raise ValueError(
            f"expected triplets (B, 3, …), got {tuple(high.shape)} and {tuple(low_vel.shape)}"
        )
    batch = high.shape[0]
    expected = tuple(n * factor for n in low_vel.shape[3:])
    if tuple(high.shape[3:]) != expected:
        raise ValueError(
            f"high-res tile {tuple(high.shape[3:])} is not factor {factor} × "
            f"low-res tile {tuple(low_vel.shape[3:])}"
        )
    outer = [0, 2]
    vel = upsample_velocity(low_vel[:, outer].flatten(0, 1).to(high.dtype), factor)
    frames = high[:, outer].flatten(0, 1)
    dt = torch.tensor([1.0, -1.0], dtype=high.dtype, device=high.device).repeat(batch)
    warped = advect(frames, vel, dt, order, clamp).unflatten(0, (batch, 2))
    return torch.stack([warped[:, 0], high[:, 1], warped[:, 1]], dim=1)
