"""The report's preview frame: the ground-truth frame with the most detail above the
low-res Nyquist, looked up through the time pairing."""

from __future__ import annotations

import numpy as np

from pipelines.evaluate import most_detailed


def sequence(frames: int, detailed: int) -> np.ndarray:
    y, x = np.indices((64, 64)) * (2 * np.pi / 64)
    smooth = 0.5 + 0.3 * np.sin(x) * np.sin(2 * y)  # all its energy at k <= 3
    seq = np.stack([smooth * (1 + 0.1 * t) for t in range(frames)])  # grows, stays smooth
    seq[detailed] += 0.2 * (np.indices((64, 64)).sum(0) % 2)  # a checkerboard: k = 32
    return seq


def test_the_frame_with_most_fine_detail_is_shown():
    high = sequence(12, detailed=5)
    pairs = [(i, i + 2) for i in range(10)]  # prediction frame i is reference frame i + 2
    assert most_detailed({"high/density": high}, pairs, factor=4) == (3, 5)


def test_only_the_band_above_the_low_res_nyquist_counts():
    high = sequence(12, detailed=5)
    high[9] *= 40  # far more energy, all of it below the low-res Nyquist (k ≤ 8)
    pairs = [(i, i) for i in range(12)]
    assert most_detailed({"high/density": high}, pairs, factor=4) == (5, 5)
