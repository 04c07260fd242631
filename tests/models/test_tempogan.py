"""tempoGAN networks: parameter counts by hand, shapes, padding, initialisation."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from fluidgan.models import tempogan as tg

SMALL = [[2, 4], [4, 4], [4, 2], [2, 1]]


def generator_count(dim: int, c: int, k: int = 5) -> int:
    """Conv weights + biases of the paper generator, counted by hand: each block has
    conv k^d c_in->c1, conv k^d c1->c2 and a 1^d shortcut c_in->c2."""
    total, c_in = 0, c
    for c1, c2 in ((2 * c, 8 * c), (128, 128), (32, 8), (2, 1)):
        total += k**dim * c_in * c1 + c1 + k**dim * c1 * c2 + c2 + c_in * c2 + c2
        c_in = c2
    return total


def discriminator_count(dim: int, c_in: int, tile: int) -> int:
    total = 0
    for w in (32, 64, 128, 256):
        total += 4**dim * c_in * w + w
        c_in = w
    return total + 256 * (tile // 8) ** dim + 1


def test_2d_generator_with_one_channel_has_547k_conv_parameters():
    # The reference's DOF count: "2D C=1 generator ≈ 547 k conv parameters".
    g = tg.Generator(2, 1)
    assert tg.conv_parameter_count(g) == generator_count(2, 1) == 547_418


@pytest.mark.parametrize("dim, channels", [(2, 1), (2, 3), (2, 4), (2, 7), (3, 1), (3, 4), (3, 7)])
def test_generator_conv_parameters_match_the_hand_count(dim, channels):
    g = tg.Generator(dim, channels)
    count = tg.conv_parameter_count(g)
    assert count == generator_count(dim, channels)
    # docs/METHOD.md, Networks: ≈0.55–0.73 M in 2D, 2.7–3.6 M in 3D, for C = 1 … 7 (the reference's
    # 7 = density + 3 velocity + 3 vorticity components), to the digits given there.
    digits, (low, high) = {2: (2, (0.55, 0.73)), 3: (1, (2.7, 3.6))}[dim]
    assert low <= round(count / 1e6, digits) <= high


@pytest.mark.parametrize("dim", [2, 3])
def test_discriminator_conv_parameters_match_the_hand_count(dim):
    tile = 64 if dim == 2 else 32
    assert tg.conv_parameter_count(tg.SpatialDiscriminator(dim, tile)) == discriminator_count(
        dim, 2, tile
    )
    assert tg.conv_parameter_count(tg.TemporalDiscriminator(dim, tile)) == discriminator_count(
        dim, 3, tile
    )


def test_paper_widths():
    assert tg.paper_widths(4) == ((8, 32), (128, 128), (32, 8), (2, 1))


@pytest.mark.parametrize("dim, s", [(2, 8), (3, 4)])
def test_generator_output_shape_and_non_negative(dim, s):
    g = tg.init_weights(tg.Generator(dim, 3, factor=4, widths=SMALL))
    x = torch.randn(2, 3, *(s,) * dim)
    y = g(x)
    assert y.shape == (2, 1, *(4 * s,) * dim)
    assert y.min() >= 0.0  # the final ReLU: density is non-negative


@pytest.mark.parametrize("dim", [2, 3])
def test_one_implementation_picks_2d_or_3d_layers(dim):
    g = tg.Generator(dim, 1, widths=SMALL)
    convs = [m for m in g.modules() if isinstance(m, (nn.Conv2d, nn.Conv3d))]
    assert {type(m) for m in convs} == {nn.Conv2d if dim == 2 else nn.Conv3d}
    assert all(m.kernel_size in ((5,) * dim, (1,) * dim) for m in convs)


def test_batchnorm_everywhere_but_the_last_block_and_first_discriminator_layer():
    g = tg.Generator(2, 1)
    norms = [b.norm is not None for blk in g.blocks for b in (blk.conv_a, blk.conv_b, blk.shortcut)]
    assert norms == [True] * 9 + [False] * 3
    d = tg.SpatialDiscriminator(2, 64)
    assert [layer.norm is not None for layer in d.layers] == [False, True, True, True]
    for bn in (m for m in [*g.modules(), *d.modules()] if isinstance(m, nn.BatchNorm2d)):
        assert bn.momentum == 0.001 and bn.eps == 1e-3


def test_initialisation_is_normal_004_with_bias_01():
    g = tg.init_weights(tg.Generator(2, 1))
    big = g.blocks[1].conv_b.conv  # 128*128*25 weights: sample std within 1 %
    assert big.weight.std().item() == pytest.approx(0.04, rel=0.01)
    assert big.weight.mean().item() == pytest.approx(0.0, abs=0.04 * 0.01)
    for m in g.modules():
        if isinstance(m, nn.Conv2d):
            assert torch.all(m.bias == 0.1)


@pytest.mark.parametrize(
    "size, kernel, stride, pads",
    [
        (64, 4, 2, (1, 1)),
        (8, 4, 1, (1, 2)),
        (7, 4, 2, (1, 2)),
        (16, 5, 1, (2, 2)),
        (5, 1, 1, (0, 0)),
    ],
)
def test_same_padding_is_tensorflows(size, kernel, stride, pads):
    # TF: out = ceil(n / s), total = max((out - 1) s + k - n, 0), extra cell after.
    assert tg.same_padding(size, kernel, stride) == pads


@pytest.mark.parametrize("dim", [2, 3])
def test_discriminator_shapes(dim):
    tile = 16
    d = tg.init_weights(tg.TemporalDiscriminator(dim, tile, widths=(4, 8, 8, 16)))
    logits, features = d(torch.rand(3, 3, *(tile,) * dim))
    assert logits.shape == (3,)
    sizes = [8, 4, 2, 2]  # strides 2, 2, 2, 1 with 'same' padding
    assert [f.shape for f in features] == [
        (3, c, *(n,) * dim) for c, n in zip((4, 8, 8, 16), sizes, strict=True)
    ]
    assert all(f.min() < 0 for f in features[1:])  # LeakyReLU lets negatives through


@pytest.mark.parametrize("dim", [2, 3])
def test_d_t_on_differences_sees_frame_t_and_its_changes(dim):
    """ "differences": frame t, t-1 − t, t+1 − t — the same D_t weights give the logits of
    "frames" fed those three channels (a wrong sign, order or a dropped frame differ)."""
    torch.manual_seed(0)
    shape = (2, 3, *(8,) * dim)
    frames = torch.rand(shape)
    changes = tg.TEMPORAL_INPUTS.get("differences")(frames)
    assert torch.equal(changes[:, 0], frames[:, 1])
    assert torch.equal(changes[:, 1], frames[:, 0] - frames[:, 1])
    assert torch.equal(changes[:, 2], frames[:, 2] - frames[:, 1])
    plain = tg.init_weights(tg.TemporalDiscriminator(dim, 8, widths=(4, 4, 4, 4))).eval()
    on_changes = tg.TemporalDiscriminator(dim, 8, widths=(4, 4, 4, 4), input="differences")
    on_changes.load_state_dict(plain.state_dict())  # no parameters of its own
    on_changes.eval()
    assert torch.allclose(on_changes(frames)[0], plain(changes)[0])
    assert not torch.allclose(on_changes(frames)[0], plain(frames)[0])
    still = frames[:, [1, 1, 1]]  # a frozen triplet: no change at all
    assert torch.count_nonzero(tg.TEMPORAL_INPUTS.get("differences")(still)[:, 1:]) == 0


def test_spatial_discriminator_conditions_on_the_nearest_upsampled_density():
    torch.manual_seed(0)
    d = tg.init_weights(tg.SpatialDiscriminator(2, 16, factor=4, widths=(4, 8, 8, 8))).eval()
    low, high = torch.rand(2, 1, 4, 4), torch.rand(2, 1, 16, 16)
    upsampled = low.repeat_interleave(4, dim=2).repeat_interleave(4, dim=3)
    expected, _ = tg.Discriminator.forward(d, torch.cat([upsampled, high], dim=1))
    got, _ = d(low, high)
    torch.testing.assert_close(got, expected)


def test_generator_upsampling_is_nearest_neighbour_by_the_factor():
    # The reference's two ×2 'depool' steps are one ×4 nearest upsampling: G(x) must be
    # its residual blocks applied to x with every cell repeated 4× along each axis.
    g = tg.init_weights(tg.Generator(2, 1, factor=4, widths=SMALL)).eval()
    x = torch.rand(1, 1, 3, 5)
    repeated = x.repeat_interleave(4, dim=2).repeat_interleave(4, dim=3)
    twice = F.interpolate(
        F.interpolate(x, scale_factor=2, mode="nearest"), scale_factor=2, mode="nearest"
    )
    torch.testing.assert_close(twice, repeated)
    with torch.no_grad():
        torch.testing.assert_close(g(x), g.blocks(repeated))


@pytest.mark.parametrize("dim, mode", [(2, "bilinear"), (3, "trilinear")])
def test_zero_initialised_input_residual_generator_is_the_interpolation(dim, mode):
    g = tg.init_weights(tg.Generator(dim, 3, factor=4, widths=SMALL, input_residual="linear"))
    x = torch.rand(2, 3, *(4,) * dim) - 0.2  # negative densities: the final ReLU clips them
    with torch.no_grad():
        torch.testing.assert_close(
            g.zero_output()(x), F.interpolate(x[:, :1], scale_factor=4, mode=mode).clamp(min=0)
        )
        g.blocks[-1].conv_b.conv.bias.fill_(0.25)  # G's own output adds to it
        torch.testing.assert_close(
            g(x), (F.interpolate(x[:, :1], scale_factor=4, mode=mode) + 0.25).clamp(min=0)
        )


def test_the_paper_generator_has_no_input_residual():
    g = tg.init_weights(tg.Generator(2, 1, widths=SMALL)).zero_output()
    assert g(torch.rand(1, 1, 4, 4)).abs().max() == 0  # nothing but its own (zeroed) output
    with pytest.raises(ValueError, match="input_residual"):
        tg.Generator(2, 1, input_residual="cubic")


def test_discriminator_linear_layer_matches_the_flattened_size():
    d = tg.Discriminator(3, 2, tile=(8, 16, 24))
    assert d.linear.in_features == 256 * math.prod((1, 2, 3))
