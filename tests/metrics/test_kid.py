"""KID: the unbiased MMD² against a hand computation, torchmetrics, and its behaviour."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

from fluidgan.metrics.kid import kernel_inception_distance, mmd2_unbiased, polynomial_kernel

X = np.array([[1.0, 0.0], [0.0, 2.0], [1.0, 1.0]])
Y = np.array([[2.0, 1.0], [0.0, 0.0], [1.0, -1.0]])


def _k(a, b):
    return (float(np.dot(a, b)) / 2 + 1) ** 3  # D = 2


def _mmd_by_hand(x, y):
    m, n = len(x), len(y)
    xx = sum(_k(x[i], x[j]) for i, j in itertools.permutations(range(m), 2)) / (m * (m - 1))
    yy = sum(_k(y[i], y[j]) for i, j in itertools.permutations(range(n), 2)) / (n * (n - 1))
    xy = sum(_k(a, b) for a in x for b in y) / (m * n)
    return xx + yy - 2 * xy


def test_kernel_by_hand():
    # k(x0, x1) = (0/2 + 1)^3 = 1; k(x1, x2) = (2/2 + 1)^3 = 8
    k = polynomial_kernel(X, X)
    assert k[0, 1] == 1.0 and k[1, 2] == 8.0


def test_mmd_against_hand_computation():
    assert mmd2_unbiased(X, Y) == pytest.approx(_mmd_by_hand(X, Y), rel=1e-12)
    assert mmd2_unbiased(X, Y[:2]) == pytest.approx(_mmd_by_hand(X, Y[:2]), rel=1e-12)


def test_whole_set_subsets_are_exact():
    r = kernel_inception_distance(X, Y, subsets=5, subset_size=3)
    assert r.subset_size == 3
    assert r.mean == pytest.approx(_mmd_by_hand(X, Y), rel=1e-12) and r.std < 1e-12


@pytest.mark.filterwarnings("ignore::UserWarning")  # its feature-buffer notices
def test_agrees_with_torchmetrics():
    tm = pytest.importorskip("torchmetrics.image.kid")

    class Given(torch.nn.Module):
        num_features = 16

        def forward(self, x):
            return x

    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(60, 16)), rng.normal(0.2, 1.1, size=(60, 16))
    metric = tm.KernelInceptionDistance(feature=Given(), subsets=1, subset_size=60)
    metric.update(torch.from_numpy(a), real=True)
    metric.update(torch.from_numpy(b), real=False)
    ours = kernel_inception_distance(a, b, subsets=1, subset_size=60).mean
    assert ours == pytest.approx(metric.compute()[0].item(), rel=1e-6)


def test_same_distribution_near_zero_shifted_positive():
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=(400, 32)), rng.normal(size=(400, 32))
    same = kernel_inception_distance(a, b, subsets=20, subset_size=200, seed=0)
    shifted = kernel_inception_distance(a, b + 0.5, subsets=20, subset_size=200, seed=0)
    assert abs(same.mean) < 3 * same.std + 1e-3
    assert shifted.mean > 10 * (abs(same.mean) + same.std)


def test_seeded_subsets_are_reproducible():
    rng = np.random.default_rng(2)
    a, b = rng.normal(size=(50, 8)), rng.normal(size=(40, 8))
    r1 = kernel_inception_distance(a, b, subsets=7, subset_size=20, seed=3)
    r2 = kernel_inception_distance(a, b, subsets=7, subset_size=20, seed=3)
    assert r1 == r2 and r1.subset_size == 20
    assert kernel_inception_distance(a, b, subset_size=1000).subset_size == 40
