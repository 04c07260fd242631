"""tempoGAN's losses (docs/METHOD.md, "Losses and training") as pure functions of tensors.

Symbols: x low-res input, y high-res target, G(x) generated density, D_s / D_t the
spatial / temporal discriminators (logits), F_j the j-th post-activation feature map of
D_s, A the advection that aligns a frame triplet to its middle frame, X~ / Y~ low-res /
high-res triplets (t-1, t, t+1).

    L_Ds = BCE(D_s(x, y), 1) + BCE(D_s(x, G(x)), 0)
    L_Dt = BCE(D_t(A(Y~)), 1) + BCE(D_t(A(G(X~))), 0)
    L_G  = BCE(D_s(x, G(x)), 1) + λ_L1 mean|G(x) - y|
           + Σ_j λ_f,j ½ Σ (F_j(y) - F_j(G(x)))² + λ_t BCE(D_t(A(G(X~))), 1)

The adversarial terms are BCE on logits by default ('nsgan'); any adversarial loss of
:mod:`fluidgan.gan.losses` can replace them by name (:func:`adversarial_loss`), with the
regulariser it needs (its companion: WGAN's weight clipping, WGAN-GP's gradient penalty)
taken from the GAN zoo's registry :data:`fluidgan.gan.regularizers.REGULARIZERS`
(:func:`companion_hooks`).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from fluidgan.errors import UserError
from fluidgan.gan.losses import LOSSES, Loss, get_loss
from fluidgan.gan.regularizers import REGULARIZERS, Hook


def l1_loss(generated: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """mean |G(x) - y| over batch and cells (weighted by λ_L1 = 5 in L_G)."""
    return (generated - target).abs().mean()


def feature_loss(
    real_features: Sequence[torch.Tensor],
    fake_features: Sequence[torch.Tensor],
    weights: Sequence[float],
) -> torch.Tensor:
    """Σ_j λ_f,j · ½ Σ (F_j(y) - F_j(G(x)))², SUM-reduced over batch, channels and cells
    (TensorFlow's ``l2_loss``). λ_f = -1e-5 per layer in the paper: negative on purpose,
    it pushes G's features away from the real ones and gives more small-scale detail."""
    if not len(real_features) == len(fake_features) == len(weights):
        raise ValueError(
            f"{len(real_features)} real, {len(fake_features)} fake feature maps, "
            f"{len(weights)} weights"
        )
    terms = [
        w * 0.5 * (r.float() - f.float()).square().sum()
        for r, f, w in zip(real_features, fake_features, weights, strict=True)
    ]
    return torch.stack(terms).sum()


def temporal_l2_loss(aligned: torch.Tensor) -> torch.Tensor:
    """The L2 alternative to D_t: Σ_i mean (a_i - a_{i+1})² over consecutive frames of an
    aligned generated triplet ``aligned`` (B, 3, ...), as in the reference
    (``lambda_t_l2``)."""
    diffs = aligned[:, 1:] - aligned[:, :-1]
    return diffs.float().square().flatten(2).mean(dim=(0, 2)).sum()


def adversarial_loss(name: str, params: dict | None = None) -> Loss:
    """The adversarial loss ``name`` of :mod:`fluidgan.gan.losses` ('nsgan' is BCE on
    logits): ``.d_loss(real_logits, fake_logits)``, ``.g_loss(fake_logits)``."""
    return get_loss(name, **(params or {}))


def adversarial_names() -> list[str]:
    return LOSSES.names()


# The hook scopes tempoGAN's discriminator updates run: 'pair' terms join each
# discriminator's loss, 'after_step' changes follow each discriminator step.
COMPANION_SCOPES = ("pair", "after_step")


def companion_hooks(loss: Loss, params: dict | None = None) -> dict[str, Hook]:
    """The regulariser ``loss`` needs (``loss.companion``), built from the registry of
    :mod:`fluidgan.gan.regularizers` with ``params`` (``loss.companion_params``); {} for a
    loss without one. UserError for an option the regulariser does not take, for options
    without a companion, and for a companion tempoGAN's discriminator updates cannot run
    (a generator term, a weight term or a fake-batch replacement)."""
    params = dict(params or {})
    name = loss.companion
    if name is None:
        if params:
            raise UserError(
                f"loss.companion_params: {sorted(params)} given, but loss.adversarial = "
                f"{loss.name!r} has no companion regulariser"
            )
        return {}
    REGULARIZERS.check_options(name, params, "loss.companion_params")
    hook = REGULARIZERS.get(name)(**params)
    if hook.stages != ("d",) or hook.scope not in COMPANION_SCOPES:
        raise UserError(
            f"loss.adversarial = {loss.name!r} needs the regulariser {name!r} "
            f"({hook.scope} on {'/'.join(hook.stages)}); tempoGAN runs only "
            f"{' and '.join(COMPANION_SCOPES)} regularisers of the discriminators"
        )
    return {name: hook}
