"""The small shared types of the GAN zoo: a name registry, the image spec every network is
built from, what a discriminator returns, and the adversarial pair a training step plays.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor, nn

from fluidgan.errors import UserError
from fluidgan.registry import Registry

__all__ = ["Registry"]  # re-exported: the zoo's modules import it from here

#: How the class label enters G and D (``model.conditional``), see :class:`NetSpec`.
CONDITIONING: Registry[str] = Registry("model.conditional", ordered=True)
CONDITIONING.register("none")("unconditional")
CONDITIONING.register("concat")("one-hot label joined to the input of G and D (cGAN)")
CONDITIONING.register("acgan")("label into G; D predicts it with an auxiliary head")
CONDITIONING.register("projection")("label embedding projected onto D's features")

#: Elementwise distances between two image batches (the ``distance`` options of the cycle
#: game and the autoencoder discriminator).
DISTANCES: Registry[Callable[[Tensor, Tensor], Tensor]] = Registry("distance", ordered=True)


@DISTANCES.register("l1")
def absolute_difference(a: Tensor, b: Tensor) -> Tensor:
    """|a - b|."""
    return (a - b).abs()


@DISTANCES.register("l2")
def squared_difference(a: Tensor, b: Tensor) -> Tensor:
    """(a - b)²."""
    return (a - b) ** 2


@dataclass(frozen=True)
class NetSpec:
    """What every image network is built from.

    ``size`` is (H, W) in pixels; images are (B, channels, H, W) in [-1, 1].
    ``conditional``: "none"; "concat" (one-hot label joined to the input of G and D, cGAN);
    "acgan" (label into G, D predicts it with an auxiliary head); "projection" (label
    embedding projected onto D's features, Miyato & Koyama 2018; class-conditional BN in
    the BigGAN generator).
    """

    channels: int
    size: tuple[int, int]
    z_dim: int = 64
    width: int = 32
    num_classes: int = 0
    conditional: str = "none"

    def __post_init__(self):
        if self.conditional not in CONDITIONING:
            raise UserError(
                f"model.conditional is {self.conditional!r}; valid: {', '.join(CONDITIONING)}"
            )
        if self.conditional != "none" and self.num_classes < 2:
            raise UserError(
                f"model.conditional={self.conditional!r} needs a labelled dataset "
                f"(this one has {self.num_classes} classes)"
            )

    @property
    def labelled(self) -> bool:
        return self.conditional != "none"

    def with_size(self, size: tuple[int, int]) -> NetSpec:
        return NetSpec(
            self.channels, size, self.z_dim, self.width, self.num_classes, self.conditional
        )


@dataclass
class DiscOutput:
    """What a discriminator returns.

    score: (B,) or (B, h, w) for patch critics: a logit, critic value or energy, whatever
        the adversarial loss expects.
    features: post-activation feature maps, shallow to deep (feature matching).
    class_logits: (B, K) from an auxiliary classifier head (ACGAN), else None.
    embedding: (B, E) the deepest representation (EBGAN's pulling-away term).
    """

    score: Tensor
    features: list[Tensor] = field(default_factory=list)
    class_logits: Tensor | None = None
    embedding: Tensor | None = None


@dataclass
class Pair:
    """One adversarial game inside a step: a discriminator, a real and a fake batch.

    ``cond`` is what D is conditioned on for both (class labels (B,) long, a coarse image
    (B, C, H, W) for LAPGAN, or None). In the D step ``fake`` is detached. ``paired``:
    fake[i] is a rendering of real[i] (paired translation data), so a pixel-wise
    comparison of the two is meaningful.
    """

    disc: nn.Module
    real: Tensor
    fake: Tensor
    cond: Tensor | None = None
    name: str = ""
    paired: bool = False

    def D(self, x: Tensor, cond: Tensor | None = None) -> DiscOutput:
        return self.disc(x, self.cond if cond is None else cond)


@dataclass
class Ctx:
    """Everything a regulariser may look at while a loss is built.

    stage: "d" or "g"; net: all networks on that side (a ModuleDict); loss: the
    adversarial loss; for pair-scoped terms also the pair and D's outputs on it
    (``real_out`` is None in the G stage).
    """

    stage: str
    net: nn.Module
    loss: Any
    pair: Pair | None = None
    real_out: DiscOutput | None = None
    fake_out: DiscOutput | None = None


def one_hot(labels: Tensor, num_classes: int) -> Tensor:
    """(B,) long -> (B, K) float."""
    return torch.nn.functional.one_hot(labels, num_classes).float()
