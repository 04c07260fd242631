"""The density-histogram earth mover's distance against scipy's exact 1-D Wasserstein
distance, and its accumulation over a sequence."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import wasserstein_distance

from fluidgan.evaluation.histogram import (
    bin_edges,
    density_histogram,
    histogram_emd,
)
from fluidgan.evaluation.sequence import SequenceEvaluator


def test_histogram_emd_equals_scipy_on_the_bin_centres():
    rng = np.random.default_rng(1)
    edges = bin_edges(1.0, 16)
    centres = 0.5 * (edges[1:] + edges[:-1])
    p, q = rng.integers(0, 50, 16).astype(float), rng.integers(0, 50, 16).astype(float)
    want = wasserstein_distance(centres, centres, u_weights=p, v_weights=q)
    assert histogram_emd(p, q, edges) == pytest.approx(want, rel=1e-12)
    assert histogram_emd(p, q, edges) == pytest.approx(histogram_emd(q, p, edges))  # symmetric
    assert histogram_emd(p, 3 * p, edges) == pytest.approx(0.0, abs=1e-15)  # only shape counts


def test_density_emd_approximates_the_exact_distance_of_the_samples():
    """Binning moves each value by at most half a bin: |W_hist - W_exact| ≤ bin width."""
    rng = np.random.default_rng(2)
    a = rng.beta(2.0, 5.0, size=4000)  # skewed, different shapes and means
    b = rng.beta(4.0, 2.0, size=3000) ** 1.5
    exact = wasserstein_distance(a, b)
    for bins in (16, 256):
        edges = bin_edges(1.0, bins)
        got = histogram_emd(density_histogram(a, 1.0, bins), density_histogram(b, 1.0, bins), edges)
        assert abs(got - exact) <= 1.0 / bins, (bins, got, exact)
    assert exact > 0.2  # the test is not on nearly equal samples


def test_a_shift_by_whole_bins_costs_exactly_the_shift():
    x = np.array([0.125, 0.225, 0.225, 0.575])  # bin centres
    edges = bin_edges(1.0, 20)  # bin width 0.05
    h = density_histogram(x, 1.0, 20)
    assert histogram_emd(h, density_histogram(x + 0.15, 1.0, 20), edges) == pytest.approx(0.15)
    assert density_histogram(np.array([-0.3, 1.7]), 1.0, 4).tolist() == [1, 0, 0, 1]
    assert np.isnan(histogram_emd(np.zeros(4), h[:4], bin_edges(1.0, 4)))
    with pytest.raises(ValueError, match="edges"):
        histogram_emd(h, h, bin_edges(1.0, 4))


def test_sequence_evaluator_reports_the_pooled_density_emd():
    rng = np.random.default_rng(3)
    ref = rng.random((3, 8, 8)).astype(np.float32) ** 2
    pred = np.clip(ref * 0.7 + 0.1, 0, 1).astype(np.float32)
    low = ref.reshape(3, 4, 2, 4, 2).mean(axis=(2, 4))
    velocity = np.zeros((3, 8, 8, 2), np.float32)
    ev = SequenceEvaluator(["model", "same"], 2)
    for t in range(3):
        ev.add(float(t), ref[t], {"model": pred[t], "same": ref[t]}, low[t], velocity[t])
    m = ev.result()["methods"]
    edges = bin_edges()
    want = histogram_emd(density_histogram(pred), density_histogram(ref), edges)
    assert m["model"]["density_emd"] == pytest.approx(want)
    assert m["model"]["density_emd"] == pytest.approx(
        wasserstein_distance(pred.ravel(), ref.ravel()), abs=1 / 256
    )
    assert m["same"]["density_emd"] == 0.0
