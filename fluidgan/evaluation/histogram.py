"""How the values of a density field are distributed, and how far apart two such
distributions are: the 1-D Wasserstein (earth mover's) distance between histograms.

Pure functions on numpy arrays of any dimension, in float64. Bins are fixed and stated
(``bins`` equal bins on [0, L], L the data range), never fitted to the data at hand, so
histograms of different methods and frames add up and compare; values outside [0, L]
count in the first or last bin.
"""

from __future__ import annotations

import numpy as np

DENSITY_BINS = 256


def bin_edges(data_range: float = 1.0, bins: int = DENSITY_BINS) -> np.ndarray:
    """``bins`` + 1 equally spaced edges on [0, L]."""
    return np.linspace(0.0, data_range, bins + 1)


def density_histogram(
    x: np.ndarray, data_range: float = 1.0, bins: int = DENSITY_BINS
) -> np.ndarray:
    """Counts of the cells of ``x`` per bin, (bins,) float64; out-of-range values are
    clipped into the end bins."""
    values = np.clip(np.asarray(x, dtype=np.float64).ravel(), 0.0, data_range)
    counts, _ = np.histogram(values, bins=bin_edges(data_range, bins))
    return counts.astype(np.float64)


def histogram_emd(p: np.ndarray, q: np.ndarray, edges: np.ndarray) -> float:
    """W₁ between two histograms on the same ``edges``, each bin's mass at its centre:

        W₁ = ∫ |F_p(t) - F_q(t)| dt = Σ_i |F_p,i - F_q,i| (c_{i+1} - c_i)

    with F the cumulative sums of the normalised counts and c the bin centres, in the
    units of the binned values (density). NaN when either histogram is empty.
    """
    p, q = np.asarray(p, dtype=np.float64), np.asarray(q, dtype=np.float64)
    if p.shape != q.shape or len(edges) != len(p) + 1:
        raise ValueError(f"histograms {p.shape}, {q.shape} do not match {len(edges)} edges")
    if p.sum() <= 0 or q.sum() <= 0:
        return float("nan")
    centres = 0.5 * (edges[1:] + edges[:-1])
    cdf_gap = np.cumsum(p / p.sum() - q / q.sum())[:-1]
    return float(np.sum(np.abs(cdf_gap) * np.diff(centres)))
