"""Regularisers and training tricks: pure functions with the paper's formula, and a
registry of hooks that bind them to the training step.

A hook has a scope:
  'pair'        a term added to the D or G loss for every adversarial pair of the step
                (gradient penalty, R1, feature matching, ...);
  'net'         a term on the weights of the side being updated, once per step
                (orthogonal regularisation, historical averaging);
  'after_step'  an in-place change of the weights after the optimiser step
                (WGAN weight clipping, BigGAN's top-singular-value clamp);
  'fake_batch'  a replacement for the fake batch D sees in its step, returned by
                the hook before D looks at it (CycleGAN's history buffer).
``stages`` says which side(s): "d", "g". Stateful hooks keep tensors in ``state``,
which the trainer checkpoints.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from fluidgan.errors import UserError
from fluidgan.gan.core import Ctx, Pair, Registry

# --- formulas ---------------------------------------------------------------------------


def _input_grad(critic: Callable[[Tensor], Tensor], x: Tensor) -> Tensor:
    """∇_x Σ_i critic(x)_i, kept in the graph so a penalty on it can be trained."""
    x = x.detach().requires_grad_(True)
    out = critic(x)
    (grad,) = torch.autograd.grad(out.sum(), x, create_graph=True)
    return grad.flatten(1)


def gradient_penalty(
    critic: Callable[[Tensor], Tensor], real: Tensor, fake: Tensor, center: float = 1.0
) -> Tensor:
    """WGAN-GP (Gulrajani et al. 2017): E_x̂ (‖∇D(x̂)‖₂ - 1)², x̂ = ε x + (1 - ε) x̃,
    ε ~ U[0, 1] per sample. critic: (B, ...) -> (B,)."""
    eps = torch.rand((real.shape[0],) + (1,) * (real.dim() - 1), device=real.device)
    x_hat = eps * real.detach() + (1 - eps) * fake.detach()
    return ((_input_grad(critic, x_hat).norm(dim=1) - center) ** 2).mean()


def r1_penalty(critic: Callable[[Tensor], Tensor], real: Tensor) -> Tensor:
    """E_x ‖∇D(x)‖² on real data (Mescheder et al. 2018; R1 = γ/2 times this)."""
    return (_input_grad(critic, real) ** 2).sum(dim=1).mean()


def orthogonal_penalty(weights: Iterable[Tensor]) -> Tensor:
    """BigGAN's orthogonal regularisation Σ_W ‖W Wᵀ ⊙ (1 - I)‖²_F (β applied by caller).

    W is each weight reshaped to (out, -1), one row per filter, so filters are pushed
    towards mutual orthogonality without constraining their norms. Its gradient is
    ∂/∂W = 4 (W Wᵀ ⊙ (1 - I)) W: every off-diagonal product appears twice, (i, j) and
    (j, i), and is squared.
    """
    total = torch.zeros(())
    for w in weights:
        w = w.flatten(1)
        gram = w @ w.t()
        off = gram * (1 - torch.eye(gram.shape[0], device=w.device, dtype=w.dtype))
        total = total.to(w.device) + (off**2).sum()
    return total


@torch.no_grad()
def clamp_top_singular_value_(weight: Tensor, clamp: float | None, ratio: float | None) -> float:
    """BigGAN appendix: W ← W - max(0, σ₀ - σ_clamp) u₀ v₀ᵀ on W as (out, -1);
    σ_clamp = ``clamp`` or ``ratio`` · σ₁. Returns σ₀ before clamping."""
    w = weight.flatten(1)
    u, s, vh = torch.linalg.svd(w, full_matrices=False)
    limit = clamp if clamp is not None else ratio * float(s[1] if len(s) > 1 else s[0])
    excess = max(0.0, float(s[0]) - limit)
    if excess > 0:
        w -= excess * torch.outer(u[:, 0], vh[0])
        weight.copy_(w.view_as(weight))
    return float(s[0])


@torch.no_grad()
def clip_weights_(params: Iterable[Tensor], c: float) -> None:
    """WGAN (Arjovsky et al. 2017): every weight clipped into [-c, c]."""
    for p in params:
        p.clamp_(-c, c)


def feature_matching(f_real: Tensor, f_fake: Tensor) -> Tensor:
    """Salimans et al. 2016: ‖E_x f(x) - E_z f(G(z))‖²₂ on D's features (B, ...)."""
    return ((f_real.flatten(1).mean(0) - f_fake.flatten(1).mean(0)) ** 2).sum()


def pulling_away(s: Tensor) -> Tensor:
    """EBGAN's pulling-away term on embeddings s: (N, E), N ≥ 2:
    f_PT = 1/(N(N-1)) Σ_{i≠j} (s_iᵀ s_j / (‖s_i‖ ‖s_j‖))²."""
    n = s.shape[0]
    unit = F.normalize(s.flatten(1), dim=1)
    cos2 = (unit @ unit.t()) ** 2
    return (cos2.sum() - cos2.diagonal().sum()) / (n * (n - 1))


