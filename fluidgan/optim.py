"""Optimisers by name, for every trainer: ``OPTIMIZERS.get(name)(params, lr, betas)``.

``betas`` are Adam's (β₁, β₂); RMSprop ignores them and SGD takes β₁ as its momentum, so
one config table serves all three.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import torch

from fluidgan.registry import Registry

Factory = Callable[
    [Iterable[torch.nn.Parameter], float, tuple[float, float]], torch.optim.Optimizer
]

OPTIMIZERS: Registry[Factory] = Registry("optimiser")


@OPTIMIZERS.register("adam")
def adam(params, lr: float, betas: tuple[float, float]) -> torch.optim.Optimizer:
    return torch.optim.Adam(params, lr=lr, betas=betas)


@OPTIMIZERS.register("rmsprop")
def rmsprop(params, lr: float, betas: tuple[float, float]) -> torch.optim.Optimizer:
    return torch.optim.RMSprop(params, lr=lr)


@OPTIMIZERS.register("sgd")
def sgd(params, lr: float, betas: tuple[float, float]) -> torch.optim.Optimizer:
    return torch.optim.SGD(params, lr=lr, momentum=betas[0])
