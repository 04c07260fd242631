"""IcGAN's encoder (Perarnau et al. 2016): x -> (z, y) so a trained cGAN can edit real
images, x' = G(E_z(x), y') with a changed condition y'."""

from __future__ import annotations

import math

from torch import Tensor, nn

from fluidgan.gan.architectures.base import require_halvings
from fluidgan.gan.architectures.dcgan import channels_at
from fluidgan.gan.core import NetSpec
from fluidgan.gan.layers import conv, linear


class Encoder(nn.Module):
    """Stride-2 conv body (BN, LeakyReLU) with two heads: E_z (B, z_dim), E_y (B, K)."""

    def __init__(self, spec: NetSpec):
        super().__init__()
        n = require_halvings(spec, "icgan encoder")
        layers: list[nn.Module] = []
        c_in = spec.channels
        for level in range(1, n + 1):
            c_out = channels_at(level, spec.width)
            layers += [conv(c_in, c_out, 4, 2), nn.BatchNorm2d(c_out), nn.LeakyReLU(0.2)]
            c_in = c_out
        self.body = nn.Sequential(*layers, nn.Flatten())
        n_features = c_in * math.prod(s // 2**n for s in spec.size)
        self.z = linear(n_features, spec.z_dim)
        self.y = linear(n_features, spec.num_classes)

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """-> (z estimate (B, z_dim), class logits (B, K))."""
        h = self.body(x)
        return self.z(h), self.y(h)
