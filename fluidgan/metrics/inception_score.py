"""Inception Score (Salimans et al. 2016): IS = exp E_x KL(p(y|x) ‖ p(y)), over splits.

As in the original code: softmax of the bias-free logits, the N samples cut into
``splits`` consecutive parts (part i = samples [i N / s, (i + 1) N / s)), p(y) the mean
prediction within a part, and the mean and standard deviation of the per-part scores.
Computed in float64 from log-softmax, so confident predictions do not produce 0 · log 0.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import log_softmax, logsumexp


@dataclass(frozen=True)
class ISResult:
    """Mean and (population) standard deviation of the per-split scores."""

    mean: float
    std: float
    splits: int
    n: int


def split_score(log_p: np.ndarray) -> float:
    """exp mean_x KL(p(y|x) ‖ p(y)) for one part; ``log_p``: (n, K) log-probabilities."""
    log_py = logsumexp(log_p, axis=0) - np.log(log_p.shape[0])  # log of the mean prediction
    kl = (np.exp(log_p) * (log_p - log_py)).sum(axis=1)
    return float(np.exp(kl.mean()))


def inception_score(logits: np.ndarray, splits: int = 10) -> ISResult:
    """IS of (N, K) classifier logits, N >= splits."""
    log_p = log_softmax(np.asarray(logits, np.float64), axis=1)
    n = log_p.shape[0]
    if n < splits:
        raise ValueError(f"IS with {splits} splits needs at least {splits} samples, got {n}")
    bounds = [(i * n // splits, (i + 1) * n // splits) for i in range(splits)]
    scores = np.array([split_score(log_p[a:b]) for a, b in bounds])
    return ISResult(float(scores.mean()), float(scores.std()), splits, n)
