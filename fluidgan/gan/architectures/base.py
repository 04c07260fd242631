"""Registries of networks and the pieces every family shares: how many times an image
halves, how labels enter G and D, normalisation choices, the discriminator head.

Generators are ``G(z, y=None) -> (B, C, H, W)`` in [-1, 1]; translators (cycle models)
``T(x, y=None) -> (B, C, H, W)``; discriminators ``D(x, y=None) -> DiscOutput``.
A builder is ``build(spec: NetSpec, **options) -> nn.Module``; options come from the
config's ``model.g`` / ``model.d`` tables and are checked against the signature.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import Tensor, nn

from fluidgan.errors import UserError
from fluidgan.gan.core import DiscOutput, NetSpec, Registry, one_hot
from fluidgan.gan.layers import (
    MinibatchDiscrimination,
    VirtualBatchNorm,
    WithReferenceBatch,
    linear,
    maybe_sn,
)

Builder = Callable[..., nn.Module]
GENERATORS: Registry[Builder] = Registry("generator")
DISCRIMINATORS: Registry[Builder] = Registry("discriminator")
TRANSLATORS: Registry[Builder] = Registry("translator")

#: Normalisations ``(channels, flat, n_ref) -> module`` for (B, C, H, W) activations, or
#: (B, C) ones when ``flat``; a family accepts the subset it passes to :func:`check_norm`.
NORMS: Registry[Callable[[int, bool, int], nn.Module]] = Registry("normalisation", ordered=True)


@NORMS.register("batch")
def _batch_norm(channels: int, flat: bool, n_ref: int) -> nn.Module:
    return nn.BatchNorm1d(channels) if flat else nn.BatchNorm2d(channels)


@NORMS.register("virtual")
def _virtual_batch_norm(channels: int, flat: bool, n_ref: int) -> nn.Module:
    return VirtualBatchNorm(channels, n_ref)


@NORMS.register("instance")
def _instance_norm(channels: int, flat: bool, n_ref: int) -> nn.Module:
    # one value per channel when flat: normalising over the channels is layer norm
    return nn.LayerNorm(channels) if flat else nn.InstanceNorm2d(channels, affine=True)


@NORMS.register("layer")
def _layer_norm(channels: int, flat: bool, n_ref: int) -> nn.Module:
    return nn.LayerNorm(channels) if flat else nn.GroupNorm(1, channels)


@NORMS.register("none")
def _no_norm(channels: int, flat: bool, n_ref: int) -> nn.Module:
    return nn.Identity()


def halvings(size: tuple[int, int], min_side: int = 4, most: int | None = None) -> int:
    """How many times (H, W) can be halved exactly while both stay ≥ ``min_side``."""
    h, w, n = *size, 0
    while h % 2 == 0 and w % 2 == 0 and h // 2 >= min_side and w // 2 >= min_side:
        if most is not None and n == most:
            break
        h, w, n = h // 2, w // 2, n + 1
    return n


def require_halvings(spec: NetSpec, family: str, most: int | None = None) -> int:
    n = halvings(spec.size, most=most)
    if n == 0:
        raise UserError(
            f"{family} networks need images that halve at least once to ≥ 4 pixels per "
            f"side; got {spec.size[0]}x{spec.size[1]} (use an 'mlp' model or data.size)"
        )
    return n


def check_conditioning(spec: NetSpec, family: str, supported: Sequence[str]) -> None:
    if spec.conditional not in supported:
        raise UserError(
            f"model.conditional={spec.conditional!r} is not supported by {family!r}; "
            f"valid: {', '.join(supported)}"
        )


def check_norm(norm: str, where: str, allowed: Sequence[str] = NORMS) -> None:
    if norm not in allowed:
        raise UserError(f"{where} is {norm!r}; valid: {', '.join(allowed)}")


def norm_layer(kind: str, channels: int, *, flat: bool = False, n_ref: int = 0) -> nn.Module:
    """A normalisation for (B, C, H, W) activations, or (B, C) ones when ``flat``."""
    return NORMS[kind](channels, flat, n_ref)


def with_reference_batch(net: nn.Module, spec: NetSpec, norm: str, n_ref: int) -> nn.Module:
    """Wrap a generator built with virtual batch norm so it sees its reference batch."""
    if norm != "virtual":
        return net
    return WithReferenceBatch(net, spec.z_dim, n_ref, spec.num_classes)


def generator_input(z: Tensor, y: Tensor | None, spec: NetSpec) -> Tensor:
    """z, joined with the one-hot label when the model is label-conditioned."""
    return torch.cat([z, one_hot(y, spec.num_classes)], 1) if spec.labelled else z


def label_maps(x: Tensor, y: Tensor | None, spec: NetSpec) -> Tensor:
    """cGAN discriminator input: image channels joined with one-hot label planes."""
    if spec.conditional != "concat":
        return x
    planes = one_hot(y, spec.num_classes)[:, :, None, None].expand(-1, -1, *x.shape[2:])
    return torch.cat([x, planes], 1)


def label_channels(spec: NetSpec) -> int:
    return spec.num_classes if spec.conditional == "concat" else 0


class DHead(nn.Module):
    """Features h: (B, F) -> DiscOutput: a linear score, plus what the conditioning
    mode asks for (ACGAN class head; projection ⟨embed(y), h⟩), with optional minibatch
    discrimination features in front of the score."""

    def __init__(
        self, n_features: int, spec: NetSpec, *, sn: bool = False, minibatch_kernels: int = 0
    ):
        super().__init__()
        self.mode = spec.conditional
        self.mbd = (
            MinibatchDiscrimination(n_features, minibatch_kernels) if (minibatch_kernels) else None
        )
        self.score = linear(n_features + minibatch_kernels, 1, sn=sn)
        if self.mode == "acgan":
            self.classes = linear(n_features, spec.num_classes, sn=sn)
        if self.mode == "projection":
            self.embed = maybe_sn(nn.Embedding(spec.num_classes, n_features), sn)

    def forward(self, h: Tensor, y: Tensor | None, features: list[Tensor]) -> DiscOutput:
        score = self.score(h if self.mbd is None else self.mbd(h)).squeeze(1)
        out = DiscOutput(score, features, embedding=h)
        if self.mode == "acgan":
            out.class_logits = self.classes(h)
        if self.mode == "projection":
            out.score = score + (self.embed(y) * h).sum(1)
        return out
