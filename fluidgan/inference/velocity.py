"""What an upscaled file stores as ``/sr/velocity``: the generator predicts density only,
so the high-res velocity is zeros or the low-res velocity upsampled (for viewing)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
import torch.nn.functional as F

from fluidgan.registry import Registry

SR_VELOCITY: Registry[Callable[[np.ndarray, int], np.ndarray]] = Registry("SR velocity")


@SR_VELOCITY.register("zero")
def zero_velocity(low: np.ndarray, factor: int) -> np.ndarray:
    """Zeros: the generator predicts density only (``fluidgan evaluate`` then skips it)."""
    shape = tuple(n * factor for n in low.shape[1:-1])
    return np.zeros((low.shape[0], *shape, low.shape[-1]), np.float32)


@SR_VELOCITY.register("linear")
def linear_velocity(low: np.ndarray, factor: int) -> np.ndarray:
    """The low-res velocity (B, *s, d) bi/trilinearly upsampled and multiplied by the
    factor: (B, *f·s, d) in high-res cells per frame (for viewing, not a prediction)."""
    v = torch.from_numpy(np.ascontiguousarray(low)).movedim(-1, 1)
    mode = "bilinear" if v.ndim == 4 else "trilinear"
    up = F.interpolate(v, scale_factor=factor, mode=mode, align_corners=False) * factor
    return up.movedim(1, -1).contiguous().numpy()
