from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from fluidgan.errors import UserError
from fluidgan.gan.core import Ctx, DiscOutput, Pair
from fluidgan.gan.losses import get_loss
from fluidgan.gan.regularizers import (
    clamp_top_singular_value_,
    clip_weights_,
    feature_matching,
    gradient_penalty,
    make_hook,
    orthogonal_penalty,
    pulling_away,
    r1_penalty,
    weight_matrices,
)


def test_gradient_penalty_of_a_linear_critic():
    """D(x) = w·x has ‖∇D‖ = ‖w‖ everywhere: GP = (‖w‖ - 1)² exactly."""
    w = torch.tensor([3.0, 4.0], dtype=torch.float64)
    real, fake = torch.randn(8, 2, dtype=torch.float64), torch.randn(8, 2, dtype=torch.float64)
    assert float(gradient_penalty(lambda x: x @ w, real, fake)) == pytest.approx(16.0)
    unit = w / 5
    assert float(gradient_penalty(lambda x: x @ unit, real, fake)) == pytest.approx(0, abs=1e-12)


def test_gradient_penalty_is_trainable():
    lin = nn.Linear(2, 1, bias=False)
    gp = gradient_penalty(lambda x: lin(x).squeeze(1), torch.randn(4, 2), torch.randn(4, 2))
    gp.backward()
    w = lin.weight.detach()[0]
    want = 2 * (w.norm() - 1) * w / w.norm()  # d/dw (‖w‖ - 1)²
    assert torch.allclose(lin.weight.grad[0], want, atol=1e-5)


def test_r1_of_a_known_function():
    """D(x) = Σ x² has ∇D = 2x: E‖∇D‖² = 4 E‖x‖²; R1 = γ/2 of that."""
    x = torch.randn(6, 1, 3, 3, dtype=torch.float64)
    critic = lambda v: (v**2).flatten(1).sum(1)  # noqa: E731
    want = 4 * (x**2).flatten(1).sum(1).mean()
    assert float(r1_penalty(critic, x).detach()) == pytest.approx(float(want), rel=1e-12)
    disc = lambda v, cond=None: DiscOutput(critic(v))  # noqa: E731
    hook = make_hook("r1", {"gamma": 10.0})
    ctx = Ctx("d", nn.Module(), None, Pair(disc, x, x))
    assert float(hook.fn(ctx).detach()) == pytest.approx(5 * float(want), rel=1e-12)


def test_orthogonal_penalty():
    q, _ = torch.linalg.qr(torch.randn(6, 6, dtype=torch.float64))
    assert float(orthogonal_penalty([q])) == pytest.approx(0, abs=1e-20)
    assert float(orthogonal_penalty([3 * q[:4]])) == pytest.approx(0, abs=1e-20)  # norms free
    w = torch.tensor([[1.0, 2.0], [3.0, 4.0]])  # W Wᵀ = [[5, 11], [11, 25]]
    assert float(orthogonal_penalty([w])) == pytest.approx(2 * 11**2)
    conv = torch.zeros(2, 1, 2, 2)  # filters are rows after reshaping to (out, -1)
    conv[0, 0, 0, 0], conv[1, 0, 1, 1] = 1.0, 1.0
    assert float(orthogonal_penalty([conv])) == 0.0


def test_weight_matrices_finds_raw_weights_under_spectral_norm():
    net = nn.Sequential(
        nn.utils.parametrizations.spectral_norm(nn.Linear(3, 4)),
        nn.Conv2d(2, 5, 3),
        nn.BatchNorm2d(5),
    )
    shapes = sorted(tuple(w.shape) for w in weight_matrices(net))
    assert shapes == [(4, 3), (5, 2, 3, 3)]
    assert all(w.requires_grad for w in weight_matrices(net))
    raw = net[0].parametrizations.weight.original  # the parameter, not W / σ
    assert weight_matrices(net)[0] is raw and raw.is_leaf


def test_top_singular_value_clamp():
    w = torch.randn(5, 3, dtype=torch.float64) * 4
    s = torch.linalg.svdvals(w)
    assert clamp_top_singular_value_(w, 1.5, None) == pytest.approx(float(s[0]))
    s_new = torch.linalg.svdvals(w)  # σ₀ replaced by 1.5, the others untouched
    want = torch.sort(
        torch.cat([torch.tensor([1.5], dtype=torch.float64), s[1:]]), descending=True
    ).values
    assert torch.allclose(s_new, want)
    w2 = torch.randn(4, 2, 3, dtype=torch.float64)
    clamp_top_singular_value_(w2, None, 1.0)  # σ₀ clamped to σ₁
    s2 = torch.linalg.svdvals(w2.flatten(1))
    assert float(s2[0]) == pytest.approx(float(s2[1]), rel=1e-10)


