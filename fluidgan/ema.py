"""Exponential moving average of generator weights (Karras et al. 2018; Yazıcı et al. 2019;
BigGAN samples from it), used by both trainers (tempoGAN's ``ema_decay``, the GAN zoo's
``train.ema_decay``).

After each iteration's generator updates, θ̄ ← β θ̄ + (1 - β) θ, in the parameters' own
precision (float32: autocast does not reach it); before ``ema_start`` iterations, θ̄ ← θ.
"""

from __future__ import annotations

import copy

import torch
from torch import nn


def make_ema(model: nn.Module) -> nn.Module:
    """A frozen copy of ``model`` to hold the averaged weights."""
    ema = copy.deepcopy(model)
    for p in ema.parameters():
        p.requires_grad_(False)
    return ema


@torch.no_grad()
def update_ema_(ema: nn.Module, model: nn.Module, decay: float) -> None:
    """θ̄ ← β θ̄ + (1 - β) θ for every parameter; buffers (BN statistics, spectral-norm
    vectors) are copied, they are not trained. decay=0 copies the weights."""
    for p_ema, p in zip(ema.parameters(), model.parameters(), strict=True):
        p_ema.lerp_(p, 1.0 - decay)
    for b_ema, b in zip(ema.buffers(), model.buffers(), strict=True):
        b_ema.copy_(b)


def ema_decay(step: int, decay: float, start: int) -> float:
    """The decay to use at ``step``: 0 (plain copy) before ``start``, then ``decay``."""
    return 0.0 if step < start else decay