def pixelwise_l1(fake: Tensor, target: Tensor) -> Tensor:
    """TP-GAN (Huang et al. 2017) pixel-wise loss 1/(W H) Σ_{x,y} |I_pred - I_gt|, here
    the mean over every element of (B, C, *spatial): fake against its paired target."""
    return (fake - target).abs().mean()


def symmetry_loss(x: Tensor) -> Tensor:
    """TP-GAN's left-right symmetry loss on (B, C, *spatial), the last axis horizontal
    (width W): 1/(W/2 · H) Σ_{x < W/2} Σ_y |I(x, y) - I(W - 1 - x, y)|, a mean over the
    left half (the middle column of an odd W is its own mirror and is left out),
    channels and batch."""
    half = x.shape[-1] // 2
    if half == 0:  # one column: its own mirror
        return x.sum() * 0.0
    return (x[..., :half] - x.flip(-1)[..., :half]).abs().mean()


def total_variation(x: Tensor) -> Tensor:
    """TP-GAN's total variation Σ_c Σ_{w,h} |I_{w+1,h} - I_{w,h}| + |I_{w,h+1} - I_{w,h}|
    (anisotropic, L1), summed over each image's channels and every spatial axis of
    (B, C, *spatial), then averaged over the batch."""
    total = torch.zeros((), device=x.device, dtype=x.dtype)
    for axis in range(2, x.dim()):
        total = total + x.diff(dim=axis).abs().sum()
    return total / x.shape[0]


def historical_average_penalty(params: Sequence[Tensor], averages: Sequence[Tensor]) -> Tensor:
    """Salimans et al. 2016: ‖θ - (1/t) Σ_{i≤t} θ[i]‖² summed over all parameters."""
    return sum(((p - a) ** 2).sum() for p, a in zip(params, averages, strict=True))


def history_query(pool: Tensor | None, fake: Tensor, size: int, p: float):
    """Shrivastava et al. 2017, CycleGAN's image pool: D sees a mix of the newest fakes
    and ones from earlier steps. Image by image: while the pool holds fewer than
    ``size``, the image is stored and returned; afterwards, with probability ``p`` a
    uniformly chosen stored image is returned and the new one takes its place, else the
    new image is returned. fake: (B, ...) detached; pool: (n ≤ size, ...) or None.
    Returns (the batch for D, the new pool); random draws from torch's global RNG."""
    stored = [] if pool is None else list(pool.unbind(0))
    out = []
    for image in fake.detach().unbind(0):
        if len(stored) < size:
            stored.append(image)
            out.append(image)
        elif float(torch.rand(())) < p:
            i = int(torch.randint(0, size, ()))
            out.append(stored[i])
            stored[i] = image
        else:
            out.append(image)
    return torch.stack(out), torch.stack(stored)


def weight_matrices(net: nn.Module) -> list[Tensor]:
    """The trainable weights of every conv / linear layer (raw, under spectral norm too)."""
    out = []
    for m in net.modules():
        if isinstance(m, (nn.Linear, nn.modules.conv._ConvNd)):
            pz = getattr(m, "parametrizations", None)
            out.append(pz.weight.original if pz is not None and "weight" in pz else m.weight)
    return out


# --- hooks ------------------------------------------------------------------------------

Scope = Literal["pair", "net", "after_step", "fake_batch"]


@dataclass
class Hook:
    stages: tuple[str, ...]
    scope: Scope
    fn: Callable[[Ctx], Tensor | None]
    state: dict[str, Any] = field(default_factory=dict)


REGULARIZERS: Registry[Callable[..., Hook]] = Registry("regulariser")


def make_hook(name: str, params: dict[str, Any]) -> Hook:
    REGULARIZERS.check_options(name, params, f"regularizers.{name}")
    return REGULARIZERS.get(name)(**params)


def _nets(nets: Sequence[str], name: str) -> tuple[str, ...]:
    bad = [n for n in nets if n not in ("g", "d")]
    if bad or not nets:
        raise UserError(f"regularizers.{name}.nets is {list(nets)!r}; use a list of 'g', 'd'")
    return tuple(nets)


def _critic(pair: Pair) -> Callable[[Tensor], Tensor]:
    """D's score on x as one number per sample (patch critics are averaged)."""
    return lambda x: pair.D(x).score.reshape(x.shape[0], -1).mean(1)


@REGULARIZERS.register("gradient_penalty")
def _gradient_penalty(weight: float = 10.0, center: float = 1.0) -> Hook:
    """λ E (‖∇D(x̂)‖ - 1)² on the discriminator (WGAN-GP)."""
    return Hook(
        ("d",),
        "pair",
        lambda c: weight * gradient_penalty(_critic(c.pair), c.pair.real, c.pair.fake, center),
    )


