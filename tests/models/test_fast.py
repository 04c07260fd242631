"""The fast generator: the d-dimensional pixel shuffle against a hand-indexed reference,
ICNR start, shapes for any factor, the interpolation start, a receptive halo that is
exactly the measured dependency radius, tiled = whole, bfloat16 ≈ float32 after training."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from fluidgan.inference.tiling import receptive_halo, upscale_tiled
from fluidgan.models.fast import UPSAMPLERS, FastGenerator, SubPixelUp, pixel_shuffle, prime_factors
from fluidgan.models.generators import build_generator, normalise_record

ATOL, RTOL = 1e-5, 1e-4


def lively(g: FastGenerator, seed: int = 0) -> FastGenerator:
    """Random weights with positive biases: no dead ReLU hides a dependency, no zero output
    makes a comparison vacuous."""
    torch.manual_seed(seed)
    for m in g.modules():
        if isinstance(m, (nn.Conv2d, nn.Conv3d, nn.ConvTranspose2d, nn.ConvTranspose3d)):
            nn.init.normal_(m.weight, 0.0, 0.3)
            if m.bias is not None:
                nn.init.constant_(m.bias, 0.5)
    return g.eval()


def test_prime_factors():
    assert prime_factors(4) == [2, 2] and prime_factors(12) == [2, 2, 3]
    assert prime_factors(1) == [] and prime_factors(7) == [7]


def test_pixel_shuffle_2d_is_torchs():
    x = torch.randn(2, 3 * 9, 4, 5)
    assert torch.equal(pixel_shuffle(x, 3), F.pixel_shuffle(x, 3))


def test_pixel_shuffle_3d_matches_a_hand_indexed_reference():
    p, c = 2, 3
    x = torch.randn(1, c * p**3, 3, 4, 5)  # non-cubic: a swapped axis fails
    y = pixel_shuffle(x, p)
    assert y.shape == (1, c, 6, 8, 10)
    for ch, rz, ry, rx in itertools.product(range(c), range(p), range(p), range(p)):
        sub = ch * p**3 + rz * p * p + ry * p + rx
        assert torch.equal(y[0, ch, rz::p, ry::p, rx::p], x[0, sub])


@pytest.mark.parametrize("dim", [2, 3])
def test_icnr_start_is_nearest_upsampling_of_a_convolution(dim):
    torch.manual_seed(1)
    stage = SubPixelUp(dim, 4, 3, 2, 3)
    stage.reset_parameters()
    x = torch.randn(1, 4, *(5,) * dim)
    y = stage(x)
    first = stage.conv(x)[:, :: 2**dim]  # sub-cell 0 of every output channel
    expected = F.relu(F.interpolate(first, scale_factor=2, mode="nearest"))
    torch.testing.assert_close(y, expected)
    assert y.std() > 0


@pytest.mark.parametrize("upsample", UPSAMPLERS.names())
@pytest.mark.parametrize("dim, factor", [(2, 2), (2, 3), (2, 4), (3, 4), (2, 8)])
def test_shapes_for_any_factor(upsample, dim, factor):
    g = FastGenerator(dim, 2, factor, width=8, blocks=1, upsample=upsample)
    low = (3, 4, 5)[:dim]
    assert g(torch.rand(2, 2, *low)).shape == (2, 1, *(factor * n for n in low))


@pytest.mark.parametrize("dim", [2, 3])
def test_zero_output_starts_as_the_interpolation(dim):
    g = FastGenerator(dim, 3, 4, width=8, blocks=2, input_residual="linear").zero_output()
    x = torch.rand(2, 3, *(4, 5, 6)[:dim])
    mode = "bilinear" if dim == 2 else "trilinear"
    torch.testing.assert_close(g(x), F.interpolate(x[:, :1], scale_factor=4, mode=mode))


@pytest.mark.parametrize("upsample", UPSAMPLERS.names())
@pytest.mark.parametrize("factor", [2, 3, 4])
def test_receptive_halo_is_the_measured_dependency_radius(upsample, factor):
    """A one-cell change in the input reaches exactly ``halo`` low-res cells out."""
    g = lively(
        FastGenerator(2, 1, factor, 8, 2, upsample=upsample, refine=2, input_residual="none")
    )
    x = torch.rand(1, 1, 30, 30)
    y = x.clone()
    y[0, 0, 15, 15] += 1.0
    with torch.no_grad():
        diff = (g(y) - g(x))[0, 0].abs().numpy()
    rows = np.flatnonzero(diff.max(axis=1) > 0)
    # input cell 15 covers output rows 15f .. 16f-1; how far out the change reached:
    before, after = 15 * factor - rows.min(), rows.max() - (16 * factor - 1)
    reach = max(-(-before // factor), -(-after // factor))
    assert reach == receptive_halo(g) and reach >= 5  # head + 2 blocks alone reach 5


@pytest.mark.parametrize("upsample", UPSAMPLERS.names())
def test_tiled_equals_whole_2d(upsample):
    g = lively(FastGenerator(2, 3, 4, 8, 2, upsample=upsample, input_residual="linear"))
    x = torch.rand(3, 26, 31)
    with torch.no_grad():
        whole = g(x[None])[0, 0]
    halo = receptive_halo(g)
    tiled = upscale_tiled(g, x, 2 * halo + 5, halo, batch=3)
    assert whole.std() > 1e-3
    atol = ATOL * float(whole.abs().max())  # float32 reassociation, relative to the scale
    np.testing.assert_allclose(tiled.numpy(), whole.numpy(), rtol=RTOL, atol=atol)
    seams = upscale_tiled(g, x, 2 * halo + 5 - 2, halo - 1, batch=3)  # the test can fail
    assert (seams - whole).abs().max() > 100 * atol


def test_tiled_equals_whole_3d():
    g = lively(FastGenerator(3, 7, 4, 8, 1, input_residual="linear"))
    halo = receptive_halo(g)
    x = torch.rand(7, 2 * halo + 3, 2 * halo + 5, 2 * halo + 4)
    with torch.no_grad():
        whole = g(x[None])[0, 0]
    tiled = upscale_tiled(g, x, 2 * halo + 2, halo, batch=4)
    atol = ATOL * float(whole.abs().max())
    np.testing.assert_allclose(tiled.numpy(), whole.numpy(), rtol=RTOL, atol=atol)


def test_record_round_trip_rebuilds_the_same_architecture():
    record = {
        "dim": 3, "factor": 4, "in_channels": 7, "channels": "rho+v+w", "tile": 8,
        "generator": "fast", "width": 16, "blocks": 2, "kernel": 3, "upsample": "resize",
        "refine": 2, "batch_norm": False, "bn_momentum": 0.001, "bn_eps": 1e-3,
        "input_residual": "nearest",
    }  # fmt: skip
    g = build_generator(record)
    assert isinstance(g, FastGenerator) and len(g.trunk) == 2 and len(g.refine) == 2
    assert g.head.conv.out_channels == 16 and g.input_residual == "nearest"
    # a record written before model.generator existed is the paper's generator
    old = {"dim": 2, "factor": 4, "in_channels": 1, "channels": "rho", "tile": 16,
           "generator_widths": [[2, 8], [8, 8], [4, 4], [2, 1]], "kernel": 5,
           "batch_norm": True}  # fmt: skip
    assert normalise_record(old)["generator"] == "tempogan"
    assert type(build_generator(old)).__name__ == "Generator"


def smooth_pairs(n: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Low-res inputs and high-res targets with detail the interpolation lacks."""
    g = torch.Generator().manual_seed(seed)
    high = F.avg_pool2d(torch.rand(n, 1, 68, 68, generator=g), 5, 1)  # 64², smooth-ish
    low = F.avg_pool2d(high, 4)
    v = torch.randn(n, 2, 16, 16, generator=g) * 0.1
    return torch.cat([low, v], 1), high