def test_weight_clipping():
    p = nn.Parameter(torch.tensor([-1.0, 0.005, 2.0]))
    clip_weights_([p], 0.01)
    assert p.tolist() == pytest.approx([-0.01, 0.005, 0.01])


def test_feature_matching_and_pulling_away_by_hand():
    f_real = torch.tensor([[1.0, 2.0], [3.0, 4.0]])
    f_fake = torch.tensor([[0.0, 0.0], [2.0, 2.0]])
    assert float(feature_matching(f_real, f_fake)) == pytest.approx(1 + 4)
    assert float(pulling_away(torch.eye(3))) == pytest.approx(0)
    assert float(pulling_away(torch.ones(4, 5))) == pytest.approx(1)
    assert float(pulling_away(torch.tensor([[1.0, 0.0], [1.0, 1.0]]))) == pytest.approx(0.5)


def test_one_sided_label_smoothing_equals_bce_with_target_alpha():
    r, f = torch.randn(7, dtype=torch.float64), torch.randn(7, dtype=torch.float64)
    loss = get_loss("nsgan")
    hook = make_hook("label_smoothing", {"alpha": 0.9})
    ctx = Ctx("d", nn.Module(), loss, None, DiscOutput(r), DiscOutput(f))
    bce = F.binary_cross_entropy_with_logits
    want = bce(r, torch.full_like(r, 0.9)) + bce(f, torch.zeros_like(f))
    assert float(loss.d_loss(r, f) + hook.fn(ctx)) == pytest.approx(float(want), rel=1e-12)
    with pytest.raises(UserError, match="BCE"):
        hook.fn(Ctx("d", nn.Module(), get_loss("hinge"), None, DiscOutput(r), DiscOutput(f)))


def test_historical_averaging_tracks_the_running_mean():
    net = nn.Linear(1, 1, bias=False)
    hook = make_hook("historical_averaging", {"weight": 2.0, "nets": ["d"]})
    with torch.no_grad():
        net.weight.fill_(1.0)
    assert float(hook.fn(Ctx("d", net, None)).detach()) == 0.0  # mean of {1} is 1
    with torch.no_grad():
        net.weight.fill_(3.0)
    assert float(hook.fn(Ctx("d", net, None)).detach()) == pytest.approx(2.0 * (3 - 2) ** 2)
    with torch.no_grad():
        net.weight.fill_(5.0)
    assert float(hook.fn(Ctx("d", net, None)).detach()) == pytest.approx(2.0 * (5 - 3) ** 2)
    assert hook.state["d_t"] == 3


class _RecordingD(nn.Module):
    num_classes = 5

    def __init__(self):
        super().__init__()
        self.seen = []

    def forward(self, x, y=None):
        self.seen.append(y)
        return DiscOutput(torch.zeros(x.shape[0]), class_logits=torch.zeros(x.shape[0], 5))


def test_matching_aware_pairs_real_images_with_wrong_labels():
    disc, y = _RecordingD(), torch.arange(40) % 5
    pair = Pair(disc, torch.randn(40, 2), torch.randn(40, 2), y)
    term = make_hook("matching_aware", {"weight": 1.0}).fn(Ctx("d", disc, get_loss("nsgan"), pair))
    assert (disc.seen[-1] != y).all()
    assert float(term) == pytest.approx(float(F.softplus(torch.zeros(1))))  # d_fake(0)


def test_auxiliary_classifier_terms():
    y = torch.tensor([0, 2])
    real = DiscOutput(torch.zeros(2), class_logits=torch.tensor([[2.0, 0, 0], [0, 0, 1.0]]))
    fake = DiscOutput(torch.zeros(2), class_logits=torch.tensor([[0.0, 1, 0], [0, 0, 0.0]]))
    pair = Pair(nn.Module(), torch.zeros(2), torch.zeros(2), y)
    hook = make_hook("auxiliary_classifier", {})
    ce = F.cross_entropy
    d = hook.fn(Ctx("d", nn.Module(), None, pair, real, fake))
    g = hook.fn(Ctx("g", nn.Module(), None, pair, None, fake))
    want = ce(real.class_logits, y) + ce(fake.class_logits, y)
    assert float(d) == pytest.approx(float(want))
    assert float(g) == pytest.approx(float(ce(fake.class_logits, y)))


def test_unknown_regulariser_and_option():
    with pytest.raises(UserError, match="gradient_penalty"):
        make_hook("gp", {})
    with pytest.raises(UserError, match="gamma"):
        make_hook("r1", {"weight": 1.0})
    with pytest.raises(UserError, match="'g', 'd'"):
        make_hook("orthogonal", {"nets": ["x"]})
    with pytest.raises(UserError, match="exactly one"):
        make_hook("sv_clamp", {})
