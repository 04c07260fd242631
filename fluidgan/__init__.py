"""fluidgan: fluid super-resolution with tempoGAN, a Numba smoke solver and image GANs."""

__version__ = "0.1.0"
