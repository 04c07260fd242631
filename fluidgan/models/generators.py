"""tempoGAN generators by name (``model.generator``): the paper's and the fast one.

A checkpoint's ``model`` record names its generator and holds every option it was built
with, so :func:`build_generator` rebuilds it from the record alone, in training and in
``fluidgan upscale`` alike.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from torch import nn

from fluidgan.models.fast import FastGenerator
from fluidgan.models.tempogan import BN_EPS, BN_MOMENTUM, Generator, paper_widths
from fluidgan.registry import Registry

# Keys of every record: what the data fixes, not the architecture.
DATA_KEYS = ("dim", "factor", "in_channels", "channels", "tile")


@dataclass(frozen=True)
class GeneratorKind:
    """How to build one kind of generator: ``options(model_config, in_channels)`` picks
    its architecture options from the training config's ``model`` table; ``build(dim,
    in_channels, factor, **options)`` makes the network."""

    build: Callable[..., nn.Module]
    options: Callable[[Any, int], dict[str, Any]]


GENERATORS: Registry[GeneratorKind] = Registry("generator")


def _shared_options(m: Any) -> dict[str, Any]:
    return {
        "batch_norm": m.batch_norm,
        "bn_momentum": m.bn_momentum,
        "bn_eps": m.bn_eps,  # eval-mode BatchNorm divides by sqrt(var + eps)
        "input_residual": m.input_residual,
    }


def _paper_options(m: Any, in_channels: int) -> dict[str, Any]:
    widths = m.generator_widths or paper_widths(in_channels)
    return {
        "generator_widths": [list(w) for w in widths],
        "kernel": m.kernel,
        **_shared_options(m),
    }


def _build_paper(dim: int, in_channels: int, factor: int, **o: Any) -> Generator:
    return Generator(
        dim,
        in_channels,
        factor,
        widths=o["generator_widths"],
        kernel=o["kernel"],
        batch_norm=o["batch_norm"],
        input_residual=o["input_residual"],
        bn_momentum=o["bn_momentum"],
        bn_eps=o["bn_eps"],
    )


def _fast_options(m: Any, in_channels: int) -> dict[str, Any]:
    f = m.fast
    return {
        "width": f.width,
        "blocks": f.blocks,
        "kernel": f.kernel,
        "upsample": f.upsample,
        "refine": f.refine,
        "bias": f.bias,
        **_shared_options(m),
    }


GENERATORS.register("tempogan")(GeneratorKind(_build_paper, _paper_options))
GENERATORS.register("fast")(GeneratorKind(FastGenerator, _fast_options))


def generator_record(
    name: str, model: Any, dim: int, factor: int, in_channels: int, channels: str, tile: int
) -> dict[str, Any]:
    """The checkpoint's ``model`` entry: the data's shape and the generator's options."""
    options = GENERATORS.get(name).options(model, in_channels)
    data = dict(zip(DATA_KEYS, (dim, factor, in_channels, channels, tile), strict=True))
    return {**data, "generator": name, **options}


def normalise_record(record: Mapping[str, Any]) -> dict[str, Any]:
    """A record as this version writes it: checkpoints from before ``generator``,
    ``input_residual`` and the BatchNorm constants were recorded hold the paper's generator
    without a residual, with the paper's BatchNorm constants."""
    defaults = {"generator": "tempogan", "input_residual": "none"}
    defaults |= {"bn_momentum": BN_MOMENTUM, "bn_eps": BN_EPS}
    return {**defaults, **record}


def build_generator(record: Mapping[str, Any]) -> nn.Module:
    """The (untrained) generator a ``model`` record describes."""
    record = normalise_record(record)
    options = {k: v for k, v in record.items() if k not in (*DATA_KEYS, "generator")}
    kind = GENERATORS.get(record["generator"])
    return kind.build(record["dim"], record["in_channels"], record["factor"], **options)
