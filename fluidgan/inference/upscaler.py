"""A trained generator applied to low-res frames: whole frames in batches, or overlapping
tiles when a frame does not fit the memory budget (docs/METHOD.md)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from fluidgan.data.channels import build_inputs, check_channels
from fluidgan.inference.tiling import receptive_halo, upscale_tiled

MAX_PASS_BYTES = 4 * 2**31  # 2³¹ float32 values
MAX_FRAME_BATCH = 16  # more frames per pass gains nothing measurable on CPU or GPU


def needs_velocity(channels: str) -> bool:
    return check_channels(channels) != ("density",)


def frame_inputs(density: np.ndarray, velocity: np.ndarray | None, channels: str) -> torch.Tensor:
    """Generator inputs of B frames, as the training tiles are built.

    density (B, *s); velocity (B, *s, d) in low-res cells per frame (None only for the
    ``rho`` channel set) -> (B, C, *s) float32. Vorticity is the curl of the whole frame.
    """
    rho = torch.from_numpy(np.ascontiguousarray(density, dtype=np.float32)).unsqueeze(1)
    if velocity is None:
        vel = torch.zeros((rho.shape[0], rho.ndim - 2, *rho.shape[2:]))
    else:
        vel = torch.from_numpy(np.ascontiguousarray(velocity, dtype=np.float32)).movedim(-1, 1)
    return build_inputs(rho, vel, channels).contiguous()


def bytes_per_voxel(generator: nn.Module) -> int:
    """Peak bytes per high-res voxel of one forward pass without gradients (an estimate
    each generator makes of itself: ``bytes_per_voxel()``)."""
    return int(generator.bytes_per_voxel())


@dataclass(frozen=True)
class Plan:
    """How frames go through the generator: ``mode`` whole (``batch`` frames per pass) or
    tiled (``tile``-cell windows, ``overlap`` cropped at interior faces, ``batch`` tiles)."""

    mode: str
    batch: int
    tile: int | None = None
    overlap: int | None = None

    def describe(self) -> str:
        if self.mode == "whole":
            return f"whole frames, {self.batch} per pass"
        return f"tiles of {self.tile} low-res cells, overlap {self.overlap}, {self.batch} per pass"


def plan_passes(
    low_shape: tuple[int, ...],
    generator: nn.Module,
    memory_mb: float,
    tile: int | None = None,
    overlap: int | None = None,
    batch: int | None = None,
) -> Plan:
    """Whole frames when one fits ``memory_mb``, else the largest cubic tile that does.

    ``tile``/``overlap``/``batch`` given by the user override the choice; ``overlap``
    defaults to the generator's receptive halo (the smallest seamless overlap).
    """
    factor, dim = generator.factor, len(low_shape)
    # Never more than 2³¹ float32 values per pass: larger tensors overflow the 32-bit
    # indexing of some convolution kernels (cuDNN, oneDNN), whatever memory is free.
    budget = min(memory_mb * 2**20, MAX_PASS_BYTES)
    per_voxel = bytes_per_voxel(generator)
    halo = receptive_halo(generator)
    overlap = halo if overlap is None else overlap
    frame_bytes = math.prod(low_shape) * factor**dim * per_voxel
    if tile is None and frame_bytes <= budget:
        fits = max(1, int(budget // frame_bytes))
        return Plan("whole", batch or min(fits, MAX_FRAME_BATCH))
    if tile is None:
        tile = int((budget / per_voxel) ** (1 / dim) / factor)
        if tile <= 2 * overlap:
            raise ValueError(
                f"a memory budget of {memory_mb:g} MB fits tiles of {tile} low-res cells, "
                f"not more than twice the overlap {overlap}; raise the budget"
            )
    if tile <= 2 * overlap and tile < max(low_shape):
        raise ValueError(f"tile {tile} must exceed twice the overlap {overlap}")
    tile_bytes = math.prod(min(tile, n) for n in low_shape) * factor**dim * per_voxel
    return Plan("tiled", batch or max(1, int(budget // tile_bytes)), tile, overlap)


class Precision(nn.Module):
    """A generator run in ``dtype`` autocast (None: float32) with channels-last tensors
    (NHWC / NDHWC, what oneDNN's bfloat16 and AMX kernels want: measured 2–3× faster than
    bfloat16 alone, benchmarks/bench_generators.py); outputs float32, contiguous."""

    def __init__(self, generator: nn.Module, device: torch.device, dtype: torch.dtype | None):
        super().__init__()
        self.dtype, self.device_type = dtype, device.type
        self.factor = generator.factor
        self.in_channels = generator.in_channels
        self.memory_format = None
        if dtype is not None:
            dim = generator.dim
            self.memory_format = torch.channels_last if dim == 2 else torch.channels_last_3d
            generator = generator.to(memory_format=self.memory_format)
        self.inner = generator

    def receptive_halo(self) -> int:
        return self.inner.receptive_halo()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.dtype is None:
            return self.inner(x)
        with torch.autocast(self.device_type, dtype=self.dtype):
            y = self.inner(x.contiguous(memory_format=self.memory_format))
        return y.float().contiguous()


class Upscaler:
    """A generator, its input channel set and a pass plan: low-res frames -> SR density.

    ``info`` is the checkpoint's ``model`` record (dim, factor, channels, ...);
    ``weights`` which of its generator weights these are ("ema" or "raw"; None: not said).
    """

    def __init__(
        self,
        generator: nn.Module,
        info: dict,
        device: torch.device,
        plan: Plan,
        dtype: torch.dtype | None = None,
        weights: str | None = None,
    ):
        self.generator = Precision(generator.to(device).eval(), device, dtype)
        self.info = info
        self.weights = weights
        self.device = device
        self.plan = plan

    @property
    def factor(self) -> int:
        return int(self.info["factor"])

    @property
    def channels(self) -> str:
        return str(self.info["channels"])

    @torch.inference_mode()
    def __call__(self, density: np.ndarray, velocity: np.ndarray | None) -> np.ndarray:
        """density (B, *s), velocity (B, *s, d) or None -> SR density (B, *factor·s) float32."""
        inputs = frame_inputs(density, velocity, self.channels).to(self.device)
        p = self.plan
        if p.mode == "whole":
            out = torch.cat(
                [
                    self.generator(inputs[i : i + p.batch])[:, 0]
                    for i in range(0, len(inputs), p.batch)
                ]
            )
        else:
            out = torch.stack(
                [upscale_tiled(self.generator, x, p.tile, p.overlap, p.batch) for x in inputs]
            )
        return out.float().cpu().numpy()