@REGULARIZERS.register("r1")
def _r1(gamma: float = 10.0) -> Hook:
    """R1 = γ/2 E_x ‖∇D(x)‖² on real data."""
    return Hook(("d",), "pair", lambda c: 0.5 * gamma * r1_penalty(_critic(c.pair), c.pair.real))


@REGULARIZERS.register("feature_matching")
def _feature_matching(weight: float = 1.0, layer: int = -1) -> Hook:
    """G term λ ‖E f(x) - E f(G(z))‖² on D's feature map number ``layer``."""

    def fn(c: Ctx) -> Tensor:
        with torch.no_grad():
            f_real = c.pair.D(c.pair.real).features[layer]
        return weight * feature_matching(f_real, c.fake_out.features[layer])

    return Hook(("g",), "pair", fn)


@REGULARIZERS.register("pulling_away")
def _pulling_away(weight: float = 0.1, centered: bool = False) -> Hook:
    """EBGAN's G term λ_PT f_PT on D's embedding s of the fake batch.

    centered: use s_i - mean_j s_j. The EBGAN discriminator raises the energy of fakes by
    moving all their codes along one shared direction; on raw codes every cosine is then
    ≈ 1, f_PT sits at its ceiling 1 where its gradient vanishes. Centring over the batch
    removes that shared offset, so the term measures (and spreads) what differs between
    samples."""

    def fn(c: Ctx) -> Tensor:
        if c.fake_out.embedding is None:
            raise UserError(
                "regulariser 'pulling_away' needs a discriminator with an "
                "embedding (model.discriminator = 'autoencoder')"
            )
        s = c.fake_out.embedding
        return weight * pulling_away(s - s.mean(0) if centered else s)

    return Hook(("g",), "pair", fn)


@REGULARIZERS.register("pixelwise")
def _pixelwise(weight: float = 1.0) -> Hook:
    """TP-GAN's G term λ mean |G(x) - y| between each fake and the real image it is
    paired with: only for games whose pairs are paired (the cycle game with
    data.paired = true)."""

    def fn(c: Ctx) -> Tensor:
        if not c.pair.paired:
            raise UserError(
                "regulariser 'pixelwise' needs paired fakes and targets "
                "(model.game = 'cycle' with data.paired = true)"
            )
        return weight * pixelwise_l1(c.pair.fake, c.pair.real)

    return Hook(("g",), "pair", fn)


@REGULARIZERS.register("symmetry")
def _symmetry(weight: float = 0.3) -> Hook:
    """TP-GAN's G term λ_sym L_sym: fakes pushed towards left-right mirror symmetry
    (λ_sym = 0.3 in the paper, for frontal faces)."""
    return Hook(("g",), "pair", lambda c: weight * symmetry_loss(c.pair.fake))


@REGULARIZERS.register("total_variation")
def _total_variation(weight: float = 1e-4) -> Hook:
    """TP-GAN's G term λ_tv L_tv on the fakes, against spiky artefacts (λ_tv = 1e-4)."""
    return Hook(("g",), "pair", lambda c: weight * total_variation(c.pair.fake))


@REGULARIZERS.register("label_smoothing")
def _label_smoothing(alpha: float = 0.9) -> Hook:
    """One-sided label smoothing (Salimans et al. 2016): real target α instead of 1.

    For logits r, BCE(r, α) = α softplus(-r) + (1 - α) softplus(r)
    = BCE(r, 1) + (1 - α) r, since softplus(r) - softplus(-r) = r; so the trick is the
    D term (1 - α) E r added to a BCE loss.
    """

    def fn(c: Ctx) -> Tensor:
        if not c.loss.logits:
            raise UserError(
                f"regulariser 'label_smoothing' needs a BCE loss (mmgan, nsgan), "
                f"not {c.loss.name!r}"
            )
        return (1.0 - alpha) * c.real_out.score.mean()

    return Hook(("d",), "pair", fn)


@REGULARIZERS.register("auxiliary_classifier")
def _auxiliary_classifier(weight: float = 1.0) -> Hook:
    """ACGAN (Odena et al. 2017): D's class head is trained on real and fake, G is trained
    to make fakes classified as their label: D: CE(real) + CE(fake); G: CE(fake)."""

    def fn(c: Ctx) -> Tensor:
        if c.fake_out.class_logits is None:
            raise UserError(
                "regulariser 'auxiliary_classifier' needs a discriminator with "
                "a class head (model.conditional = 'acgan')"
            )
        y = c.pair.cond
        loss = F.cross_entropy(c.fake_out.class_logits, y)
        if c.stage == "d":
            loss = loss + F.cross_entropy(c.real_out.class_logits, y)
        return weight * loss

    return Hook(("d", "g"), "pair", fn)


