"""Training previews and curves: written without warnings, whatever has been logged."""

from __future__ import annotations

import warnings

import numpy as np
import torch
from matplotlib.image import imread

from fluidgan.train.preview import save_curves, save_preview


def test_curves_against_iteration_and_wall_time_without_legend_warnings(tmp_path):
    # Only D_s and L1 logged (no D_t, no validation yet): the empty panels get no legend
    # instead of matplotlib's "No artists with labels found" warning.
    rows = [
        {"iteration": i, "time": 0.5 * i, "d_s/loss": 1.0 / i, "g/l1": 0.1} for i in range(1, 60)
    ]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        path = save_curves(rows, tmp_path / "c.png", x=("iteration", "time"))
    image = imread(path)
    assert image.shape[0] == 2 * 340 and image.shape[1] == 4 * 420  # 2 rows of 4 panels


def test_preview_rows_are_samples_then_the_two_triplets(tmp_path):
    low, high = torch.rand(2, 4, 4), torch.rand(2, 16, 16)
    triplet = torch.rand(3, 16, 16)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        path = save_preview(tmp_path / "p.png", low, high, high, triplet, triplet, title="t")
    image = imread(path)
    assert image.shape[:2] == (3 * 4 * 100, 3 * 3 * 100)  # (2 samples + 2 triplets) x 3
    assert np.isfinite(image).all()
