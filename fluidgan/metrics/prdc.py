"""Improved precision and recall (Kynkäänniemi et al. 2019) with k-NN manifolds.

Each set's manifold is the union of balls around its samples, radius = distance to the
k-th nearest neighbour within the set (itself excluded). Precision: the fraction of fake
samples inside the real manifold (quality); recall: the fraction of real samples inside
the fake manifold (coverage of the real distribution).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

_CHUNK = 1024  # rows of the distance matrix held at once


@dataclass(frozen=True)
class PRResult:
    precision: float
    recall: float
    k: int


def _distances(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return torch.cdist(a, b, compute_mode="donot_use_mm_for_euclid_dist")


def knn_radii(x: torch.Tensor, k: int) -> torch.Tensor:
    """(N,) distance from each sample to its k-th nearest other sample."""
    if x.shape[0] <= k:
        raise ValueError(f"k = {k} nearest neighbours need more than {k} samples, got {x.shape[0]}")
    # k + 1 smallest distances include the sample itself at distance 0
    return torch.cat([_distances(c, x).kthvalue(k + 1, dim=1).values for c in x.split(_CHUNK)])


def inside_manifold(
    points: torch.Tensor, centres: torch.Tensor, radii: torch.Tensor
) -> torch.Tensor:
    """(M,) bool: whether each point lies in some ball (centre_i, radius_i)."""
    return torch.cat([(_distances(c, centres) <= radii).any(dim=1) for c in points.split(_CHUNK)])


def precision_recall(real: np.ndarray, fake: np.ndarray, k: int = 3) -> PRResult:
    """Improved precision/recall of (N_r, D) real vs (N_f, D) fake features."""
    r = torch.from_numpy(np.asarray(real, np.float64))
    f = torch.from_numpy(np.asarray(fake, np.float64))
    precision = inside_manifold(f, r, knn_radii(r, k)).double().mean().item()
    recall = inside_manifold(r, f, knn_radii(f, k)).double().mean().item()
    return PRResult(precision, recall, k)