@REGULARIZERS.register("matching_aware")
def _matching_aware(weight: float = 1.0) -> Hook:
    """Matching-aware D (Reed et al. 2016, GAN-CLS): real images with a wrong label are a
    third kind of fake, adding weight · d_fake(D(x, ŷ)), ŷ ≠ y. (The paper halves both
    fake terms; weight=1 keeps the generated-fake term at full strength.)"""

    def fn(c: Ctx) -> Tensor:
        k = getattr(c.pair.disc, "num_classes", 0)
        if c.pair.cond is None or c.pair.cond.dtype != torch.long or k < 2:
            raise UserError(
                "regulariser 'matching_aware' needs a label-conditioned "
                "discriminator (model.conditional = 'concat' or 'projection')"
            )
        y = c.pair.cond
        wrong = (y + torch.randint(1, k, y.shape, device=y.device)) % k
        return weight * c.loss.d_fake(c.pair.D(c.pair.real, wrong).score)

    return Hook(("d",), "pair", fn)


@REGULARIZERS.register("orthogonal")
def _orthogonal(weight: float = 5e-5, nets: Sequence[str] = ("g",)) -> Hook:
    """BigGAN: β Σ_W ‖W Wᵀ ⊙ (1 - I)‖²_F over the conv/linear weights of ``nets``,
    β = ``weight``, as the paper writes it (Brock et al. 2019, eq. 3).

    Convention: this term's gradient is 4β (W Wᵀ ⊙ (1 - I)) W. The authors' reference
    code (BigGAN-PyTorch, ``utils.ortho``) adds the hand-written gradient
    2β_ref (W Wᵀ ⊙ (1 - I)) W instead, i.e. it trains (β_ref / 2) ‖W Wᵀ ⊙ (1 - I)‖²_F.
    The same strength as the reference's β_ref = 1e-4 is therefore ``weight = 5e-5``
    (the default and the biggan preset's value).
    """
    return Hook(
        _nets(nets, "orthogonal"),
        "net",
        lambda c: weight * orthogonal_penalty(weight_matrices(c.net)),
    )


@REGULARIZERS.register("historical_averaging")
def _historical_averaging(weight: float = 1e-3, nets: Sequence[str] = ("g", "d")) -> Hook:
    """λ ‖θ - θ̄_t‖², θ̄_t the running mean of θ over all steps so far (this one included)."""
    state: dict[str, Any] = {}

    def fn(c: Ctx) -> Tensor:
        params = [p for p in c.net.parameters() if p.requires_grad]
        key = c.stage
        with torch.no_grad():
            t = state.get(f"{key}_t", 0) + 1
            if key not in state:
                state[key] = [p.detach().clone() for p in params]
            for a, p in zip(state[key], params, strict=True):
                a.add_((p - a) / t)
            state[f"{key}_t"] = t
        return weight * historical_average_penalty(params, state[key])

    return Hook(_nets(nets, "historical_averaging"), "net", fn, state)


@REGULARIZERS.register("history_buffer")
def _history_buffer(size: int = 50, p: float = 0.5) -> Hook:
    """CycleGAN (Zhu et al. 2017, after Shrivastava et al. 2017): each discriminator is
    updated on fakes drawn from a pool of the ``size`` latest generated images (one pool
    per adversarial pair), half of them from earlier steps, which damps oscillation."""
    if size < 1 or not 0.0 <= p <= 1.0:
        raise UserError(
            f"regularizers.history_buffer: size must be ≥ 1 and p in [0, 1], got {size}, {p}"
        )
    state: dict[str, Tensor] = {}

    def fn(c: Ctx) -> Tensor:
        key = f"pool{c.pair.name}"
        batch, state[key] = history_query(state.get(key), c.pair.fake, size, p)
        return batch

    return Hook(("d",), "fake_batch", fn, state)


@REGULARIZERS.register("weight_clip")
def _weight_clip(c: float = 0.01) -> Hook:
    """WGAN: after every critic step, clip its weights into [-c, c]."""
    return Hook(("d",), "after_step", lambda ctx: clip_weights_(ctx.net.parameters(), c))


@REGULARIZERS.register("sv_clamp")
def _sv_clamp(
    value: float | None = None, ratio: float | None = None, nets: Sequence[str] = ("g",)
) -> Hook:
    """BigGAN: after every step clamp each weight's top singular value σ₀ to ``value``
    (σ_reg) or to ``ratio`` · σ₁."""
    if (value is None) == (ratio is None):
        raise UserError("regularizers.sv_clamp needs exactly one of 'value', 'ratio'")

    def fn(c: Ctx) -> None:
        for w in weight_matrices(c.net):
            clamp_top_singular_value_(w, value, ratio)

    return Hook(_nets(nets, "sv_clamp"), "after_step", fn)
