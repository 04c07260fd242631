"""BigGAN-style residual G and D (Brock, Donahue & Simonyan 2019), small.

G: hierarchical z — z is split into n+1 chunks; the first feeds the linear projection to
(c₀, h₀, w₀), chunk i conditions residual block i together with a shared class
embedding (class-conditional BN). D: residual down-blocks, ReLU, sum pooling, a linear
score plus the projection ⟨embed(y), h⟩. Spectral norm in both. Sample with the
truncation trick (:func:`truncated_normal`).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from fluidgan.gan.architectures.base import (
    DISCRIMINATORS,
    GENERATORS,
    DHead,
    check_conditioning,
    require_halvings,
)
from fluidgan.gan.architectures.dcgan import _attention_level, channels_at
from fluidgan.gan.core import DiscOutput, NetSpec
from fluidgan.gan.layers import ConditionalBatchNorm, SelfAttention, conv, linear


def truncated_normal(
    shape: tuple[int, ...], threshold: float | None, generator: torch.Generator | None = None
) -> Tensor:
    """z ~ N(0, I) with every entry |z_i| > threshold resampled until inside (BigGAN's
    truncation trick; None = plain normal). Smaller thresholds trade variety for quality."""
    z = torch.randn(shape, generator=generator)
    if threshold is None:
        return z
    if threshold <= 0:
        raise ValueError(f"truncation threshold must be > 0, got {threshold}")
    outside = z.abs() > threshold
    while outside.any():
        z[outside] = torch.randn(int(outside.sum()), generator=generator)
        outside = z.abs() > threshold
    return z


def split_z(z_dim: int, chunks: int) -> list[int]:
    """Sizes of the hierarchical-z chunks; the first takes the remainder."""
    if z_dim < chunks:
        raise ValueError(f"z_dim={z_dim} is smaller than the {chunks} chunks it must feed")
    size = z_dim // chunks
    return [z_dim - size * (chunks - 1)] + [size] * (chunks - 1)


class GBlock(nn.Module):
    """cBN -> ReLU -> up ×2 -> conv 3 -> cBN -> ReLU -> conv 3, plus up -> conv 1."""

    def __init__(self, c_in: int, c_out: int, cond_dim: int, sn: bool):
        super().__init__()
        self.bn1 = ConditionalBatchNorm(c_in, cond_dim)
        self.bn2 = ConditionalBatchNorm(c_out, cond_dim)
        self.conv1 = conv(c_in, c_out, 3, sn=sn)
        self.conv2 = conv(c_out, c_out, 3, sn=sn)
        self.skip = conv(c_in, c_out, 1, sn=sn)

    def forward(self, x: Tensor, c: Tensor) -> Tensor:
        h = F.interpolate(F.relu(self.bn1(x, c)), scale_factor=2.0)
        h = self.conv2(F.relu(self.bn2(self.conv1(h), c)))
        return h + self.skip(F.interpolate(x, scale_factor=2.0))


class BigGANGenerator(nn.Module):
    def __init__(self, spec: NetSpec, sn: bool, shared_dim: int, attention: int | None):
        super().__init__()
        self.spec = spec
        n = require_halvings(spec, "biggan")
        att = _attention_level(attention, spec, n, "model.g")
        self.chunks = split_z(spec.z_dim, n + 1)
        self.base = (spec.size[0] // 2**n, spec.size[1] // 2**n)
        self.shared = nn.Embedding(spec.num_classes, shared_dim) if spec.labelled else None
        cond_dim = self.chunks[1] + (shared_dim if spec.labelled else 0)
        c0 = channels_at(n, spec.width)
        self.project = linear(self.chunks[0], c0 * math.prod(self.base), sn=sn)
        self.blocks = nn.ModuleList()
        self.attention = nn.ModuleDict()
        for level in range(n, 0, -1):
            c_out = channels_at(level - 1, spec.width)
            self.blocks.append(GBlock(channels_at(level, spec.width), c_out, cond_dim, sn))
            if att == level - 1:
                self.attention[str(len(self.blocks) - 1)] = SelfAttention(c_out, sn=sn)
        self.out = nn.Sequential(
            nn.BatchNorm2d(spec.width),
            nn.ReLU(),
            conv(spec.width, spec.channels, 3, sn=sn),
            nn.Tanh(),
        )

    def forward(self, z: Tensor, y: Tensor | None = None) -> Tensor:
        zs = torch.split(z, self.chunks, dim=1)
        h = self.project(zs[0]).view(z.shape[0], -1, *self.base)
        shared = [self.shared(y)] if self.shared is not None else []
        for i, block in enumerate(self.blocks):
            h = block(h, torch.cat([zs[i + 1], *shared], 1))
            if str(i) in self.attention:
                h = self.attention[str(i)](h)
        return self.out(h)


class DBlock(nn.Module):
    """[ReLU ->] conv 3 -> ReLU -> conv 3 -> avg-pool 2, plus conv 1 -> avg-pool 2."""

    def __init__(self, c_in: int, c_out: int, sn: bool, preactivation: bool):
        super().__init__()
        self.preactivation = preactivation
        self.conv1 = conv(c_in, c_out, 3, sn=sn)
        self.conv2 = conv(c_out, c_out, 3, sn=sn)
        self.skip = conv(c_in, c_out, 1, sn=sn)

    def forward(self, x: Tensor) -> Tensor:
        h = F.relu(x) if self.preactivation else x
        h = self.conv2(F.relu(self.conv1(h)))
        return F.avg_pool2d(h, 2) + F.avg_pool2d(self.skip(x), 2)


class BigGANDiscriminator(nn.Module):
    def __init__(self, spec: NetSpec, sn: bool, attention: int | None):
        super().__init__()
        self.num_classes = spec.num_classes if spec.labelled else 0
        n = require_halvings(spec, "biggan")
        att = _attention_level(attention, spec, n, "model.d")
        self.blocks = nn.ModuleList()
        c_in = spec.channels
        for level in range(1, n + 1):
            c_out = channels_at(level, spec.width)
            self.blocks.append(DBlock(c_in, c_out, sn, preactivation=level > 1))
            if att == level:
                self.blocks.append(SelfAttention(c_out, sn=sn))
            c_in = c_out
        self.head = DHead(c_in, spec, sn=sn)

    def forward(self, x: Tensor, y: Tensor | None = None) -> DiscOutput:
        features, h = [], x
        for block in self.blocks:
            h = block(h)
            features.append(h)
        pooled = F.relu(h).sum(dim=(2, 3))  # sum pooling, as in BigGAN / SNGAN
        return self.head(pooled, y, features)


@GENERATORS.register("biggan")
def biggan_generator(
    spec: NetSpec,
    *,
    sn: bool = True,
    shared_dim: int = 32,
    attention: int | None = None,
) -> nn.Module:
    """shared_dim: size of the class embedding shared by all conditional BN layers.
    attention: feature-map height after which to add self-attention (None = off)."""
    check_conditioning(spec, "biggan", ("none", "projection", "acgan"))
    return BigGANGenerator(spec, sn, shared_dim, attention)


@DISCRIMINATORS.register("biggan")
def biggan_discriminator(
    spec: NetSpec, *, sn: bool = True, attention: int | None = None
) -> nn.Module:
    check_conditioning(spec, "biggan", ("none", "projection", "acgan"))
    return BigGANDiscriminator(spec, sn, attention)
