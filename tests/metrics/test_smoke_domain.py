"""The smoke domain: frames of small plume simulations labelled by their scene parameters
(inflow size x uniform or noisy density), split by simulation, cached on disk, and the
``domain:smoke`` classifier."""

from __future__ import annotations

import numpy as np
import pytest

from fluidgan.errors import UserError
from fluidgan.metrics import smoke_frames
from fluidgan.metrics.cache import CACHE_ENV
from fluidgan.metrics.domain import DOMAINS
from fluidgan.metrics.features import extractor_names
from fluidgan.metrics.smoke_frames import (
    CLASSES,
    DENSITIES,
    SIZES,
    SPLIT_SEEDS,
    simulate_frames,
    smoke_scene,
)


def test_smoke_is_a_registered_domain_with_one_class_per_parameter_setting():
    assert "domain:smoke" in extractor_names()
    assert DOMAINS["smoke"].n_classes == len(CLASSES) == len(SIZES) * len(DENSITIES)
    assert len({c.name for c in CLASSES}) == len(CLASSES)


def test_scene_carries_the_parameters_of_its_label():
    for label, cls in enumerate(CLASSES):
        a, b = smoke_scene(label, 0), smoke_scene(label, 1)
        for scene in (a, b):
            (source,) = scene.sources
            assert abs(source.radius / SIZES[cls.size] - 1) <= 0.08
            assert source.noise.enabled == (cls.density == "noisy")
        assert a.sources[0].noise.seed != b.sources[0].noise.seed  # variation within a class
        assert a.gravity != b.gravity and a.sources[0].center != b.sources[0].center
    assert smoke_scene(3, 2) == smoke_scene(3, 2)  # drawn from fixed seeds


def test_split_is_by_simulation():
    assert set(SPLIT_SEEDS["train"]).isdisjoint(SPLIT_SEEDS["test"])
    assert set(SPLIT_SEEDS["train"]) | set(SPLIT_SEEDS["test"]) == set(SPLIT_SEEDS["all"])
    with pytest.raises(UserError, match="split"):
        smoke_frames.load_smoke_labelled("validation")


def test_frames_are_simulated_once_and_cached_on_disk(monkeypatch, tmp_path):
    monkeypatch.setenv(CACHE_ENV, str(tmp_path))  # not the session cache the slow test uses
    calls = []

    def simulate(split):
        calls.append(split)
        return np.full((2, 32, 32, 1), 7, np.uint8), np.array([0, 3])

    monkeypatch.setattr(smoke_frames, "simulate_split", simulate)
    load = smoke_frames.load_smoke_labelled
    load.cache_clear()
    try:
        first = load("test")
        load.cache_clear()  # a new process: only the file is left
        second = load("test")
    finally:
        load.cache_clear()
    assert calls == ["test"]
    assert np.array_equal(first[0], second[0]) and np.array_equal(first[1], second[1])
    assert (tmp_path / "domain" / f"smoke-frames-test-v{smoke_frames.DATA_VERSION}.npz").is_file()


def _height(frame: np.ndarray) -> float:
    """Density-weighted height above the bottom, in cells (row 0 is the top)."""
    rows = np.arange(frame.shape[0])[:, None]
    return float(((frame.shape[0] - 1 - rows) * frame).sum() / frame.sum())


def _base(frame: np.ndarray) -> np.ndarray:
    """Columns with smoke (> 0.3) in the lowest 8 rows, where the inflows are."""
    return frame[-8:].max(axis=0) > 0.3


def test_frames_show_the_scene_parameters():
    """The label is visible: a large inflow makes a wider plume than a small one, noise
    modulates the density (a uniform inflow is a flat 1 inside), and the smoke rises
    upwards (images upright)."""
    index = {(c.size, c.density): k for k, c in enumerate(CLASSES)}
    keys = [("small", "uniform"), ("large", "uniform"), ("large", "noisy")]
    frames = {key: simulate_frames(index[key], 0) for key in keys}
    for f in frames.values():
        assert f.shape[1:] == (smoke_frames.RES,) * 2 and f.dtype == np.float32
        assert 0.0 <= f.min() and f.max() <= 1.0 + 1e-6
    width = {key: np.mean([_base(frame).sum() for frame in f]) for key, f in frames.items()}
    assert width[("large", "uniform")] > 1.5 * width[("small", "uniform")]
    bright = {key: np.mean(f[f > 0.3] > 0.95) for key, f in frames.items()}
    assert bright[("large", "uniform")] > 1.3 * bright[("large", "noisy")]
    one = frames[("small", "uniform")]
    assert _height(one[-1]) > _height(one[0]) + 3


@pytest.mark.slow
def test_smoke_classifier_separates_held_out_simulations():
    """Simulates the data set (a minute or more) and trains the classifier once: it must
    label frames of simulations it never saw, and IS_domain behaves as an IS in K classes."""
    from fluidgan.metrics.features import get_extractor
    from fluidgan.metrics.images import load_image_set
    from fluidgan.metrics.inception_score import inception_score

    extractor = get_extractor("domain:smoke")
    assert extractor.info["test_accuracy"] > 0.8
    images, labels = smoke_frames.load_smoke_labelled("test")
    assert np.array_equal(load_image_set("builtin:smoke:test").images, images)
    feats = extractor.extract(images)
    assert feats.pool.shape == (len(images), extractor.dim)
    score = inception_score(feats.logits, splits=1).mean
    one_class = inception_score(feats.logits[labels == 0], splits=1).mean
    assert score > 2.5 and one_class < 1.5  # K = 4 classes, balanced test set
