"""Image-to-image mappings for the two-mapping models, and the PatchGAN critic.

resnet          CycleGAN (Zhu et al. 2017): conv 7 -> 2 stride-2 downs -> residual blocks
                -> 2 transposed-conv ups -> conv 7 -> tanh, instance norm.
unet            DualGAN (Yi et al. 2017): stride-2 encoder, transposed-conv decoder with
                skip connections (U-Net), batch norm.
encoder_decoder DiscoGAN (Kim et al. 2017): the same encoder/decoder without skips.
patch (D)       PatchGAN: a fully convolutional critic scoring overlapping patches,
                score (B, h, w).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from fluidgan.gan.architectures.base import (
    DISCRIMINATORS,
    TRANSLATORS,
    check_conditioning,
    check_norm,
    norm_layer,
    require_halvings,
)
from fluidgan.gan.architectures.dcgan import channels_at
from fluidgan.gan.core import DiscOutput, NetSpec
from fluidgan.gan.layers import conv, conv_transpose


class ResidualBlock(nn.Module):
    def __init__(self, c: int, norm: str):
        super().__init__()
        self.body = nn.Sequential(
            conv(c, c, 3), norm_layer(norm, c), nn.ReLU(), conv(c, c, 3), norm_layer(norm, c)
        )

    def forward(self, x: Tensor) -> Tensor:
        return x + self.body(x)


class ResnetTranslator(nn.Module):
    def __init__(self, spec: NetSpec, blocks: int, norm: str):
        super().__init__()
        n = require_halvings(spec, "resnet translator", most=2)
        w = spec.width
        layers: list[nn.Module] = [conv(spec.channels, w, 7), norm_layer(norm, w), nn.ReLU()]
        for level in range(1, n + 1):
            c_in, c_out = channels_at(level - 1, w), channels_at(level, w)
            layers += [conv(c_in, c_out, 3, 2), norm_layer(norm, c_out), nn.ReLU()]
        layers += [ResidualBlock(channels_at(n, w), norm) for _ in range(blocks)]
        for level in range(n, 0, -1):
            c_in, c_out = channels_at(level, w), channels_at(level - 1, w)
            layers += [conv_transpose(c_in, c_out), norm_layer(norm, c_out), nn.ReLU()]
        layers += [conv(w, spec.channels, 7), nn.Tanh()]
        self.net = nn.Sequential(*layers)

    def forward(self, x: Tensor, y: Tensor | None = None) -> Tensor:
        return self.net(x)


class EncoderDecoder(nn.Module):
    """Stride-2 conv encoder and transposed-conv decoder; U-Net skips when ``skips``."""

    def __init__(self, spec: NetSpec, skips: bool, depth: int | None, norm: str):
        super().__init__()
        self.skips = skips
        n = require_halvings(spec, "encoder-decoder translator", most=depth)
        w = spec.width
        self.down = nn.ModuleList()
        for level in range(1, n + 1):
            c_in = spec.channels if level == 1 else channels_at(level - 1, w)
            self.down.append(
                nn.Sequential(
                    conv(c_in, channels_at(level, w), 4, 2),
                    norm_layer(norm if level > 1 else "none", channels_at(level, w)),
                    nn.LeakyReLU(0.2),
                )
            )
        self.up = nn.ModuleList()
        for level in range(n, 0, -1):
            c_in = channels_at(level, w) * (2 if skips and level < n else 1)
            last = level == 1
            c_out = spec.channels if last else channels_at(level - 1, w)
            self.up.append(
                nn.Sequential(conv_transpose(c_in, c_out))
                if last
                else nn.Sequential(conv_transpose(c_in, c_out), norm_layer(norm, c_out), nn.ReLU())
            )

    def forward(self, x: Tensor, y: Tensor | None = None) -> Tensor:
        skips = []
        for block in self.down:
            x = block(x)
            skips.append(x)
        skips.pop()  # the bottom map is the decoder's input, not a skip
        for i, block in enumerate(self.up):
            if self.skips and i > 0:
                x = torch.cat([x, skips.pop()], 1)
            x = block(x)
        return torch.tanh(x)


@TRANSLATORS.register("resnet")
def resnet_translator(spec: NetSpec, *, blocks: int = 3, norm: str = "instance") -> nn.Module:
    check_norm(norm, "model.g.norm", ("batch", "instance", "none"))
    return ResnetTranslator(spec, blocks, norm)


@TRANSLATORS.register("unet")
def unet_translator(spec: NetSpec, *, depth: int | None = None, norm: str = "batch") -> nn.Module:
    """depth: number of halvings (default: all down to ≥ 4 pixels)."""
    check_norm(norm, "model.g.norm", ("batch", "instance", "none"))
    return EncoderDecoder(spec, True, depth, norm)


@TRANSLATORS.register("encoder_decoder")
def encoder_decoder_translator(
    spec: NetSpec, *, depth: int | None = None, norm: str = "batch"
) -> nn.Module:
    check_norm(norm, "model.g.norm", ("batch", "instance", "none"))
    return EncoderDecoder(spec, False, depth, norm)


class PatchDiscriminator(nn.Module):
    def __init__(self, spec: NetSpec, layers: int, norm: str, sn: bool):
        super().__init__()
        self.num_classes = 0
        n = require_halvings(spec, "patch", most=layers)
        w = spec.width
        self.blocks = nn.ModuleList()
        c_in = spec.channels
        for level in range(1, n + 1):
            c_out = channels_at(level, w)
            self.blocks.append(
                nn.Sequential(
                    conv(c_in, c_out, 4, 2, sn=sn),
                    norm_layer(norm if level > 1 else "none", c_out),
                    nn.LeakyReLU(0.2),
                )
            )
            c_in = c_out
        self.score = conv(c_in, 1, 3, sn=sn)

    def forward(self, x: Tensor, y: Tensor | None = None) -> DiscOutput:
        features = []
        for block in self.blocks:
            x = block(x)
            features.append(x)
        return DiscOutput(self.score(x).squeeze(1), features, embedding=x.flatten(1))


@DISCRIMINATORS.register("patch")
def patch_discriminator(
    spec: NetSpec, *, layers: int = 3, norm: str = "instance", sn: bool = False
) -> nn.Module:
    """PatchGAN: ``layers`` stride-2 convs, then a conv 3 to one score per patch."""
    check_conditioning(spec, "patch", ("none",))
    check_norm(norm, "model.d.norm", ("batch", "instance", "layer", "none"))
    return PatchDiscriminator(spec, layers, norm, sn)
