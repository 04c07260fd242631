"""Improved precision/recall on a 1-D case worked out by hand."""

from __future__ import annotations

import numpy as np
import pytest

from fluidgan.metrics.prdc import knn_radii, precision_recall


def test_precision_recall_by_hand():
    real = np.array([[0.0], [1.0], [2.0], [3.0], [10.0]])
    fake = np.array([[0.5], [5.0], [20.0]])
    # k = 1 radii: real 1, 1, 1, 1, 7; fake 4.5, 4.5, 15.
    # fake in real balls: 0.5 (ball of 0), 5 (ball of 10, radius 7); 20 is not -> 2/3.
    # real in fake balls: 0..3 (ball of 0.5), 10 (ball of 20, radius 15) -> 1.
    r = precision_recall(real, fake, k=1)
    assert r.precision == pytest.approx(2 / 3) and r.recall == 1.0


def test_knn_radii_exclude_self():
    x = np.array([[0.0], [1.0], [3.0], [7.0]])
    import torch

    np.testing.assert_allclose(knn_radii(torch.from_numpy(x), 2).numpy(), [3, 2, 3, 6])


def test_identical_sets_and_disjoint_sets():
    a = np.random.default_rng(0).normal(size=(100, 5))
    r = precision_recall(a, a, k=3)
    assert r.precision == 1.0 and r.recall == 1.0
    far = precision_recall(a, a + 100.0, k=3)
    assert far.precision == 0.0 and far.recall == 0.0
