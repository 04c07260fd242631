"""Value checks that pin each component's defining computation on non-degenerate inputs:
nonlinear critics, asymmetric batches, hand-computed numbers, and independent
re-implementations. A changed axis, weight, evaluation point or order of hooks breaks
one of these."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from fluidgan.gan import trainer
from fluidgan.gan.architectures import DISCRIMINATORS
from fluidgan.gan.architectures.lapgan import laplacian_pyramid
from fluidgan.gan.config import load_config
from fluidgan.gan.core import Ctx, DiscOutput, NetSpec, Pair
from fluidgan.gan.ema import ema_decay
from fluidgan.gan.games import cycle_distance
from fluidgan.gan.layers import MinibatchDiscrimination, SelfAttention, VirtualBatchNorm
from fluidgan.gan.losses import LOSSES, get_loss
from fluidgan.gan.regularizers import (
    feature_matching,
    gradient_penalty,
    make_hook,
    pulling_away,
)

D64 = torch.float64

# --- losses: every term on patch outputs is a mean over all entries ---------------------

R3 = torch.tensor([[[0.3, -1.2], [2.0, 0.7]], [[-0.4, 0.1], [1.5, -2.2]]], dtype=D64)
F3 = torch.tensor([[[-0.9, 0.2], [0.6, -1.4]], [[1.1, -0.3], [0.05, 0.8]]], dtype=D64)


def _by_hand(name: str, r: float, f: float) -> tuple[float, float, float]:
    """(d_real, d_fake, g) of one output value, written from the papers' formulas."""
    sp = lambda v: math.log1p(math.exp(v))  # noqa: E731
    return {
        "mmgan": (sp(-r), sp(f), -sp(f)),  # -log σ(r), -log(1 - σ(f)), log(1 - σ(f))
        "nsgan": (sp(-r), sp(f), sp(-f)),
        "lsgan": (0.5 * (r - 1) ** 2, 0.5 * f**2, 0.5 * (f - 1) ** 2),
        "wgan": (-r, f, -f),
        "wgan_gp": (-r, f, -f),
        "hinge": (max(0, 1 - r), max(0, 1 + f), -f),
        # js: g_f(v) = log 2 - softplus(-v), f*(g_f(v)) = softplus(v) - log 2
        "fgan": (sp(-r) - math.log(2), sp(f) - math.log(2), sp(-f) - math.log(2)),
        "ebgan": (r, max(0, 1 - f), f),
    }[name]


LOSS_NAMES = ["mmgan", "nsgan", "lsgan", "wgan", "wgan_gp", "hinge", "fgan", "ebgan"]


@pytest.mark.parametrize("name", LOSS_NAMES)
def test_every_loss_is_the_mean_of_its_per_output_formula_on_patch_outputs(name):
    loss = get_loss(name)
    r, f = R3.flatten().tolist(), F3.flatten().tolist()
    parts = [_by_hand(name, a, b) for a, b in zip(r, f, strict=True)]
    d_real = sum(p[0] for p in parts) / len(parts)
    d_fake = sum(p[1] for p in parts) / len(parts)
    g = sum(p[2] for p in parts) / len(parts)
    assert float(loss.d_real(R3)) == pytest.approx(d_real, rel=1e-12)
    assert float(loss.d_fake(F3)) == pytest.approx(d_fake, rel=1e-12)
    assert float(loss.d_loss(R3, F3)) == pytest.approx(d_real + d_fake, rel=1e-12)
    assert float(loss.g_loss(F3)) == pytest.approx(g, rel=1e-12)


def test_fgan_js_at_the_optimal_critic_is_twice_the_js_divergence():
    """With V = log(p/q), g_f(V) = f'(p/q) and -L_D = D_f = 2 JS(p‖q) (f-GAN, Table 1)."""
    p = torch.tensor([0.1, 0.6, 0.3], dtype=D64)
    q = torch.tensor([0.5, 0.2, 0.3], dtype=D64)
    loss = get_loss("fgan", divergence="js")
    v = torch.log(p / q)
    objective = -sum(p[i] * loss.d_real(v[i : i + 1]) + q[i] * loss.d_fake(v[i : i + 1])
                     for i in range(3))  # fmt: skip
    m = (p + q) / 2
    js = 0.5 * (p * torch.log(p / m)).sum() + 0.5 * (q * torch.log(q / m)).sum()
    assert float(objective) == pytest.approx(float(2 * js), rel=1e-10)


