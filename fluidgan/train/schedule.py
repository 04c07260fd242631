"""Learning-rate schedule of tempoGAN: constant, then polynomial decay to a floor.

The reference feeds ``max(0, k - N/2)`` as the global step of TensorFlow's
``polynomial_decay(lr, step, N/2, 0.05 lr, power=1.1)``; :class:`ConstantThenPolynomial`
is that curve as a multiple of the base rate.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass
class ConstantThenPolynomial:
    """η(k)/η_0 at 0-based iteration k of ``total`` N; a picklable ``lr_lambda`` for
    :class:`torch.optim.lr_scheduler.LambdaLR` whose fields travel in its state dict.

    1 for k < k_0 = ⌊decay_start·N⌋, then (1 - final)·(1 - (k - k_0)/(N - k_0))^power + final,
    reaching ``final`` at k = N and staying there after.
    """

    total: int
    decay_start: float = 0.5
    final: float = 0.05
    power: float = 1.1

    def __call__(self, iteration: int) -> float:
        start = int(self.decay_start * self.total)
        span = max(self.total - start, 1)
        progress = min(max(iteration - start, 0), span) / span
        return (1.0 - self.final) * (1.0 - progress) ** self.power + self.final


def lr_factor(iteration: int, total: int, **shape: float) -> float:
    """η(k)/η_0 of :class:`ConstantThenPolynomial` (``shape``: decay_start, final, power)."""
    return ConstantThenPolynomial(total, **shape)(iteration)


def make_scheduler(
    optimizer: torch.optim.Optimizer, total: int, decay_start: float, final: float, power: float
) -> torch.optim.lr_scheduler.LambdaLR:
    """Step it once per training iteration (after all of that iteration's updates)."""
    rule = ConstantThenPolynomial(total, decay_start, final, power)
    return torch.optim.lr_scheduler.LambdaLR(optimizer, rule)
