"""The image GAN zoo: registered losses, regularisers, layers, networks and games that a
config combines, and one training loop (:mod:`fluidgan.gan.trainer`).

    from fluidgan.gan.losses import get_loss
    loss = get_loss("nsgan")           # tempoGAN's default: BCE on logits
    loss.d_loss(real_logits, fake_logits), loss.g_loss(fake_logits)

Modules: core (registry, shared types), losses, regularizers, layers, ema,
architectures (network families), games (how networks play), data, config, trainer,
sample.
"""

from __future__ import annotations

from fluidgan.gan.losses import LOSSES, Loss, get_loss
from fluidgan.gan.regularizers import REGULARIZERS

__all__ = ["LOSSES", "REGULARIZERS", "Loss", "get_loss"]