def test_began_balances_with_the_outputs_of_the_d_step_before_its_update():
    """k_{t+1} = clip(k_t + λ_k (γ L(x) - L(G(z))), 0, 1) with L from this D step."""
    sets = ["train.batch_size=8", "model.width=8", "model.z_dim=8", "eval.metrics=[]",
            "loss.params.k0=0.3", "loss.params.lambda_k=0.5", "loss.params.gamma=0.7"]  # fmt: skip
    run = trainer.build_run(load_config("began", sets=sets))
    logs = trainer.d_step(run, run.batcher.next())
    want = 0.3 + 0.5 * (0.7 * logs["D(x)"] - logs["D(G(z))"])
    assert logs["k"] == pytest.approx(min(max(want, 0.0), 1.0), rel=1e-6)
    assert logs["d/adv"] == pytest.approx(logs["D(x)"] - 0.3 * logs["D(G(z))"], rel=1e-6)
    assert logs["M"] == pytest.approx(logs["D(x)"] + abs(0.7 * logs["D(x)"] - logs["D(G(z))"]))


def test_registered_losses_are_exactly_the_documented_ones():
    assert set(LOSSES.names()) == {
        "mmgan", "nsgan", "lsgan", "wgan", "wgan_gp", "hinge", "fgan", "ebgan", "began"
    }  # fmt: skip


# --- regularisers on nonlinear critics --------------------------------------------------


def test_gradient_penalty_is_evaluated_on_per_sample_interpolates():
    """D(x) = ½ Σ x³ has ∇D = (3/2) x², so ‖∇D(x̂)‖ depends on where x̂ is."""
    real = torch.tensor([[1.0, 2.0], [0.5, -1.0], [3.0, 0.0]], dtype=D64)
    fake = torch.tensor([[-1.0, 0.5], [2.0, 2.0], [0.0, -2.0]], dtype=D64)
    critic = lambda x: 0.5 * (x**3).sum(1)  # noqa: E731
    torch.manual_seed(7)
    got = gradient_penalty(critic, real, fake, center=1.0)
    torch.manual_seed(7)
    eps = torch.rand(3, 1, dtype=torch.float32)  # one ε per sample, drawn like the code
    x_hat = eps * real + (1 - eps) * fake
    want = (((1.5 * x_hat**2).norm(dim=1) - 1.0) ** 2).mean()
    assert float(got.detach()) == pytest.approx(float(want), rel=1e-6)
    assert float(gradient_penalty(critic, real, fake, center=0.0).detach()) != pytest.approx(
        float(want)
    )


def test_r1_is_evaluated_on_real_data_only():
    real = torch.tensor([[1.0, -2.0], [0.5, 3.0]], dtype=D64)
    fake = torch.tensor([[4.0, 4.0], [-3.0, 1.0]], dtype=D64)
    critic = lambda v: (torch.sin(v)).sum(1)  # noqa: E731  ∇ = cos(x)
    disc = lambda v, cond=None: DiscOutput(critic(v))  # noqa: E731
    term = make_hook("r1", {"gamma": 3.0}).fn(Ctx("d", nn.Module(), None, Pair(disc, real, fake)))
    want = 0.5 * 3.0 * (torch.cos(real) ** 2).sum(1).mean()
    assert float(term.detach()) == pytest.approx(float(want), rel=1e-12)
    default = make_hook("r1", {}).fn(Ctx("d", nn.Module(), None, Pair(disc, real, fake)))
    assert float(default.detach()) == pytest.approx(float(want) * 10.0 / 3.0, rel=1e-12)  # γ = 10


def test_penalty_hooks_average_patch_scores_per_sample():
    real = torch.tensor([[[[1.0, 2.0], [0.0, -1.0]]], [[[0.5, 0.5], [2.0, 1.0]]]], dtype=D64)

    def disc(x, cond=None):  # (B, 1, 2, 2) -> patch scores (B, 2, 2) = x²
        return DiscOutput((x**2)[:, 0])

    term = make_hook("r1", {"gamma": 2.0}).fn(Ctx("d", nn.Module(), None, Pair(disc, real, real)))
    # per-sample score = mean over 4 patches of x² -> ∇ = x / 2
    want = ((real / 2) ** 2).flatten(1).sum(1).mean()
    assert float(term.detach()) == pytest.approx(float(want), rel=1e-12)


