from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from fluidgan.errors import UserError
from fluidgan.gan.losses import DIVERGENCES, LOSSES, get_loss

R = torch.tensor([0.0, 2.0], dtype=torch.float64)
FK = torch.tensor([0.0, -1.0], dtype=torch.float64)


def sp(x: float) -> float:
    """softplus by hand"""
    return math.log(1 + math.exp(x))


def test_nsgan_by_hand_and_equals_torch_bce():
    loss = get_loss("nsgan")
    d = (sp(0) + sp(-2)) / 2 + (sp(0) + sp(-1)) / 2
    assert float(loss.d_loss(R, FK)) == pytest.approx(d, rel=1e-12)
    assert float(loss.g_loss(FK)) == pytest.approx((sp(0) + sp(1)) / 2, rel=1e-12)
    bce = F.binary_cross_entropy_with_logits
    torch_d = bce(R, torch.ones_like(R)) + bce(FK, torch.zeros_like(FK))
    assert float(loss.d_loss(R, FK)) == pytest.approx(float(torch_d), rel=1e-12)
    assert float(loss.g_loss(FK)) == pytest.approx(float(bce(FK, torch.ones_like(FK))))


def test_mmgan_generator_is_mean_log_one_minus_d():
    loss = get_loss("mmgan")
    want = torch.log(1 - torch.sigmoid(FK)).mean()
    assert float(loss.g_loss(FK)) == pytest.approx(float(want), rel=1e-12)
    assert float(loss.d_loss(R, FK)) == pytest.approx(float(get_loss("nsgan").d_loss(R, FK)))


def test_lsgan_by_hand():
    r, f = torch.tensor([1.0, 3.0]), torch.tensor([0.0, 2.0])
    loss = get_loss("lsgan")
    assert float(loss.d_loss(r, f)) == pytest.approx(0.5 * 2 + 0.5 * 2)
    assert float(loss.g_loss(f)) == pytest.approx(0.5)
    loss = get_loss("lsgan", a=-1.0, b=1.0, c=0.0)
    assert float(loss.d_loss(r, f)) == pytest.approx(0.5 * 2 + 0.5 * 5)
    assert float(loss.g_loss(f)) == pytest.approx(1.0)


def test_hinge_and_wasserstein_by_hand():
    r, f = torch.tensor([0.5, 2.0]), torch.tensor([-2.0, 0.5])
    hinge = get_loss("hinge")
    assert float(hinge.d_loss(r, f)) == pytest.approx(0.25 + 0.75)
    assert float(hinge.g_loss(f)) == pytest.approx(0.75)
    for name, companion in (("wgan", "weight_clip"), ("wgan_gp", "gradient_penalty")):
        w = get_loss(name)
        assert float(w.d_loss(r, f)) == pytest.approx(-0.75 - 1.25)
        assert float(w.g_loss(f)) == pytest.approx(0.75)
        assert w.companion == companion


def test_patch_outputs_are_averaged():
    r = torch.full((2, 3, 3), 0.5)
    assert float(get_loss("hinge").d_real(r)) == pytest.approx(0.5)


U = torch.tensor([0.3, 1.0, 2.5], dtype=torch.float64)


@pytest.mark.parametrize("name", sorted(DIVERGENCES))
def test_fgan_fenchel_young_equality_at_the_optimum(name):
    """f*(f'(u)) = u f'(u) - f(u): the variational bound is tight at T = f'(p/q)."""
    div = DIVERGENCES[name]
    t = div.f_prime(U)
    assert torch.allclose(div.conjugate(t), U * t - div.f(U), atol=1e-12)
    assert float(div.f(torch.tensor(1.0, dtype=torch.float64))) == pytest.approx(0, abs=1e-12)


@pytest.mark.parametrize("name", sorted(DIVERGENCES))
def test_fgan_fenchel_inequality_and_stable_composite(name):
    div = DIVERGENCES[name]
    v = torch.linspace(-2, 2, 9, dtype=torch.float64)
    t = div.activation(v)
    assert torch.allclose(div.conjugate_of_activation(v), div.conjugate(t), atol=1e-12)
    u = torch.tensor([0.1, 0.5, 1.7, 4.0], dtype=torch.float64)
    # sup_u (t u - f(u)) = f*(t) >= t u - f(u) for every u
    assert (div.conjugate(t)[:, None] >= t[:, None] * u - div.f(u) - 1e-12).all()


