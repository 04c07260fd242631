"""FID: zero on identical sets, ordering, closed forms, and agreement with two other routes."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg
import torch

from fluidgan.metrics.fid import (
    fid_from_features,
    fid_from_stats,
    fid_to_features,
    frechet_distance,
    gaussian_stats,
    psd_sqrt,
)

RNG = np.random.default_rng(0)


def _features(n, d, shift=0.0, scale=1.0, seed=0):
    rng = np.random.default_rng(seed)
    mix = rng.normal(size=(d, d)) / np.sqrt(d)  # correlated features, like pool3
    return (rng.normal(size=(n, d)) @ mix) * scale + shift


@pytest.mark.parametrize("n", [300, 20])  # full-rank and rank-deficient covariance (N < D)
def test_fid_of_a_set_with_itself_is_zero(n):
    f = _features(n, 64)
    st = gaussian_stats(f)
    scale = np.trace(st.sigma)
    assert abs(fid_from_features(f, f)) < 1e-9 * scale  # N x N route when N <= D
    assert abs(fid_from_stats(st, st)) < 1e-9 * scale  # D x D route (eigen fallback if singular)


def test_same_distribution_beats_degraded():
    a, b = _features(500, 32, seed=1), _features(500, 32, seed=2)
    degraded = _features(500, 32, seed=2, shift=0.3, scale=1.3)
    same = fid_from_features(a, b)
    assert 0 < same < fid_from_features(a, degraded)


def test_closed_form_for_isotropic_gaussians():
    # FID(N(0, I), N(m, s² I)) = |m|² + D (1 - s)²
    d, m, s = 16, np.full(16, 0.5), 1.7
    value = frechet_distance(np.zeros(d), np.eye(d), m, s**2 * np.eye(d))
    assert value == pytest.approx(m @ m + d * (1 - s) ** 2, rel=1e-12)


def test_gaussian_stats_match_numpy():
    f = _features(100, 8).astype(np.float32)
    st = gaussian_stats(f)
    np.testing.assert_allclose(st.mu, f.astype(np.float64).mean(0), rtol=1e-12)
    np.testing.assert_allclose(st.sigma, np.cov(f.astype(np.float64), rowvar=False), rtol=1e-10)
    assert st.sigma.dtype == np.float64 and st.n == 100


def _fid_sqrtm(f1, f2):
    """Independent route: the original formula with scipy's general matrix square root."""
    mu1, mu2 = f1.mean(0), f2.mean(0)
    s1, s2 = np.cov(f1, rowvar=False), np.cov(f2, rowvar=False)
    covmean = scipy.linalg.sqrtm(s1 @ s2).real
    return float((mu1 - mu2) @ (mu1 - mu2) + np.trace(s1 + s2 - 2 * covmean))


def test_agrees_with_scipy_sqrtm():
    a, b = _features(400, 48, seed=3), _features(400, 48, seed=4, shift=0.1, scale=1.2)
    assert fid_from_features(a, b) == pytest.approx(_fid_sqrtm(a, b), rel=1e-6)


@pytest.mark.parametrize("n2", [20, 48, 200])  # N <= D: N x N route; N > D: Cholesky route
def test_routes_to_the_trace_term_agree(n2):
    ref = gaussian_stats(_features(300, 48, seed=7))
    fake = _features(n2, 48, seed=8, shift=0.1)
    by_features = fid_to_features(ref, fake)
    by_stats = fid_from_stats(ref, gaussian_stats(fake))
    assert by_features == pytest.approx(by_stats, rel=1e-9)
    assert by_features == pytest.approx(_fid_sqrtm(_features(300, 48, seed=7), fake), rel=1e-6)


def test_psd_sqrt_squares_back():
    a = np.cov(_features(10, 16), rowvar=False)  # rank 9: singular
    s = psd_sqrt(a)
    np.testing.assert_allclose(s @ s, a, atol=1e-12 * np.abs(a).max())
    np.testing.assert_allclose(s, s.T)


def test_agrees_with_torchmetrics():
    tm = pytest.importorskip("torchmetrics.image.fid")

    class Given(torch.nn.Module):  # the "images" passed in are the features themselves
        num_features = 48

        def forward(self, x):
            return x

    a, b = _features(400, 48, seed=5), _features(300, 48, seed=6, shift=0.2)
    metric = tm.FrechetInceptionDistance(feature=Given())
    metric.update(torch.from_numpy(a), real=True)
    metric.update(torch.from_numpy(b), real=False)
    assert fid_from_features(a, b) == pytest.approx(metric.compute().item(), rel=1e-6)
