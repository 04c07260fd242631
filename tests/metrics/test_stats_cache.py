"""Reference statistics cache: keyed by data, split, resolution, extractor and N; atomic."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from fluidgan.metrics.features import EXTRACTORS, FeatureExtractor, Features, get_extractor
from fluidgan.metrics.images import ImageSet
from fluidgan.metrics.stats_cache import reference_key, reference_stats


class MeanPixels(FeatureExtractor):
    """A toy extractor (registered only inside these tests): per-row means of a 4x4 image."""

    name = "test-pixels"
    dim = 4
    canonical = False
    input_size = (4, 4)
    input_channels = 1

    def __init__(self, scale: float = 1.0):
        super().__init__(torch.device("cpu"))
        self.scale = scale
        self.calls = 0

    @property
    def has_logits(self) -> bool:
        return False

    def forward(self, x):
        self.calls += 1
        return x.mean(dim=(1, 3)) * self.scale, None

    def identity(self):
        return {**super().identity(), "scale": self.scale}


@pytest.fixture
def images():
    rng = np.random.default_rng(0)
    return ImageSet(rng.integers(0, 256, size=(20, 8, 8, 1), dtype=np.uint8), "data/real", "all")


def _stats(images, ext, **kw):
    return reference_stats(images, ext, lambda: ext.extract(images.images, batch_size=7), **kw)


def test_registry_is_open(monkeypatch):
    monkeypatch.setitem(EXTRACTORS, "test-pixels", lambda arg, options: MeanPixels())
    assert isinstance(get_extractor("test-pixels"), MeanPixels)


def test_second_call_hits_the_cache(images):
    ext = MeanPixels()
    first = _stats(images, ext)
    second = _stats(images, ext)
    assert not first.cached and second.cached and ext.calls == 3  # ceil(20 / 7) batches once
    assert first.path == second.path and first.path.name.startswith("real-all-test-pixels-n20-")
    np.testing.assert_array_equal(first.stats.sigma, second.stats.sigma)
    np.testing.assert_array_equal(first.features.pool, second.features.pool)
    assert not list(first.path.parent.glob("*.tmp*"))  # the atomic write left nothing behind


def test_key_covers_what_the_statistics_depend_on(images):
    base = reference_key(images, MeanPixels())
    changed = [
        reference_key(images.head(10), MeanPixels()),  # N
        reference_key(ImageSet(images.images, "data/real", "test"), MeanPixels()),  # split
        reference_key(images, MeanPixels(scale=2.0)),  # extractor
        reference_key(ImageSet(images.images[:, :4], "data/real"), MeanPixels()),  # resolution
        reference_key(ImageSet(255 - images.images, "data/real"), MeanPixels()),  # data
    ]
    assert all(k != base for k in changed)
    assert reference_key(ImageSet(images.images, "elsewhere.npz"), MeanPixels()) == base


def test_unreadable_entry_is_recomputed(images):
    ext = MeanPixels()
    path = _stats(images, ext).path
    path.write_bytes(b"not an npz")
    again = _stats(images, ext)
    assert not again.cached and _stats(images, ext).cached


def test_cache_can_be_bypassed(images):
    r = _stats(images, MeanPixels(scale=3.0), use_cache=False)
    assert r.path is None and not r.cached
    assert isinstance(r.features, Features) and r.stats.n == 20
