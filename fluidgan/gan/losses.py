"""Adversarial losses, registered by name: ``get_loss("nsgan").d_loss(real_out, fake_out)``.

Every loss here splits into a real and a fake part for the discriminator,
``L_D = d_real(D(x)) + d_fake(D(G(z)))``, and one term for the generator,
``L_G = g(D(G(z)))``. Outputs may have any shape (B,) or (B, h, w); every term is a mean
over all of them, so patch critics need nothing special. tempoGAN takes its adversarial
loss from this registry; its default, 'nsgan', is BCE on logits:
``L_D = BCE(D(x), 1) + BCE(D(G(z)), 0)``, ``L_G = BCE(D(G(z)), 1)``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

from fluidgan.errors import UserError
from fluidgan.registry import Registry

Term = Callable[[Tensor], Tensor]


@dataclass
class Loss:
    """An adversarial loss: ``d_loss(real_out, fake_out)`` and ``g_loss(fake_out)``.

    logits: D's output is the logit of P(real) (one-sided label smoothing applies).
    companion: the regulariser without which this loss is not the paper's (WGAN's weight
        clipping, WGAN-GP's penalty); the config adds it with defaults when absent.
    update: for stateful losses (BEGAN's k_t), called after every D step with detached
        outputs; returns values to log. ``state`` is saved in checkpoints.
    energy: D's output is an energy (an autoencoder's reconstruction error), not a logit
        or a critic score: the loss needs an autoencoder discriminator.
    """

    name: str
    d_real: Term
    d_fake: Term
    g: Term
    logits: bool = False
    companion: str | None = None
    update: Callable[[Tensor, Tensor], dict[str, float]] | None = None
    state: dict[str, Any] = field(default_factory=dict)
    energy: bool = False

    def d_loss(self, real_out: Tensor, fake_out: Tensor) -> Tensor:
        return self.d_real(real_out) + self.d_fake(fake_out)

    def g_loss(self, fake_out: Tensor) -> Tensor:
        return self.g(fake_out)

    def after_d_step(self, real_out: Tensor, fake_out: Tensor) -> dict[str, float]:
        return {} if self.update is None else self.update(real_out.detach(), fake_out.detach())


LOSSES: Registry[Callable[..., Loss]] = Registry("adversarial loss")


def get_loss(name: str, **params: Any) -> Loss:
    """The loss registered as ``name``, built with ``params`` (UserError lists valid ones)."""
    LOSSES.check_options(name, params, "loss.params")
    return LOSSES.get(name)(**params)


@LOSSES.register("mmgan")
def mmgan() -> Loss:
    """Minimax GAN (Goodfellow et al. 2014), D outputs logits v, D(x) = σ(v).

    L_D = -E log D(x) - E log(1 - D(G(z)));  L_G = E log(1 - D(G(z)))  (saturating).
    """
    return Loss(
        "mmgan",
        d_real=lambda r: F.softplus(-r).mean(),
        d_fake=lambda f: F.softplus(f).mean(),
        g=lambda f: -F.softplus(f).mean(),
        logits=True,
    )


@LOSSES.register("nsgan")
def nsgan() -> Loss:
    """Non-saturating GAN (Goodfellow et al. 2014), BCE on logits v, D(x) = σ(v).

    L_D = BCE(D(x), 1) + BCE(D(G(z)), 0);  L_G = BCE(D(G(z)), 1) = -E log D(G(z)).
    """
    return Loss(
        "nsgan",
        d_real=lambda r: F.softplus(-r).mean(),
        d_fake=lambda f: F.softplus(f).mean(),
        g=lambda f: F.softplus(-f).mean(),
        logits=True,
    )


@LOSSES.register("lsgan")
def lsgan(a: float = 0.0, b: float = 1.0, c: float = 1.0) -> Loss:
    """Least squares GAN (Mao et al. 2017) with fake code a, real code b, G's target c.

    L_D = ½ E (D(x) - b)² + ½ E (D(G(z)) - a)²;  L_G = ½ E (D(G(z)) - c)².
    """
    return Loss(
        "lsgan",
        d_real=lambda r: 0.5 * ((r - b) ** 2).mean(),
        d_fake=lambda f: 0.5 * ((f - a) ** 2).mean(),
        g=lambda f: 0.5 * ((f - c) ** 2).mean(),
    )


def _wasserstein(name: str, companion: str) -> Loss:
    return Loss(
        name,
        d_real=lambda r: -r.mean(),
        d_fake=lambda f: f.mean(),
        g=lambda f: -f.mean(),
        companion=companion,
    )


@LOSSES.register("wgan")
def wgan() -> Loss:
    """Wasserstein GAN (Arjovsky et al. 2017); the critic is kept Lipschitz by clipping.

    L_D = E D(G(z)) - E D(x);  L_G = -E D(G(z)).  Companion: 'weight_clip'.
    """
    return _wasserstein("wgan", "weight_clip")


@LOSSES.register("wgan_gp")
def wgan_gp() -> Loss:
    """WGAN-GP (Gulrajani et al. 2017): the WGAN loss, Lipschitz by a gradient penalty.

    L_D = E D(G(z)) - E D(x) + λ E (‖∇D(x̂)‖ - 1)²;  L_G = -E D(G(z)).
    Companion: 'gradient_penalty'.
    """
    return _wasserstein("wgan_gp", "gradient_penalty")


@LOSSES.register("hinge")
def hinge() -> Loss:
    """Hinge loss (Lim & Ye 2017; SAGAN, BigGAN).

    L_D = E max(0, 1 - D(x)) + E max(0, 1 + D(G(z)));  L_G = -E D(G(z)).
    """
    return Loss(
        "hinge",
        d_real=lambda r: F.relu(1.0 - r).mean(),
        d_fake=lambda f: F.relu(1.0 + f).mean(),
        g=lambda f: -f.mean(),
    )


# --- f-GAN ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Divergence:
    """An f-divergence D_f(P‖Q) = ∫ q f(p/q) in the variational form of f-GAN.

    f: the convex generator, f(1) = 0; f_prime: its derivative (for tests: the optimal
    T(x) = f'(p(x)/q(x))); activation g_f: maps the raw output v into dom f*;
    conjugate f*(t) = sup_u (t u - f(u)); conjugate_of_activation: f*(g_f(v)) written
    in a numerically stable closed form.
    """

    f: Callable[[Tensor], Tensor]
    f_prime: Callable[[Tensor], Tensor]
    activation: Callable[[Tensor], Tensor]
    conjugate: Callable[[Tensor], Tensor]
    conjugate_of_activation: Callable[[Tensor], Tensor]


LOG2 = math.log(2.0)

# Nowozin, Cseke & Tomioka 2016, Tables 1 and 2; listed in the paper's order.
DIVERGENCES: Registry[Divergence] = Registry("f-divergence", ordered=True)
DIVERGENCES.register("kl")(
    Divergence(
        f=lambda u: u * torch.log(u),
        f_prime=lambda u: 1 + torch.log(u),
        activation=lambda v: v,
        conjugate=lambda t: torch.exp(t - 1),
        conjugate_of_activation=lambda v: torch.exp(v - 1),
    )
)
DIVERGENCES.register("reverse_kl")(
    Divergence(
        f=lambda u: -torch.log(u),
        f_prime=lambda u: -1 / u,
        activation=lambda v: -torch.exp(-v),
        conjugate=lambda t: -1 - torch.log(-t),
        conjugate_of_activation=lambda v: v - 1,
    )
)
DIVERGENCES.register("pearson")(
    Divergence(
        f=lambda u: (u - 1) ** 2,
        f_prime=lambda u: 2 * (u - 1),
        activation=lambda v: v,
        conjugate=lambda t: t**2 / 4 + t,
        conjugate_of_activation=lambda v: v**2 / 4 + v,
    )
)
DIVERGENCES.register("hellinger")(
    Divergence(
        f=lambda u: (torch.sqrt(u) - 1) ** 2,
        f_prime=lambda u: 1 - 1 / torch.sqrt(u),
        activation=lambda v: 1 - torch.exp(-v),
        conjugate=lambda t: t / (1 - t),
        conjugate_of_activation=lambda v: torch.expm1(v),
    )
)
DIVERGENCES.register("js")(
    Divergence(
        f=lambda u: -(u + 1) * torch.log((1 + u) / 2) + u * torch.log(u),
        f_prime=lambda u: torch.log(2 * u / (1 + u)),
        activation=lambda v: LOG2 - F.softplus(-v),
        conjugate=lambda t: -torch.log(2 - torch.exp(t)),
        conjugate_of_activation=lambda v: F.softplus(v) - LOG2,
    )
)


@LOSSES.register("fgan")
def fgan(divergence: str = "js") -> Loss:
    """f-GAN (Nowozin et al. 2016): minimise a variational bound on D_f(P_data‖P_G).

    With T = g_f(V(x)): F = E_P[T(x)] - E_Q[f*(T(G(z)))],
    L_D = -F = -E g_f(V(x)) + E f*(g_f(V(G(z))));
    L_G = -E g_f(V(G(z)))  (the paper's non-saturating alternative to minimising F).
    divergence: kl, reverse_kl, pearson (χ²), hellinger (squared Hellinger), js.
    """
    if divergence not in DIVERGENCES:
        raise UserError(
            f"loss.params.divergence is {divergence!r}; valid: {', '.join(DIVERGENCES)}"
        )
    div = DIVERGENCES[divergence]
    return Loss(
        f"fgan_{divergence}",
        d_real=lambda r: -div.activation(r).mean(),
        d_fake=lambda f: div.conjugate_of_activation(f).mean(),
        g=lambda f: -div.activation(f).mean(),
    )


# --- energy based -----------------------------------------------------------------------


@LOSSES.register("ebgan")
def ebgan(margin: float = 1.0) -> Loss:
    """EBGAN (Zhao, Mathieu & LeCun 2017); D(x) ≥ 0 is an energy (autoencoder error).

    L_D = E D(x) + E max(0, m - D(G(z)));  L_G = E D(G(z)).
    The pulling-away term is the 'pulling_away' regulariser.
    """
    return Loss(
        "ebgan",
        energy=True,
        d_real=lambda r: r.mean(),
        d_fake=lambda f: F.relu(margin - f).mean(),
        g=lambda f: f.mean(),
    )


@LOSSES.register("began")
def began(gamma: float = 0.5, lambda_k: float = 1e-3, k0: float = 0.0) -> Loss:
    """BEGAN (Berthelot, Schumm & Metz 2017); D(x) = L(x) = |x - AE(x)| per sample.

    L_D = L(x) - k_t L(G(z));  L_G = L(G(z));
    k_{t+1} = clip(k_t + λ_k (γ L(x) - L(G(z))), 0, 1)  after each D step;
    convergence measure M = L(x) + |γ L(x) - L(G(z))|  (logged as 'M').
    """
    state = {"k": float(k0)}

    def update(real_out: Tensor, fake_out: Tensor) -> dict[str, float]:
        lr, lf = float(real_out.mean()), float(fake_out.mean())
        balance = gamma * lr - lf
        state["k"] = min(max(state["k"] + lambda_k * balance, 0.0), 1.0)
        return {"k": state["k"], "M": lr + abs(balance)}

    return Loss(
        "began",
        energy=True,
        d_real=lambda r: r.mean(),
        d_fake=lambda f: -state["k"] * f.mean(),
        g=lambda f: f.mean(),
        update=update,
        state=state,
    )
