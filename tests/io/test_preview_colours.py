"""Preview colour limits: a density with an interpolation's undershoot is drawn as a
density (0 to its p99.5), a signed field symmetrically."""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from fluidgan.io.preview import colour_limits


def test_a_cubic_undershoot_does_not_make_a_density_signed():
    rng = np.random.default_rng(0)
    smoke = ndimage.gaussian_filter(rng.random((32, 32)), 3)
    density = (smoke > np.median(smoke)).astype(np.float64)  # blobs with sharp edges
    cubic = ndimage.zoom(density, 4, order=3)  # undershoots below 0 at the smoke's edges
    assert cubic.min() < -0.01
    vmin, vmax, signed = colour_limits([density, cubic])
    assert not signed and vmin == 0.0
    assert vmax == np.percentile(np.abs(np.concatenate([density.ravel(), cubic.ravel()])), 99.5)


def test_a_detail_band_is_signed_and_symmetric():
    rng = np.random.default_rng(1)
    band = rng.normal(0.0, 0.1, (64, 64)) + 0.02  # mostly positive, still a signed field
    vmin, vmax, signed = colour_limits([band])
    assert signed and vmin == -vmax and vmax > 0 and vmax == np.percentile(np.abs(band), 99.5)


def test_the_threshold_is_the_negative_part_s_energy():
    field = np.array([1.0, 1.0, 1.0, -0.5])  # negative energy 0.25 of 3: 8 %
    assert not colour_limits([field])[2]
    assert colour_limits([np.array([1.0, 1.0, -0.6])])[2]  # 0.36 of 2: 18 %
