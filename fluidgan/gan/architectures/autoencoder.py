"""Autoencoder discriminator of EBGAN (Zhao et al. 2017) and BEGAN (Berthelot et al. 2017).

D(x) is an energy: the per-sample reconstruction error of x through a small conv
autoencoder, mean over pixels of (x - Dec(Enc(x)))² ('l2', EBGAN) or |x - Dec(Enc(x))|
('l1', BEGAN). The code Enc(x) is the embedding the pulling-away term looks at.
"""

from __future__ import annotations

import math

import torch.nn.functional as F
from torch import Tensor, nn

from fluidgan.gan.architectures.base import (
    DISCRIMINATORS,
    check_conditioning,
    check_norm,
    require_halvings,
)
from fluidgan.gan.architectures.dcgan import channels_at
from fluidgan.gan.core import DISTANCES, DiscOutput, NetSpec
from fluidgan.gan.layers import conv, linear


class AutoencoderDiscriminator(nn.Module):
    def __init__(self, spec: NetSpec, code_dim: int, distance: str):
        super().__init__()
        self.num_classes = 0
        self.distance = distance
        n = require_halvings(spec, "autoencoder")
        self.base = (spec.size[0] // 2**n, spec.size[1] // 2**n)
        c_bottom = channels_at(n, spec.width)
        enc: list[nn.Module] = [conv(spec.channels, spec.width, 3), nn.ELU()]
        for level in range(1, n + 1):
            enc += [
                conv(channels_at(level - 1, spec.width), channels_at(level, spec.width), 4, 2),
                nn.ELU(),
            ]
        self.encoder = nn.Sequential(
            *enc, nn.Flatten(), linear(c_bottom * math.prod(self.base), code_dim)
        )
        self.expand = linear(code_dim, c_bottom * math.prod(self.base))
        dec: list[nn.Module] = []
        for level in range(n, 0, -1):
            dec += [
                nn.Upsample(scale_factor=2.0),
                conv(channels_at(level, spec.width), channels_at(level - 1, spec.width), 3),
                nn.ELU(),
            ]
        self.decoder = nn.Sequential(*dec, conv(spec.width, spec.channels, 3))

    def forward(self, x: Tensor, y: Tensor | None = None) -> DiscOutput:
        code = self.encoder(x)
        h = self.expand(code).view(x.shape[0], -1, *self.base)
        recon = self.decoder(F.elu(h))
        err = DISTANCES[self.distance](recon, x)
        return DiscOutput(err.flatten(1).mean(1), features=[code], embedding=code)


@DISCRIMINATORS.register("autoencoder")
def autoencoder_discriminator(
    spec: NetSpec, *, code_dim: int = 64, distance: str = "l2"
) -> nn.Module:
    """distance: l2 (EBGAN's MSE energy) or l1 (BEGAN's L(v) = |v - D(v)|)."""
    check_conditioning(spec, "autoencoder", ("none",))
    check_norm(distance, "model.d.distance", DISTANCES)
    return AutoencoderDiscriminator(spec, code_dim, distance)