def test_fgan_conjugates_at_chosen_points():
    at = {
        "kl": (1.0, 1.0),
        "reverse_kl": (-1.0, -1.0),
        "pearson": (2.0, 3.0),
        "hellinger": (0.5, 1.0),
        "js": (0.0, 0.0),
    }
    for name, (t, want) in at.items():
        got = DIVERGENCES[name].conjugate(torch.tensor(t, dtype=torch.float64))
        assert float(got) == pytest.approx(want, abs=1e-12), name


def test_fgan_bound_recovers_the_divergence_of_two_discrete_distributions():
    p = torch.tensor([0.2, 0.5, 0.3], dtype=torch.float64)
    q = torch.tensor([0.4, 0.4, 0.2], dtype=torch.float64)
    for name, div in DIVERGENCES.items():
        T = div.f_prime(p / q)
        bound = (p * T).sum() - (q * div.conjugate(T)).sum()
        assert float(bound) == pytest.approx(float((q * div.f(p / q)).sum()), rel=1e-10), name


def test_fgan_loss_uses_activation_and_conjugate():
    r, f = torch.tensor([0.3, -0.4]), torch.tensor([0.1, 0.7])
    div = DIVERGENCES["hellinger"]
    loss = get_loss("fgan", divergence="hellinger")
    want = -div.activation(r).mean() + div.conjugate(div.activation(f)).mean()
    assert float(loss.d_loss(r, f)) == pytest.approx(float(want), rel=1e-6)
    assert float(loss.g_loss(f)) == pytest.approx(float(-div.activation(f).mean()))


def test_ebgan_by_hand():
    r, f = torch.tensor([0.2, 0.4]), torch.tensor([0.1, 2.0])
    loss = get_loss("ebgan", margin=1.0)
    assert float(loss.d_loss(r, f)) == pytest.approx(0.3 + 0.45)
    assert float(loss.g_loss(f)) == pytest.approx(1.05)


def test_began_k_control_and_convergence_measure():
    r, f = torch.tensor([0.2, 0.4]), torch.tensor([0.1, 2.0])
    loss = get_loss("began", gamma=0.5, lambda_k=0.1, k0=0.5)
    assert float(loss.d_loss(r, f)) == pytest.approx(0.3 - 0.5 * 1.05)
    logs = loss.after_d_step(r, f)  # balance = 0.5*0.3 - 1.05 = -0.9
    assert logs["k"] == pytest.approx(0.5 - 0.09)
    assert logs["M"] == pytest.approx(0.3 + 0.9)
    assert float(loss.d_loss(r, f)) == pytest.approx(0.3 - 0.41 * 1.05)
    for _ in range(10):
        loss.after_d_step(r, f)
    assert loss.state["k"] == 0.0  # clipped into [0, 1]


def test_unknown_names_and_params_list_the_valid_ones():
    with pytest.raises(UserError, match="nsgan"):
        get_loss("nope")
    with pytest.raises(UserError, match="a, b, c"):
        get_loss("lsgan", q=1)
    with pytest.raises(UserError, match="hellinger"):
        get_loss("fgan", divergence="tv")
    assert {"mmgan", "nsgan", "lsgan", "wgan", "wgan_gp", "hinge", "fgan", "ebgan", "began"} <= set(
        LOSSES.names()
    )


def test_exactly_the_energy_losses_are_flagged_and_tempogan_refuses_them():
    """The energy flag marks the losses whose D is an autoencoder: tempoGAN's logit
    discriminators cannot run them (a flag lost or set on a logit loss fails here)."""
    from fluidgan.errors import UserError
    from fluidgan.gan.losses import LOSSES
    from fluidgan.train.config import LossConfig

    energy = {name for name in LOSSES if LOSSES[name]().energy}
    assert energy == {"ebgan", "began"}
    for name in LOSSES:
        if name in energy:
            with pytest.raises(UserError, match="autoencoder discriminator"):
                LossConfig(adversarial=name)
        else:
            assert LossConfig(adversarial=name).adversarial == name
