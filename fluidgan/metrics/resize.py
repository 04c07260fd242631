"""TensorFlow-1 bilinear resize, the one the canonical FID graph applies before Inception.

TF1 ``tf.image.resize_bilinear(align_corners=False)`` (no half-pixel centres) maps output
pixel ``i`` to input coordinate ``s = i * in / out`` -- no ``+0.5`` shifts -- and blends the
two neighbours ``floor(s)`` and ``min(floor(s) + 1, in - 1)`` with weight ``s - floor(s)``.
``torch.nn.functional.interpolate(mode="bilinear")`` samples at ``(i + 0.5) * in / out - 0.5``
instead; on 32x32 -> 299x299 the two differ by up to ~115/255 grey levels, enough to move
FID by whole points, hence this separate implementation.
"""

from __future__ import annotations

import torch

RESIZE_NAME = "tf1-bilinear"  # names the resize in cache keys and reports


def tf1_source_coordinates(
    n_in: int, n_out: int
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Lower/upper source indices (n_out,) int64 and the weight of the upper one (n_out,)."""
    scale = n_in / n_out
    s = torch.arange(n_out, dtype=torch.float64) * scale
    lo = torch.floor(s).to(torch.int64).clamp(max=n_in - 1)
    hi = (lo + 1).clamp(max=n_in - 1)
    return lo, hi, s - lo.to(torch.float64)


def _resize_axis(x: torch.Tensor, n_out: int, dim: int) -> torch.Tensor:
    """Resize ``x`` along ``dim`` to ``n_out`` samples (TF1 bilinear, one axis)."""
    n_in = x.shape[dim]
    if n_in == n_out:
        return x
    lo, hi, w = (t.to(x.device) for t in tf1_source_coordinates(n_in, n_out))
    shape = [1] * x.ndim
    shape[dim] = n_out
    w = w.to(x.dtype).reshape(shape)
    a = x.index_select(dim, lo)
    b = x.index_select(dim, hi)
    return a + (b - a) * w


def resize_tf1_bilinear(x: torch.Tensor, size: tuple[int, ...]) -> torch.Tensor:
    """TF1 bilinear resize of the trailing ``len(size)`` axes of a float tensor.

    ``x``: (..., *spatial) floating point, any value range (the resize is linear, so it
    commutes with the Inception input scaling up to rounding). ``size``: the output
    spatial shape, e.g. ``(299, 299)``. Separable, so the same code resizes 2D and 3D.
    """
    if not x.is_floating_point():
        raise TypeError(f"resize_tf1_bilinear needs a floating tensor, got {x.dtype}")
    first = x.ndim - len(size)
    for k, n_out in enumerate(size):
        x = _resize_axis(x, int(n_out), first + k)
    return x
