"""DCGAN (Radford et al. 2016) and its SAGAN variant (Zhang et al. 2019).

G: z -> linear -> (c₀, h₀, w₀) -> [transposed conv 4, stride 2 -> norm -> ReLU] x n ->
conv 3 -> tanh. D: [conv 4, stride 2 -> norm (none on the first) -> LeakyReLU 0.2] x n ->
flatten -> head. n is how many times the image halves to ≥ 4 pixels; channels double per
halving from ``width`` at full resolution (capped at 8·width). SAGAN adds self-attention
at one resolution and spectral norm in G and D.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from torch import Tensor, nn

from fluidgan.errors import UserError
from fluidgan.gan.architectures.base import (
    DISCRIMINATORS,
    GENERATORS,
    DHead,
    check_norm,
    generator_input,
    label_channels,
    label_maps,
    norm_layer,
    require_halvings,
    with_reference_batch,
)
from fluidgan.gan.core import DiscOutput, NetSpec
from fluidgan.gan.layers import SelfAttention, conv, conv_transpose, linear


def channels_at(level: int, width: int) -> int:
    """Channels after ``level`` halvings of the full-resolution image."""
    return width * min(2**level, 8)


def _attention_level(attention: int | None, spec: NetSpec, n: int, family: str) -> int | None:
    """The number of halvings at which the image height equals ``attention``."""
    if attention is None:
        return None
    for level in range(n + 1):
        if spec.size[0] // 2**level == attention:
            return level
    valid = [spec.size[0] // 2**k for k in range(n + 1)]
    raise UserError(
        f"{family}: attention={attention} is not a feature-map height; "
        f"valid: {', '.join(map(str, valid))}"
    )


class DCGANGenerator(nn.Module):
    def __init__(self, spec: NetSpec, norm: str, n_ref: int, sn: bool, attention: int | None):
        super().__init__()
        self.spec = spec
        n = require_halvings(spec, "dcgan")
        att = _attention_level(attention, spec, n, "model.g")
        self.base = (spec.size[0] // 2**n, spec.size[1] // 2**n)
        c0 = channels_at(n, spec.width)
        n_in = spec.z_dim + (spec.num_classes if spec.labelled else 0)
        self.project = linear(n_in, c0 * math.prod(self.base), sn=sn)
        layers: list[nn.Module] = [norm_layer(norm, c0, n_ref=n_ref), nn.ReLU()]
        for level in range(n, 0, -1):
            c_in, c_out = channels_at(level, spec.width), channels_at(level - 1, spec.width)
            layers += [
                conv_transpose(c_in, c_out, sn=sn),
                norm_layer(norm, c_out, n_ref=n_ref),
                nn.ReLU(),
            ]
            if att == level - 1:
                layers.append(SelfAttention(c_out, sn=sn))
        layers += [conv(spec.width, spec.channels, 3, sn=sn), nn.Tanh()]
        self.net = nn.Sequential(*layers)

    def forward(self, z: Tensor, y: Tensor | None = None) -> Tensor:
        h = self.project(generator_input(z, y, self.spec))
        return self.net(h.view(h.shape[0], -1, *self.base))


class DCGANDiscriminator(nn.Module):
    def __init__(self, spec: NetSpec, norm: str, sn: bool, attention: int | None, minibatch: int):
        super().__init__()
        self.spec = spec
        self.num_classes = spec.num_classes if spec.labelled else 0
        n = require_halvings(spec, "dcgan")
        att = _attention_level(attention, spec, n, "model.d")
        self.blocks = nn.ModuleList()
        c_in = spec.channels + label_channels(spec)
        for level in range(1, n + 1):
            c_out = channels_at(level, spec.width)
            block = [
                conv(c_in, c_out, 4, 2, sn=sn),
                norm_layer(norm if level > 1 else "none", c_out),
                nn.LeakyReLU(0.2),
            ]
            if att == level:
                block.append(SelfAttention(c_out, sn=sn))
            self.blocks.append(nn.Sequential(*block))
            c_in = c_out
        n_features = c_in * math.prod(s // 2**n for s in spec.size)
        self.head = DHead(n_features, spec, sn=sn, minibatch_kernels=minibatch)

    def forward(self, x: Tensor, y: Tensor | None = None) -> DiscOutput:
        h = label_maps(x, y, self.spec)
        features = []
        for block in self.blocks:
            h = block(h)
            features.append(h)
        return self.head(h.flatten(1), y, features)


@GENERATORS.register("dcgan")
def dcgan_generator(
    spec: NetSpec,
    *,
    norm: str = "batch",
    n_ref: int = 32,
    sn: bool = False,
    attention: int | None = None,
) -> nn.Module:
    """norm: batch | virtual (ImprovedGAN's VBN, ``n_ref`` reference samples) | none.
    attention: feature-map height after which to add self-attention (None = off)."""
    check_norm(norm, "model.g.norm", ("batch", "virtual", "none"))
    return with_reference_batch(DCGANGenerator(spec, norm, n_ref, sn, attention), spec, norm, n_ref)


@DISCRIMINATORS.register("dcgan")
def dcgan_discriminator(
    spec: NetSpec,
    *,
    norm: str = "batch",
    sn: bool = False,
    attention: int | None = None,
    minibatch: int = 0,
) -> nn.Module:
    """norm: batch | layer | instance | none (WGAN-GP critics must not use batch norm).
    minibatch: minibatch-discrimination kernels before the score (0 = off)."""
    check_norm(norm, "model.d.norm", ("batch", "layer", "instance", "none"))
    return DCGANDiscriminator(spec, norm, sn, attention, minibatch)


def _middle_height(spec: NetSpec) -> int:
    """SAGAN's default attention resolution: the map after one halving."""
    return spec.size[0] // 2


def _sagan(dcgan_builder: Callable[..., nn.Module], default_norm: str, doc: str) -> Callable:
    """A SAGAN builder: ``dcgan_builder`` with spectral norm on and self-attention at
    ``attention`` (default: the map after one halving)."""

    def build(
        spec: NetSpec, *, norm: str = default_norm, sn: bool = True, attention: int | None = None
    ) -> nn.Module:
        return dcgan_builder(spec, norm=norm, sn=sn, attention=attention or _middle_height(spec))

    build.__doc__ = doc
    return build


sagan_generator = GENERATORS.register("sagan")(
    _sagan(dcgan_generator, "batch", "DCGAN G with spectral norm and self-attention.")
)
sagan_discriminator = DISCRIMINATORS.register("sagan")(
    _sagan(dcgan_discriminator, "none", "DCGAN D with spectral norm, self-attention, no BN.")
)