def test_feature_matching_hook_uses_the_chosen_layer_and_real_features_as_a_constant():
    class TwoLayer(nn.Module):
        def forward(self, x, y=None):
            return DiscOutput(x.sum(1), features=[x * 2, x**2])

    real = torch.tensor([[1.0, 2.0], [3.0, -1.0]])
    fake = torch.tensor([[0.0, 1.0], [2.0, 2.0]], requires_grad=True)
    disc = TwoLayer()
    pair = Pair(disc, real, fake)
    fake_out = disc(fake)
    hook = make_hook("feature_matching", {"weight": 0.5, "layer": 0})
    term = hook.fn(Ctx("g", nn.Module(), None, pair, None, fake_out))
    # layer 0: mean(2 real) = (4, 1), mean(2 fake) = (2, 3): ‖·‖² = 4 + 4
    assert float(term.detach()) == pytest.approx(0.5 * 8)
    last = make_hook("feature_matching", {}).fn(Ctx("g", nn.Module(), None, pair, None, fake_out))
    # layer -1: mean(real²) = (5, 2.5), mean(fake²) = (2, 2.5): 9
    assert float(last.detach()) == pytest.approx(9.0)
    last.backward()
    assert fake.grad is not None and float(fake.grad.abs().sum()) > 0
    assert float(feature_matching(real, fake.detach())) == pytest.approx(1 + 1)  # (2, .5)-(1, 1.5)


def test_pulling_away_normalises_each_embedding_and_averages_over_ordered_pairs():
    s = torch.tensor([[2.0, 0.0], [1.0, 1.0], [0.0, 3.0]], dtype=D64)
    # cos²: (0,1) ½, (0,2) 0, (1,2) ½ -> Σ_{i≠j} = 2 (½ + 0 + ½) = 2; / (3·2)
    assert float(pulling_away(s)) == pytest.approx(2 / 6)
    hook = make_hook("pulling_away", {"weight": 0.1})
    out = DiscOutput(torch.zeros(3), embedding=s)
    assert float(hook.fn(Ctx("g", nn.Module(), None, None, None, out))) == pytest.approx(0.1 / 3)


def test_matching_aware_scores_real_images_under_wrong_labels_with_the_fake_term():
    class LabelCritic(nn.Module):
        num_classes = 4

        def forward(self, x, y=None):  # a score that depends on image and label
            return DiscOutput(x.sum(1) * (y.double() + 1))

    x = torch.tensor([[0.5, 0.25], [1.0, -0.5], [-0.2, 0.1]], dtype=D64)
    y = torch.tensor([0, 3, 1])
    pair = Pair(LabelCritic(), x, x, y)
    torch.manual_seed(5)
    term = make_hook("matching_aware", {"weight": 2.0}).fn(Ctx("d", None, get_loss("nsgan"), pair))
    torch.manual_seed(5)
    wrong = (y + torch.randint(1, 4, y.shape)) % 4
    assert (wrong != y).all()
    want = 2.0 * F.softplus(x.sum(1) * (wrong.double() + 1)).mean()
    assert float(term) == pytest.approx(float(want), rel=1e-12)


def test_weight_clip_runs_after_the_optimiser_step_and_only_on_d():
    sets = ["train.batch_size=8", "model.width=8", "model.z_dim=8", "eval.metrics=[]",
            "regularizers.weight_clip.c=0.003", "optim.lr_d=0.5", "optim.lr_g=0.5"]  # fmt: skip
    run = trainer.build_run(load_config("wgan", sets=sets))
    trainer.train_step(run)
    d = torch.cat([p.detach().flatten() for p in run.models["d"].parameters()])
    g = torch.cat([p.detach().flatten() for p in run.models["g"].parameters()])
    assert float(d.abs().max()) == pytest.approx(0.003)  # clipped after a huge step
    assert float(g.abs().max()) > 0.01


def test_net_hooks_see_the_side_being_updated():
    seen = []
    sets = ["train.batch_size=8", "model.width=8", "model.z_dim=8", "eval.metrics=[]",
            "regularizers.orthogonal.nets=['g', 'd']"]  # fmt: skip
    run = trainer.build_run(load_config("dcgan", sets=sets))
    fn = run.hooks["orthogonal"].fn
    run.hooks["orthogonal"].fn = lambda c: (seen.append((c.stage, c.net)), fn(c))[1]
    logs = trainer.train_step(run)
    assert [s for s, _ in seen] == ["d", "g"]
    assert seen[0][1] is run.models["d"] and seen[1][1] is run.models["g"]
    assert logs["d/orthogonal"] > 0 and logs["g/orthogonal"] > 0


