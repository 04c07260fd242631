"""FLOPs per output cell: the hook-based counter against closed forms counted by hand,
and the fast presets' savings over the paper's generator (≥ 10× in 2D, ≥ 30× in 3D)."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from fluidgan.config import build, load_toml, preset_path
from fluidgan.models.fast import FastGenerator
from fluidgan.models.flops import generator_flops, layer_flops
from fluidgan.models.generators import build_generator, generator_record
from fluidgan.models.tempogan import Generator, paper_widths
from fluidgan.train.config import TrainConfig


def paper_closed_form(dim: int, c: int, k: int = 5) -> int:
    """Per high-res cell: each block's two k^d convolutions and its 1^d shortcut, all at the
    high resolution; 2 FLOPs per multiply-add and one per bias add."""
    total, c_in = 0, c
    for c1, c2 in paper_widths(c):
        total += 2 * k**dim * (c_in * c1 + c1 * c2) + 2 * c_in * c2 + c1 + 2 * c2
        c_in = c2
    return total


def fast_closed_form(dim: int, c: int, f: int, width: int, blocks: int, k: int = 3) -> float:
    """Per high-res cell: head and trunk at the low resolution (÷ f^d), two ×2 sub-pixel
    stages (width -> width/2 at 1/f, width/2 -> width/4 at 2/f), the refining k^d conv."""
    kd = k**dim
    low = 2 * kd * c * width + width + blocks * 2 * (2 * kd * width * width + width)
    c1, c2 = width // 2, max(width // 4, 8)
    s1 = 2 * kd * width * c1 * 2**dim + c1 * 2**dim  # at the low resolution
    s2 = 2 * kd * c1 * c2 * 2**dim + c2 * 2**dim  # at half the high resolution
    return (low + s1) / f**dim + s2 / (f // 2) ** dim + 2 * kd * c2 + 1


def test_layer_flops_by_hand():
    conv = nn.Conv2d(3, 5, 3)
    x = torch.zeros(2, 3, 6, 7)
    y = conv(x)  # 2 × 5 × 4 × 5 outputs, 27 multiply-adds each, + bias
    assert layer_flops(conv, x, y) == 2 * 200 * 27 + 200
    tconv = nn.ConvTranspose2d(3, 5, 4, stride=2, padding=1)
    y = tconv(x)  # every input value scatters into 5 × 16 outputs
    assert layer_flops(tconv, x, y) == 2 * x.numel() * 80 + y.numel()
    lin = nn.Linear(10, 4)
    x = torch.zeros(3, 10)
    assert layer_flops(lin, x, lin(x)) == 2 * 12 * 10 + 12


@pytest.mark.parametrize("dim, c", [(2, 1), (2, 4), (3, 7)])
def test_paper_generator_flops_match_the_closed_form(dim, c):
    g = Generator(dim, c, 4)
    assert generator_flops(g, (4,) * dim) == pytest.approx(paper_closed_form(dim, c), rel=1e-12)


@pytest.mark.parametrize("dim, c, width, blocks", [(2, 4, 48, 4), (3, 7, 32, 4), (2, 1, 16, 0)])
def test_fast_generator_flops_match_the_closed_form(dim, c, width, blocks):
    g = FastGenerator(dim, c, 4, width=width, blocks=blocks)
    expected = fast_closed_form(dim, c, 4, width, blocks)
    assert generator_flops(g, (6,) * dim) == pytest.approx(expected, rel=1e-12)


def preset_generator(name: str, dim: int, channels: int):
    cfg = build(TrainConfig, load_toml(preset_path("train", name)))
    return build_generator(
        generator_record(cfg.model.generator, cfg.model, dim, 4, channels, "x", cfg.data.tile)
    )


@pytest.mark.parametrize(
    "dim, paper, fast, needed", [(2, "paper2d", "fast2d", 10), (3, "paper3d", "fast3d", 30)]
)
def test_fast_presets_need_far_fewer_flops_than_the_papers(dim, paper, fast, needed):
    c = 1 + 2 * dim - (dim == 2)  # rho+v+w: 4 channels in 2D, 7 in 3D
    low = (8,) * dim
    ratio = generator_flops(preset_generator(paper, dim, c), low) / generator_flops(
        preset_generator(fast, dim, c), low
    )
    assert ratio >= needed
