"""FID and KID on density slices, through :mod:`fluidgan.metrics`.

A 2D frame is one image; a 3D volume gives z slices (x-y planes). Density is quantised to
8 bits on the fixed range [0, L] (values outside are clipped), identically for the ground
truth and every method -- the quantisation the metrics' image pipeline expects. The images
of each method are the same frames and slices as the ground truth's, so all FIDs share N;
FID is biased in N, so compare values only at equal N (it is reported).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np


def slice_indices(depth: int, count: int) -> np.ndarray:
    """``count`` evenly spread z indices of a volume ``depth`` deep (all when count ≥ depth)."""
    if count >= depth:
        return np.arange(depth)
    # the centres of ``count`` equal bands: the border slices, often empty air, are avoided
    return ((np.arange(max(count, 1)) + 0.5) * depth / max(count, 1)).astype(int)


def density_slices(volume: np.ndarray, data_range: float, count: int) -> np.ndarray:
    """(n, H, W, 1) uint8 images of one frame: itself (2D) or ``count`` z slices (3D)."""
    volume = np.asarray(volume)
    planes = volume[None] if volume.ndim == 2 else volume[slice_indices(volume.shape[0], count)]
    scaled = np.clip(planes.astype(np.float64) / data_range, 0.0, 1.0) * 255.0
    return np.rint(scaled).astype(np.uint8)[..., None]


def slices_per_frame(frames: int, depth: int, max_images: int) -> int:
    """z slices per frame so that about ``max_images`` images are taken in all (≥ 1)."""
    return max(1, min(depth, math.ceil(max_images / max(frames, 1))))


def fid_scores(
    real: np.ndarray,
    fakes: Mapping[str, np.ndarray],
    features: str = "inception",
    device: str = "cpu",
    batch_size: int = 64,
) -> dict[str, Any]:
    """FID and KID of each fake image set against ``real``, all (N, H, W, 1) uint8.

    Returns ``{"features": description, "n_real": N, "methods": {name: {"fid", "kid",
    "kid_std", "n"}}}``. The extractor is ``inception`` (canonical FID) or ``domain:NAME``
    (comparable only with itself); raises UserError if it is unavailable.
    """
    from fluidgan.metrics import (
        ExtractorOptions,
        fid_from_features,
        get_extractor,
        kernel_inception_distance,
    )

    extractor = get_extractor(features, ExtractorOptions(device=device))
    real_pool = extractor.extract(real, batch_size=batch_size).pool
    methods = {}
    for name, images in fakes.items():
        pool = extractor.extract(images, batch_size=batch_size).pool
        kid = kernel_inception_distance(real_pool, pool, subsets=100, subset_size=1000, seed=0)
        methods[name] = {
            "fid": fid_from_features(real_pool, pool),
            "kid": kid.mean,
            "kid_std": kid.std,
            "n": int(pool.shape[0]),
        }
    return {"features": extractor.describe(), "n_real": int(real_pool.shape[0]), "methods": methods}