# --- layers -----------------------------------------------------------------------------


def test_self_attention_equals_an_explicit_softmax_over_input_positions():
    torch.manual_seed(1)
    att = SelfAttention(16).double()
    with torch.no_grad():
        att.gamma.fill_(0.7)
    x = torch.randn(2, 16, 3, 4, dtype=D64)
    f = torch.einsum("oc,bcn->bon", att.f.weight[:, :, 0, 0], x.flatten(2))
    g = torch.einsum("oc,bcn->bon", att.g.weight[:, :, 0, 0], x.flatten(2))
    h = torch.einsum("oc,bcn->bon", att.h.weight[:, :, 0, 0], x.flatten(2))
    out = torch.zeros_like(h)
    for j in range(12):  # output position j attends over input positions i
        s = torch.einsum("bc,bci->bi", f[:, :, j], g)
        beta = torch.exp(s) / torch.exp(s).sum(1, keepdim=True)
        out[:, :, j] = torch.einsum("bi,bci->bc", beta, h)
    o = torch.einsum("oc,bcn->bon", att.v.weight[:, :, 0, 0], out).view_as(x)
    assert torch.allclose(att(x), x + 0.7 * o, atol=1e-10)


def test_minibatch_discrimination_by_an_explicit_double_loop():
    torch.manual_seed(2)
    mbd = MinibatchDiscrimination(5, kernels=3, kernel_dim=2).double()
    f = torch.randn(4, 5, dtype=D64) * 0.5
    m = (f @ mbd.T).view(4, 3, 2)
    o = torch.zeros(4, 3, dtype=D64)
    for i in range(4):
        for j in range(4):
            if i != j:
                o[i] += torch.exp(-(m[i] - m[j]).abs().sum(-1))
    assert torch.allclose(mbd(f), torch.cat([f, o], 1), atol=1e-12)


def test_virtual_batch_norm_mixes_one_example_into_the_reference_statistics():
    vbn = VirtualBatchNorm(2, n_ref=3, eps=0.0).double()
    with torch.no_grad():
        vbn.weight.copy_(torch.tensor([2.0, 0.5]))
        vbn.bias.copy_(torch.tensor([0.1, -0.3]))
    ref = torch.tensor([[1.0, 0.0], [2.0, 4.0], [6.0, 2.0]], dtype=D64)
    x = torch.tensor([[3.0, -2.0]], dtype=D64)
    out = vbn(torch.cat([ref, x]))
    for c in range(2):
        values = torch.cat([ref[:, c], x[:, c]])  # n reference rows + the example itself
        mean, var = values.mean(), values.var(unbiased=False)
        want = (x[0, c] - mean) / var.sqrt() * vbn.weight[c] + vbn.bias[c]
        assert float(out[3, c].detach()) == pytest.approx(float(want.detach()), rel=1e-10)
        r = ref[:, c]
        want_ref = (r - r.mean()) / r.var(unbiased=False).sqrt() * vbn.weight[c] + vbn.bias[c]
        assert torch.allclose(out[:3, c], want_ref.detach(), atol=1e-10)


def test_autoencoder_energy_is_the_per_sample_mean_reconstruction_error():
    spec = NetSpec(1, (8, 8), width=4)
    x = torch.randn(3, 1, 8, 8)
    for distance in ("l1", "l2"):
        D = DISCRIMINATORS.get("autoencoder")(spec, distance=distance, code_dim=5)
        code = D.encoder(x)
        h = D.expand(code).view(3, -1, *D.base)
        recon = D.decoder(F.elu(h))
        err = (recon - x).abs() if distance == "l1" else (recon - x) ** 2
        out = D(x)
        assert torch.allclose(out.score, err.mean((1, 2, 3)), atol=1e-6)
        assert torch.equal(out.embedding, code)


def test_laplacian_pyramid_levels_are_averages_and_band_passes():
    x = torch.arange(16.0, dtype=D64).view(1, 1, 4, 4) ** 1.5
    coarsest, residuals, coarse = laplacian_pyramid(x, 2)
    want = torch.tensor([[x[0, 0, :2, :2].mean(), x[0, 0, :2, 2:].mean()],
                         [x[0, 0, 2:, :2].mean(), x[0, 0, 2:, 2:].mean()]])  # fmt: skip
    assert torch.allclose(coarsest[0, 0], want.double())
    assert torch.allclose(residuals[0], x - coarse[0])


