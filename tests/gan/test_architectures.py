from __future__ import annotations

import pytest
import torch
from torch import nn

from fluidgan.errors import UserError
from fluidgan.gan.architectures import (
    DISCRIMINATORS,
    GENERATORS,
    TRANSLATORS,
    truncated_normal,
)
from fluidgan.gan.architectures.base import halvings
from fluidgan.gan.architectures.biggan import split_z
from fluidgan.gan.architectures.lapgan import laplacian_pyramid, upsample
from fluidgan.gan.core import NetSpec
from fluidgan.gan.games import CycleGame, cycle_loss

SIZES = [(16, 16), (8, 12)]
MODES = {
    "mlp": ("none", "concat", "acgan", "projection"),
    "dcgan": ("none", "concat", "acgan", "projection"),
    "sagan": ("none", "projection"),
    "biggan": ("none", "projection", "acgan"),
}


def test_halvings():
    assert halvings((16, 16)) == 2
    assert halvings((28, 28)) == 2  # 28 -> 14 -> 7
    assert halvings((8, 12)) == 1
    assert halvings((6, 6)) == 0
    assert halvings((64, 64), most=2) == 2


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("channels", [1, 3])
@pytest.mark.parametrize("family", sorted(MODES))
def test_generator_and_discriminator_shapes(family, channels, size):
    for mode in MODES[family]:
        spec = NetSpec(
            channels,
            size,
            z_dim=12,
            width=8,
            num_classes=3 if mode != "none" else 0,
            conditional=mode,
        )
        G, D = GENERATORS.get(family)(spec), DISCRIMINATORS.get(family)(spec)
        y = torch.tensor([0, 2, 1]) if mode != "none" else None
        x = G(torch.randn(3, 12), y)
        assert x.shape == (3, channels, *size)
        assert x.abs().max() <= 1
        out = D(x, y)
        assert out.score.shape == (3,)
        assert (out.class_logits is not None) == (mode == "acgan")
        out.score.sum().backward()


def test_autoencoder_energy_is_the_reconstruction_error():
    spec = NetSpec(1, (16, 16), width=8)
    D = DISCRIMINATORS.get("autoencoder")(spec, distance="l1", code_dim=10)
    x = torch.randn(4, 1, 16, 16)
    out = D(x)
    assert out.score.shape == (4,) and out.embedding.shape == (4, 10)
    assert (out.score > 0).all()


def test_minibatch_and_virtual_batch_norm_options():
    spec = NetSpec(1, (16, 16), z_dim=8, width=8)
    G = GENERATORS.get("dcgan")(spec, norm="virtual", n_ref=5)
    z = torch.randn(3, 8)
    x1, x2 = G(z), G(torch.cat([z[:1], torch.randn(2, 8)]))
    assert torch.allclose(x1[0], x2[0], atol=1e-6)  # VBN: samples independent of the batch
    D = DISCRIMINATORS.get("dcgan")(spec, minibatch=4)
    assert D(x1).score.shape == (3,)


def test_truncation_keeps_every_entry_below_the_threshold():
    gen = torch.Generator().manual_seed(0)
    z = truncated_normal((2000, 16), 0.5, gen)
    assert z.abs().max() <= 0.5
    assert 0.2 < float(z.std()) < 0.35  # a truncated normal, not a clamp (that piles at ±τ)
    assert (z.abs() > 0.499).float().mean() < 0.01
    assert truncated_normal((1000,), None, gen).abs().max() > 2


def test_biggan_hierarchical_z():
    assert split_z(60, 3) == [20, 20, 20]
    assert split_z(62, 3) == [22, 20, 20]
    spec = NetSpec(1, (16, 16), z_dim=30, width=8, num_classes=4, conditional="projection")
    G = GENERATORS.get("biggan")(spec).eval()
    z, y = torch.randn(2, 30), torch.tensor([1, 3])
    z2 = z.clone()
    z2[:, -10:] += 1.0  # the last chunk only enters the last block's conditional BN
    with torch.no_grad():
        G.blocks[-1].bn1.gain.weight.normal_()
        assert not torch.allclose(G(z, y), G(z2, y))
        assert not torch.allclose(G(z, y), G(z, torch.tensor([0, 0])))


@pytest.mark.parametrize("name", ["resnet", "unet", "encoder_decoder"])
def test_translators_keep_the_shape(name):
    for size, channels in (((16, 16), 1), ((8, 12), 3)):
        T = TRANSLATORS.get(name)(NetSpec(channels, size, width=8))
        x = torch.rand(2, channels, *size) * 2 - 1
        assert T(x).shape == x.shape


def test_patch_critic_scores_patches():
    D = DISCRIMINATORS.get("patch")(NetSpec(1, (16, 16), width=8))
    assert D(torch.randn(2, 1, 16, 16)).score.shape == (2, 4, 4)


def test_laplacian_pyramid_reconstructs_exactly():
    x = torch.randn(2, 1, 16, 16, dtype=torch.float64)
    coarsest, residuals, _ = laplacian_pyramid(x, 3)
    assert coarsest.shape == (2, 1, 4, 4)
    image = coarsest
    for h in residuals:
        image = upsample(image) + h
    assert torch.allclose(image, x, atol=1e-12)


def test_cycle_loss_of_an_identity_pair_is_zero():
    a, b = torch.randn(3, 1, 8, 8), torch.randn(3, 1, 8, 8)
    assert float(cycle_loss(a, a, b, b, "l1")) == 0.0
    spec = NetSpec(1, (8, 8), width=8)
    game = CycleGame(spec, None, cycle_weight=10.0, identity_weight=1.0)
    D = DISCRIMINATORS.get("patch")(spec)
    models = {
        "g": nn.ModuleDict({"ab": nn.Identity(), "ba": nn.Identity()}),
        "d": nn.ModuleDict({"a": D, "b": D}),
    }
    _, terms = game.g_pairs(models, {"a": a, "b": b})
    assert float(terms["cycle"]) == 0.0 and float(terms["identity"]) == 0.0
    flip = nn.ModuleDict({"ab": nn.Identity(), "ba": nn.Identity()})
    flip["ab"] = torch.nn.Flatten(0, 0)  # still identity-like; now a mapping that is not:
    models["g"]["ab"] = _Negate()
    _, terms = game.g_pairs(models, {"a": a, "b": b})
    assert float(terms["cycle"]) == pytest.approx(10 * (2 * a.abs().mean() + 2 * b.abs().mean()))


class _Negate(nn.Module):
    def forward(self, x, y=None):
        return -x


def test_unknown_family_and_unsupported_options():
    with pytest.raises(UserError, match="dcgan"):
        GENERATORS.get("stylegan")
    spec = NetSpec(1, (16, 16), num_classes=3, conditional="concat")
    with pytest.raises(UserError, match="projection"):
        DISCRIMINATORS.get("biggan")(spec)
    with pytest.raises(UserError, match="halve"):
        GENERATORS.get("dcgan")(NetSpec(1, (6, 6)))
    with pytest.raises(UserError, match="labelled"):
        NetSpec(1, (8, 8), conditional="acgan")
    with pytest.raises(UserError, match="valid"):
        GENERATORS.get("dcgan")(NetSpec(1, (16, 16)), attention=5)
