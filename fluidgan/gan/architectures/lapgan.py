"""LAPGAN (Denton, Chintala, Szlam & Fergus 2015): a Laplacian pyramid of generators.

Level 0 is an ordinary GAN at the coarsest size. Level k > 0 generates the band-pass
residual h_k = I_k - u(I_{k-1}) from noise and the upsampled coarser image u(I_{k-1});
its discriminator sees (h_k, u(I_{k-1})). Sampling walks up the pyramid:
I_k = u(I_{k-1}) + G_k(z_k, u(I_{k-1})). Down = 2×2 average, up = bilinear ×2.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from fluidgan.errors import UserError
from fluidgan.gan.architectures.base import halvings
from fluidgan.gan.core import DiscOutput, NetSpec
from fluidgan.gan.layers import conv, linear


def downsample(x: Tensor) -> Tensor:
    return F.avg_pool2d(x, 2)


def upsample(x: Tensor) -> Tensor:
    return F.interpolate(x, scale_factor=2.0, mode="bilinear", align_corners=False)


def laplacian_pyramid(x: Tensor, levels: int) -> tuple[Tensor, list[Tensor], list[Tensor]]:
    """(coarsest image I_0, residuals [h_1..h_L], upsampled coarse images [u(I_0)..])
    with x = I_L; reconstruct by I_k = u(I_{k-1}) + h_k."""
    gaussian = [x]
    for _ in range(levels - 1):
        gaussian.insert(0, downsample(gaussian[0]))
    coarse = [upsample(g) for g in gaussian[:-1]]
    residuals = [g - c for g, c in zip(gaussian[1:], coarse, strict=True)]
    return gaussian[0], residuals, coarse


def check_levels(size: tuple[int, int], levels: int) -> None:
    if levels < 2 or halvings(size, min_side=2) < levels - 1:
        raise UserError(
            f"model.game_options.levels={levels}: a {size[0]}x{size[1]} image "
            f"cannot be halved {levels - 1} times (need levels ≥ 2)"
        )


class ResidualGenerator(nn.Module):
    """(noise plane, u(I_{k-1})) -> conv 3 stack (BN, ReLU) -> residual (B, C, H, W)."""

    def __init__(self, spec: NetSpec, layers: int = 3):
        super().__init__()
        w = spec.width
        body: list[nn.Module] = []
        for i in range(layers):
            body += [conv(spec.channels + 1 if i == 0 else w, w, 3), nn.BatchNorm2d(w), nn.ReLU()]
        self.net = nn.Sequential(*body, conv(w, spec.channels, 3))

    def forward(self, z: Tensor, coarse: Tensor) -> Tensor:
        """z: (B, 1, H, W) noise plane."""
        return self.net(torch.cat([z, coarse], 1))


class ResidualDiscriminator(nn.Module):
    """(h_k, u(I_{k-1})) -> conv 3 -> [conv 4 stride 2] x n -> linear score."""

    def __init__(self, spec: NetSpec):
        super().__init__()
        self.num_classes = 0
        w = spec.width
        n = min(halvings(spec.size), 2)
        layers: list[nn.Module] = [conv(2 * spec.channels, w, 3), nn.LeakyReLU(0.2)]
        for _ in range(n):
            layers += [conv(w, w, 4, 2), nn.LeakyReLU(0.2)]
        self.body = nn.Sequential(*layers)
        self.score = linear(w * math.prod(s // 2**n for s in spec.size), 1)

    def forward(self, h: Tensor, coarse: Tensor) -> DiscOutput:
        f = self.body(torch.cat([h, coarse], 1)).flatten(1)
        return DiscOutput(self.score(f).squeeze(1), [f], embedding=f)
