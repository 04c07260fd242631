"""Neural networks: the tempoGAN generator and discriminators."""

from fluidgan.models.tempogan import (
    Discriminator,
    Generator,
    SpatialDiscriminator,
    TemporalDiscriminator,
    conv_parameter_count,
    init_weights,
    paper_widths,
)

__all__ = [
    "Discriminator",
    "Generator",
    "SpatialDiscriminator",
    "TemporalDiscriminator",
    "conv_parameter_count",
    "init_weights",
    "paper_widths",
]
