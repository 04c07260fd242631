"""Reference statistics on disk, keyed by everything they depend on.

The key holds the data set (sha1 of its uint8 pixels, so the same images read from a
folder or a .npz share an entry and an edited file never hits a stale one), the split,
the image resolution, the resize, the extractor (name, weights digest, input size) and N.
The file name carries a readable slug and the first 16 hex digits of the key's sha1:
``<cache_dir>/stats/<source>-<split>-<extractor>-n<N>-<hash>.npz``. Files are written
atomically; the stored key is compared on load, so a hash collision cannot return wrong
statistics.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from fluidgan.metrics.cache import cache_dir, key_digest, write_atomic
from fluidgan.metrics.features import FeatureExtractor, Features
from fluidgan.metrics.fid import GaussianStats, gaussian_stats
from fluidgan.metrics.images import ImageSet
from fluidgan.metrics.resize import RESIZE_NAME

STATS_FORMAT = 1


@dataclass(frozen=True)
class ReferenceStats:
    """Pooled features (N, D) float32 and their Gaussian fit; ``path`` of the cache file."""

    features: Features
    stats: GaussianStats
    path: Path | None
    cached: bool  # True when read from disk rather than computed now


def reference_key(images: ImageSet, extractor: FeatureExtractor) -> dict[str, Any]:
    return {
        "format": STATS_FORMAT,
        "dataset": images.digest(),
        "split": images.split,
        "resolution": list(images.shape),
        "resize": RESIZE_NAME,
        "extractor": extractor.identity(),
        "n": images.n,
    }


def stats_path(images: ImageSet, extractor: FeatureExtractor, key: dict[str, Any]) -> Path:
    src = Path(images.source)
    source = src.parent.name if src.name == "samples.npz" else src.stem  # a run dir's name
    slug = "-".join([source, images.split, extractor.name, f"n{images.n}"])
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "_", slug)[:80]
    return cache_dir() / "stats" / f"{slug}-{key_digest(key)[:16]}.npz"


def save_reference(
    path: Path, features: Features, stats: GaussianStats, key: dict[str, Any]
) -> Path:
    arrays = {
        "features": features.pool.astype(np.float32),
        "mu": stats.mu,
        "sigma": stats.sigma,
        "key": np.array(json.dumps(key, sort_keys=True)),
    }
    return write_atomic(path, lambda f: np.savez(f, **arrays))


def load_reference(path: Path, key: dict[str, Any]) -> ReferenceStats | None:
    """The cached entry at ``path`` if it exists and was stored under ``key``."""
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as z:
            if json.loads(str(z["key"])) != json.loads(json.dumps(key, sort_keys=True)):
                return None
            feats = Features(z["features"])
            stats = GaussianStats(z["mu"], z["sigma"], int(feats.n))
    except (OSError, ValueError, KeyError):
        return None  # unreadable entry: recompute and overwrite it
    return ReferenceStats(feats, stats, path, cached=True)


def reference_stats(
    images: ImageSet,
    extractor: FeatureExtractor,
    compute: Callable[[], Features],
    use_cache: bool = True,
) -> ReferenceStats:
    """Statistics of ``images`` under ``extractor``: cached, or ``compute()``d and stored."""
    key = reference_key(images, extractor)
    path = stats_path(images, extractor, key)
    if use_cache and (hit := load_reference(path, key)) is not None:
        return hit
    feats = compute()
    stats = gaussian_stats(feats.pool)
    if use_cache:
        save_reference(path, feats, stats, key)
    return ReferenceStats(Features(feats.pool), stats, path if use_cache else None, cached=False)