def test_cycle_distances_by_hand_and_ema_schedule():
    a = torch.tensor([1.0, -2.0, 0.5])
    b = torch.tensor([0.0, 1.0, 0.5])
    assert float(cycle_distance(a, b, "l1")) == pytest.approx(4 / 3)
    assert float(cycle_distance(a, b, "l2")) == pytest.approx(10 / 3)
    assert ema_decay(4, 0.9, 5) == 0.0 and ema_decay(5, 0.9, 5) == 0.9


def test_centred_pulling_away_ignores_an_offset_shared_by_the_batch():
    s = torch.tensor([[1.0, 0.0, 2.0], [0.0, 1.0, -1.0], [2.0, -1.0, 0.5]], dtype=D64)
    shift = torch.tensor([50.0, -20.0, 30.0], dtype=D64)  # a large shared component
    raw = make_hook("pulling_away", {"weight": 1.0})
    centred = make_hook("pulling_away", {"weight": 1.0, "centered": True})

    def value(hook, emb):
        out = DiscOutput(emb[:, 0], embedding=emb)
        return float(hook.fn(Ctx("g", None, None, None, None, out)))

    assert value(raw, s + shift) > 0.95  # every cosine ≈ 1: the ceiling
    assert value(centred, s + shift) == pytest.approx(value(centred, s), rel=1e-10)
    assert value(centred, s) == pytest.approx(float(pulling_away(s - s.mean(0))), rel=1e-12)


def test_norm_layers_normalise_over_their_own_axes():
    from fluidgan.gan.architectures.base import norm_layer

    x = torch.randn(4, 6, 5, 5) * torch.arange(1.0, 7.0)[None, :, None, None] + 3.0
    layer = norm_layer("layer", 6)(x)  # one group: per sample over (C, H, W)
    assert torch.allclose(layer.mean((1, 2, 3)), torch.zeros(4), atol=1e-5)
    assert not torch.allclose(layer.mean((2, 3)), torch.zeros(4, 6), atol=1e-2)
    inst = norm_layer("instance", 6)(x)  # per sample and channel over (H, W)
    assert torch.allclose(inst.mean((2, 3)), torch.zeros(4, 6), atol=1e-5)
    batch = norm_layer("batch", 6)(x)  # per channel over (B, H, W)
    assert torch.allclose(batch.mean((0, 2, 3)), torch.zeros(6), atol=1e-5)
    assert not torch.allclose(batch.mean((2, 3)), torch.zeros(4, 6), atol=1e-3)
    flat = torch.randn(4, 6) * 3 + 1
    assert torch.allclose(
        norm_layer("layer", 6, flat=True)(flat).mean(1), torch.zeros(4), atol=1e-5
    )
    assert torch.allclose(
        norm_layer("batch", 6, flat=True)(flat).mean(0), torch.zeros(6), atol=1e-5
    )
    assert isinstance(norm_layer("none", 6), nn.Identity)


def test_the_autoencoder_discriminator_refuses_labels():
    from fluidgan.errors import UserError

    spec = NetSpec(1, (8, 8), width=4, num_classes=3, conditional="concat")
    with pytest.raises(UserError, match="autoencoder"):
        DISCRIMINATORS.get("autoencoder")(spec)


def test_patch_critic_has_no_norm_on_its_first_layer_and_translators_check_norm():
    from fluidgan.errors import UserError
    from fluidgan.gan.architectures import TRANSLATORS

    D = DISCRIMINATORS.get("patch")(NetSpec(1, (16, 16), width=4), norm="batch")
    norms = [type(block[1]) for block in D.blocks]
    assert norms[0] is nn.Identity and all(n is nn.BatchNorm2d for n in norms[1:])
    for name in ("resnet", "unet", "encoder_decoder"):
        with pytest.raises(UserError, match="model.g.norm"):
            TRANSLATORS.get(name)(NetSpec(1, (16, 16), width=4), norm="layer")


def test_the_config_defaults_are_the_dcgan_preset():
    from fluidgan.config import to_dict

    defaults, dcgan = to_dict(load_config({})), to_dict(load_config("dcgan"))
    for section in ("model", "loss", "optim", "data", "train", "regularizers"):
        assert defaults[section] == dcgan[section], section
