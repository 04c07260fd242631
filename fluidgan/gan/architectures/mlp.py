"""Fully connected G and D (Goodfellow et al. 2014); any image size."""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from fluidgan.gan.architectures.base import (
    DISCRIMINATORS,
    GENERATORS,
    DHead,
    check_norm,
    generator_input,
    norm_layer,
    with_reference_batch,
)
from fluidgan.gan.core import DiscOutput, NetSpec, one_hot
from fluidgan.gan.layers import linear


class MLPGenerator(nn.Module):
    def __init__(self, spec: NetSpec, hidden: int, layers: int, norm: str, n_ref: int, sn: bool):
        super().__init__()
        self.spec = spec
        n_in = spec.z_dim + (spec.num_classes if spec.labelled else 0)
        blocks: list[nn.Module] = []
        for i in range(layers):
            blocks += [
                linear(n_in if i == 0 else hidden, hidden, sn=sn),
                norm_layer(norm, hidden, flat=True, n_ref=n_ref),
                nn.ReLU(),
            ]
        n_out = spec.channels * math.prod(spec.size)
        self.net = nn.Sequential(*blocks, linear(hidden, n_out, sn=sn), nn.Tanh())

    def forward(self, z: Tensor, y: Tensor | None = None) -> Tensor:
        x = self.net(generator_input(z, y, self.spec))
        return x.view(-1, self.spec.channels, *self.spec.size)


@GENERATORS.register("mlp")
def mlp_generator(
    spec: NetSpec,
    *,
    hidden: int = 256,
    layers: int = 2,
    norm: str = "batch",
    n_ref: int = 32,
    sn: bool = False,
) -> nn.Module:
    """z[, one-hot y] -> [linear -> norm -> ReLU] x layers -> linear -> tanh."""
    check_norm(norm, "model.g.norm", ("batch", "virtual", "layer", "none"))
    net = MLPGenerator(spec, hidden, layers, norm, n_ref, sn)
    return with_reference_batch(net, spec, norm, n_ref)


class MLPDiscriminator(nn.Module):
    def __init__(self, spec: NetSpec, hidden: int, layers: int, sn: bool, minibatch: int):
        super().__init__()
        self.spec = spec
        self.num_classes = spec.num_classes if spec.labelled else 0
        n_in = spec.channels * math.prod(spec.size)
        n_in += spec.num_classes if spec.conditional == "concat" else 0
        self.layers = nn.ModuleList(
            linear(n_in if i == 0 else hidden, hidden, sn=sn) for i in range(layers)
        )
        self.act = nn.LeakyReLU(0.2)
        self.head = DHead(hidden, spec, sn=sn, minibatch_kernels=minibatch)

    def forward(self, x: Tensor, y: Tensor | None = None) -> DiscOutput:
        h = x.flatten(1)
        if self.spec.conditional == "concat":
            h = torch.cat([h, one_hot(y, self.spec.num_classes)], 1)
        features = []
        for layer in self.layers:
            h = self.act(layer(h))
            features.append(h)
        return self.head(h, y, features)


@DISCRIMINATORS.register("mlp")
def mlp_discriminator(
    spec: NetSpec,
    *,
    hidden: int = 256,
    layers: int = 2,
    sn: bool = False,
    minibatch: int = 0,
) -> nn.Module:
    """x[, one-hot y] -> [linear -> LeakyReLU 0.2] x layers -> head.
    minibatch: number of minibatch-discrimination kernels before the score (0 = off)."""
    return MLPDiscriminator(spec, hidden, layers, sn, minibatch)