def trained_generator() -> FastGenerator:
    torch.manual_seed(0)
    g = FastGenerator(2, 3, 4, width=16, blocks=2, input_residual="linear").zero_output()
    opt = torch.optim.Adam(g.parameters(), 2e-3)
    x, y = smooth_pairs(16)
    for _ in range(60):
        opt.zero_grad()
        loss = (g(x) - y).abs().mean()
        loss.backward()
        opt.step()
    return g.eval()


def test_bfloat16_agrees_with_float32_on_a_trained_generator():
    """The stated tolerance of amp = "bf16": |bf16 − fp32| ≤ 2 % of the density range
    everywhere and ≤ 0.3 % on average (bfloat16 keeps 8 significant bits; the input
    residual is interpolated in float32 under autocast)."""
    g = trained_generator()
    x, y = smooth_pairs(4, seed=1)
    with torch.inference_mode():
        fp32 = g(x)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            bf16 = g(x.contiguous(memory_format=torch.channels_last)).float()
    detail = (fp32 - F.interpolate(x[:, :1], scale_factor=4, mode="bilinear")).abs().mean()
    assert detail > 1e-3  # training moved it away from the interpolation
    assert not torch.equal(bf16, fp32)  # it did compute in bfloat16
    scale = float(y.max() - y.min())
    err = (bf16 - fp32).abs()
    assert err.max() <= 0.02 * scale and err.mean() <= 0.003 * scale


@pytest.mark.parametrize("dim", [2, 3])
def test_without_biases_empty_space_stays_empty(dim):
    """bias = False: G(0) = 0 exactly, and a smoke blob adds detail only within the
    receptive halo; with biases (the positive control) empty space gets a pattern."""
    n = 24 if dim == 2 else 16
    x = torch.zeros(1, 4, *(n,) * dim)
    x[(0, 0, *(slice(7, 9),) * dim)] = 1.0  # a blob in the middle
    for bias in (False, True):
        g = lively(FastGenerator(dim, 4, 4, width=8, blocks=1, bias=bias))  # biases 0.5
        if bias:  # lift the output above the final ReLU, else zero would hide the biases
            g.refine[-1].conv.bias.data.fill_(20.0)
        with torch.no_grad():
            empty = g(torch.zeros_like(x)).abs().max()
            y = g(x)[0, 0]
        assert (empty > 0.1) if bias else (empty == 0)
        halo = receptive_halo(g)
        far = y.clone()
        lo, hi = 4 * (7 - halo), 4 * (9 + halo)
        assert lo > 0  # some of the grid is out of reach
        far[(*(slice(max(lo, 0), hi),) * dim,)] = 0  # everything out of the blob's reach
        if bias:
            assert far.abs().max() > 0.1  # the lattice the biases make in empty space
        else:
            assert far.abs().max() == 0
