"""The score watched while training: the generator against bi/trilinear interpolation of
the same low-res input, on held-out tiles (the baseline to beat)."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def validation_l1(
    generated: torch.Tensor, low: torch.Tensor, high: torch.Tensor, factor: int
) -> dict[str, float]:
    """``val/l1``: mean |G(x) - y| of the generated tiles (B, 1, *S) against the high-res
    tiles ``high``; ``val/l1_interp``: the same for the low-res density (channel 0 of
    ``low``, (B, C, *s)) upsampled by ``factor``, bilinearly in 2D, trilinearly in 3D."""
    mode = "bilinear" if high.ndim == 4 else "trilinear"
    interpolated = F.interpolate(low[:, :1], scale_factor=factor, mode=mode)
    return {
        "val/l1": float((generated - high).abs().mean()),
        "val/l1_interp": float((interpolated - high).abs().mean()),
    }
