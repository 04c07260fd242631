"""The EMA of G's weights, shared with the tempoGAN trainer: see :mod:`fluidgan.ema`."""

from fluidgan.ema import ema_decay, make_ema, update_ema_

__all__ = ["ema_decay", "make_ema", "update_ema_"]
