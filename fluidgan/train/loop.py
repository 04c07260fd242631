"""The tempoGAN trainer (docs/METHOD.md, "Losses and training"), readable top to bottom.

One iteration: k_Ds updates of D_s, k_Dt of D_t, k_G of G, each on a fresh batch, in that
order; then the EMA of G's weights (``ema_decay`` > 0) takes one step towards G, and the
learning rates step. Real and generated samples go through a discriminator in separate
passes (BatchNorm sees them apart, as in the reference). The generator update combines
the spatial batch (L1, D_s, feature loss) and a triplet batch (D_t through the advection
warp, or the L2 temporal loss).

Batches are dicts from ``fluidgan.data.TileDataset``: spatial ``low`` (B, C, *s),
``high`` (B, 1, *S), ``low_velocity`` (B, d, *s); temporal the same with a frame axis of 3
after the batch axis.

:func:`fit` runs the iterations in the loop skeleton both trainers share
(:mod:`fluidgan.loop`: cadence, stop requests, finite check, progress, status).
"""

from __future__ import annotations

import contextlib
import functools
import logging
import operator
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from fluidgan import loop
from fluidgan.advection import align_triplet
from fluidgan.amp import amp_dtype
from fluidgan.config import to_dict
from fluidgan.ema import ema_decay, make_ema, update_ema_
from fluidgan.gan.core import Ctx, DiscOutput, Pair
from fluidgan.loop import TrainingDiverged
from fluidgan.models.generators import build_generator, generator_record
from fluidgan.models.tempogan import SpatialDiscriminator, TemporalDiscriminator, init_weights
from fluidgan.optim import OPTIMIZERS
from fluidgan.train import checkpoint as ckpt
from fluidgan.train import distributed as dist
from fluidgan.train.batches import IterationBatches
from fluidgan.train.config import TrainConfig
from fluidgan.train.losses import (
    adversarial_loss,
    companion_hooks,
    feature_loss,
    l1_loss,
    temporal_l2_loss,
)
from fluidgan.train.schedule import make_scheduler

__all__ = ["LoopHooks", "ModelSpec", "Trainer", "TrainingDiverged", "build_networks", "fit"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ModelSpec:
    """What the networks' shapes depend on besides the config: the data's dimension,
    upsampling factor and generator input channels."""

    dim: int
    factor: int
    in_channels: int
    channels: str

    def record(self, cfg: TrainConfig) -> dict[str, Any]:
        """The checkpoint's ``model`` entry: enough to rebuild the generator."""
        return generator_record(
            cfg.model.generator,
            cfg.model,
            self.dim,
            self.factor,
            self.in_channels,
            self.channels,
            cfg.data.tile,
        )


def build_networks(cfg: TrainConfig, spec: ModelSpec) -> dict[str, nn.Module]:
    """G, and D_s / D_t where the ablation switches use them, initialised as the paper."""
    m = cfg.model
    bn = {"bn_momentum": m.bn_momentum, "bn_eps": m.bn_eps}  # the discriminators'
    tile = cfg.data.tile * spec.factor
    nets = {"generator": build_generator(spec.record(cfg)).initialise(m.init_std, m.init_bias)}
    disc = {"widths": m.discriminator_widths, "batch_norm": m.discriminator_batch_norm, **bn}
    if cfg.ablation.spatial_discriminator:
        nets["spatial"] = SpatialDiscriminator(spec.dim, tile, spec.factor, **disc)
    if cfg.ablation.temporal == "discriminator":
        nets["temporal"] = TemporalDiscriminator(spec.dim, tile, input=m.temporal_input, **disc)
    for name in ("spatial", "temporal"):
        if name in nets:
            init_weights(nets[name], m.init_std, m.init_bias)
    if m.input_residual != "none":
        nets["generator"].zero_output()  # start from the interpolation itself
    return nets


def set_requires_grad(module: nn.Module | None, flag: bool) -> None:
    if module is not None:
        module.requires_grad_(flag)


def generate_triplets(generator: nn.Module, low: torch.Tensor) -> torch.Tensor:
    """G applied to every frame: (B, 3, C, *s) -> (B, 3, 1, *S)."""
    return generator(low.flatten(0, 1)).unflatten(0, low.shape[:2])


class Trainer:
    """Networks, optimisers and schedulers of one run; one method per kind of update."""

    def __init__(self, cfg: TrainConfig, spec: ModelSpec, ctx: dist.Context):
        self.cfg, self.spec, self.ctx = cfg, spec, ctx
        torch.manual_seed(cfg.seed)  # the same initial weights on every rank
        self.nets = {k: v.to(ctx.device) for k, v in build_networks(cfg, spec).items()}
        self.wrapped = {k: dist.wrap(v, ctx) for k, v in self.nets.items()}
        # The EMA of G's weights (None when ema_decay = 0): averages the unwrapped G, whose
        # parameters stay float32 under autocast; inference and previews use it.
        self.ema = make_ema(self.nets["generator"]) if cfg.ema_decay > 0 else None
        self.completed = 0  # iterations done, resumed ones included (ema_start counts them)
        o = cfg.optim
        self.optimizers = {
            k: OPTIMIZERS.get("adam")(v.parameters(), o.lr, o.betas) for k, v in self.nets.items()
        }
        self.schedulers = {
            k: make_scheduler(v, cfg.iterations, o.decay_start, o.final_lr, o.decay_power)
            for k, v in self.optimizers.items()
        }
        # One loss object per discriminator: some carry state (BEGAN's k_t).
        self.adversarial = {
            k: adversarial_loss(cfg.loss.adversarial, cfg.loss.adversarial_params)
            for k in ("spatial", "temporal")
        }
        # WGAN's Lipschitz device: a registered regulariser of the GAN zoo, run as its hooks.
        hooks = companion_hooks(self.adversarial["spatial"], cfg.loss.companion_params)
        self.pair_hooks = [h for h in hooks.values() if h.scope == "pair"]
        self.after_step_hooks = [h for h in hooks.values() if h.scope == "after_step"]
        self.amp_dtype = amp_dtype(cfg.amp, ctx.device)
        self.learning_rate = cfg.optim.lr  # the rate of the last iteration, for the logs
        self.wall_offset = 0.0  # training seconds of the run before this process resumed it

    # --- pieces ---------------------------------------------------------------------

    def autocast(self):
        if self.amp_dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(self.ctx.device.type, dtype=self.amp_dtype)

    def align(self, frames: torch.Tensor, low_velocity: torch.Tensor) -> torch.Tensor:
        """A: frames (B, 3, 1, *S) warped to the middle frame's time -> (B, 3, *S)."""
        frames = frames.float()
        if self.cfg.ablation.advection:
            frames = align_triplet(
                frames, low_velocity, self.spec.factor, self.cfg.ablation.advection_order
            )
        return frames[:, :, 0]

    def step(self, name: str, loss: torch.Tensor) -> None:
        optimizer = self.optimizers[name]
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    # --- the three updates ----------------------------------------------------------

    def update_spatial(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """L_Ds = BCE(D_s(x, y), 1) + BCE(D_s(x, G(x)), 0)."""
        low, high = batch["low"], batch["high"]
        with torch.no_grad(), self.autocast():
            fake = self.nets["generator"](low)
        d_s = self.wrapped["spatial"]
        with self.autocast():
            real_logits, _ = d_s(low[:, :1], high)
            fake_logits, _ = d_s(low[:, :1], fake)

        def critic(y: torch.Tensor, condition: torch.Tensor) -> DiscOutput:
            # Unwrapped: DDP does not take double backward; the single backward of
            # loss + penalty still reduces every gradient once.
            return DiscOutput(self.nets["spatial"](condition, y)[0].float())

        penalty = self.pair_terms("spatial", Pair(critic, high, fake.float(), low[:, :1]))
        return self.discriminator_step("spatial", "d_s", real_logits, fake_logits, penalty)

    def update_temporal(self, triplets: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """L_Dt = BCE(D_t(A(Y~)), 1) + BCE(D_t(A(G(X~))), 0); the same warp for both."""
        low, high, velocity = triplets["low"], triplets["high"], triplets["low_velocity"]
        with torch.no_grad(), self.autocast():
            fake = generate_triplets(self.nets["generator"], low)
        d_t = self.wrapped["temporal"]
        real, fake = self.align(high, velocity), self.align(fake, velocity)
        with self.autocast():
            real_logits, _ = d_t(real)
            fake_logits, _ = d_t(fake)

        def critic(y: torch.Tensor, condition: None) -> DiscOutput:
            return DiscOutput(self.nets["temporal"](y)[0].float())

        penalty = self.pair_terms("temporal", Pair(critic, real, fake))
        return self.discriminator_step("temporal", "d_t", real_logits, fake_logits, penalty)

    def pair_terms(self, name: str, pair: Pair) -> torch.Tensor | None:
        """Σ of the companion's terms on discriminator ``name``'s real / fake pair (WGAN-GP:
        λ E(‖∇_ŷ D(ŷ)‖ - 1)² on the high-res input, the condition held fixed); None when
        the adversarial loss has none."""
        if not self.pair_hooks:
            return None
        ctx = Ctx("d", self.nets[name], self.adversarial[name], pair)
        return functools.reduce(operator.add, (hook.fn(ctx) for hook in self.pair_hooks))

    def discriminator_step(
        self,
        name: str,
        tag: str,
        real_logits: torch.Tensor,
        fake_logits: torch.Tensor,
        penalty: torch.Tensor | None = None,
    ) -> dict[str, torch.Tensor]:
        """Update a discriminator, then run the companion's after-step hooks (WGAN: clip
        its weights); log its loss, the penalty and its mean outputs (P(real) for logits)."""
        adversarial = self.adversarial[name]
        real_logits, fake_logits = real_logits.float(), fake_logits.float()
        loss = adversarial.d_loss(real_logits, fake_logits)
        self.step(name, loss if penalty is None else loss + penalty)
        for hook in self.after_step_hooks:
            hook.fn(Ctx("d", self.nets[name], adversarial))
        extra = adversarial.after_d_step(real_logits, fake_logits)
        squash = torch.sigmoid if adversarial.logits else torch.nn.Identity()
        penalties = {} if penalty is None else {f"{tag}/penalty": penalty.detach()}
        return {
            f"{tag}/loss": loss,
            f"{tag}/real": squash(real_logits).mean(),
            f"{tag}/fake": squash(fake_logits).mean(),
            **penalties,
            **{f"{tag}/{k}": torch.tensor(float(v), device=loss.device) for k, v in extra.items()},
        }

    def update_generator(
        self, batch: dict[str, torch.Tensor], triplets: dict[str, torch.Tensor] | None
    ) -> dict[str, torch.Tensor]:
        """L_G = adv_s + λ_L1 L1 + Σ_j λ_f,j ½‖F_j(y) - F_j(G(x))‖² + λ_t adv_t (or λ_t,L2 L2_t).

        The discriminators run unwrapped with frozen parameters: gradients flow through
        them into G only.
        """
        cfg, nets = self.cfg, self.nets
        d_s, d_t = nets.get("spatial"), nets.get("temporal")
        set_requires_grad(d_s, False)
        set_requires_grad(d_t, False)
        low, high = batch["low"], batch["high"]
        terms: dict[str, torch.Tensor] = {}
        with self.autocast():
            fake = self.wrapped["generator"](low)
        terms["l1"] = l1_loss(fake.float(), high)
        loss = cfg.loss.lambda_l1 * terms["l1"]
        if d_s is not None:
            with self.autocast():
                fake_logits, fake_features = d_s(low[:, :1], fake)
                with torch.no_grad():
                    _, real_features = d_s(low[:, :1], high)
            terms["adv_s"] = self.adversarial["spatial"].g_loss(fake_logits.float())
            terms["feature"] = feature_loss(real_features, fake_features, cfg.loss.lambda_f)
            loss = loss + terms["adv_s"] + terms["feature"]
        if triplets is not None:
            with self.autocast():
                fake_t = generate_triplets(self.wrapped["generator"], triplets["low"])
            aligned = self.align(fake_t, triplets["low_velocity"])
            if d_t is not None:
                with self.autocast():
                    logits, _ = d_t(aligned)
                terms["adv_t"] = self.adversarial["temporal"].g_loss(logits.float())
                loss = loss + cfg.loss.lambda_t * terms["adv_t"]
            else:
                terms["l2_t"] = temporal_l2_loss(aligned)
                loss = loss + cfg.loss.lambda_t_l2 * terms["l2_t"]
        self.step("generator", loss)
        set_requires_grad(d_s, True)
        set_requires_grad(d_t, True)
        return {"g/loss": loss, **{f"g/{k}": v for k, v in terms.items()}}

    # --- one iteration --------------------------------------------------------------

    def iteration(self, batches: IterationBatches) -> dict[str, torch.Tensor]:
        """All updates of one iteration; each metric is the mean over its updates.
        ``learning_rate`` is then the rate these updates used."""
        o = self.cfg.optim
        for net in self.nets.values():
            net.train()
        records: dict[str, list[torch.Tensor]] = defaultdict(list)

        def record(values: dict[str, torch.Tensor]) -> None:
            for key, value in values.items():
                records[key].append(value.detach().float())

        k_ds = o.k_ds if "spatial" in self.nets else 0
        k_dt = o.k_dt if "temporal" in self.nets else 0
        for batch in batches.spatial[:k_ds]:
            record(self.update_spatial(batch))
        for triplets in batches.temporal[:k_dt]:
            record(self.update_temporal(triplets))
        g_triplets = batches.temporal[k_dt:] or [None] * o.k_g
        for batch, triplets in zip(batches.spatial[k_ds:], g_triplets, strict=True):
            record(self.update_generator(batch, triplets))
        self.update_ema()
        self.completed += 1
        self.learning_rate = self.optimizers["generator"].param_groups[0]["lr"]
        for scheduler in self.schedulers.values():
            scheduler.step()
        return {key: torch.stack(values).mean() for key, values in records.items()}

    def update_ema(self) -> None:
        """θ̄ ← β θ̄ + (1 - β) θ after the iteration's G updates (β = ``ema_decay``; θ̄ ← θ
        during the first ``ema_start`` iterations)."""
        if self.ema is not None:
            decay = ema_decay(self.completed, self.cfg.ema_decay, self.cfg.ema_start)
            update_ema_(self.ema, self.nets["generator"], decay)

    def inference_generator(self) -> nn.Module:
        """The generator that previews, validation and ``fluidgan upscale`` use: the EMA
        when there is one, else G."""
        return self.ema if self.ema is not None else self.nets["generator"]

    # --- checkpoints ------------------------------------------------------------------

    def state_dict(self, iteration: int, metrics: dict[str, float]) -> dict[str, Any]:
        nets = self.nets
        return {
            "iteration": iteration,
            "config": to_dict(self.cfg),
            "model": self.spec.record(self.cfg),
            "generator": nets["generator"].state_dict(),
            **({} if self.ema is None else {ckpt.EMA_KEY: self.ema.state_dict()}),
            "spatial_discriminator": nets["spatial"].state_dict() if "spatial" in nets else None,
            "temporal_discriminator": nets["temporal"].state_dict() if "temporal" in nets else None,
            "optimizers": {k: v.state_dict() for k, v in self.optimizers.items()},
            "schedulers": {k: v.state_dict() for k, v in self.schedulers.items()},
            "adversarial": {k: dict(v.state) for k, v in self.adversarial.items()},
            "rng": ckpt.rng_state(),
            "metrics": metrics,
        }

    def load_state_dict(self, state: dict[str, Any]) -> int:
        """Restore everything from a checkpoint; returns its iteration. The learning-rate
        schedule follows this run's ``iterations`` (it may differ from the saved run's)."""
        keys = {
            "generator": "generator",
            "spatial": "spatial_discriminator",
            "temporal": "temporal_discriminator",
        }
        for name, net in self.nets.items():
            if state.get(keys[name]) is None:
                raise ValueError(
                    f"the checkpoint has no {keys[name]}; the ablation "
                    "switches differ from the run that wrote it"
                )
            net.load_state_dict(state[keys[name]])
            self.optimizers[name].load_state_dict(state["optimizers"][name])
            scheduler = self.schedulers[name]
            scheduler.load_state_dict(state["schedulers"][name])
            rule = scheduler.lr_lambdas[0]
            rule.total = self.cfg.iterations
            for group, base in zip(
                scheduler.optimizer.param_groups, scheduler.base_lrs, strict=True
            ):
                group["lr"] = base * rule(scheduler.last_epoch)
        for name, values in state.get("adversarial", {}).items():
            self.adversarial[name].state.update(values)
        self.completed = int(state["iteration"])
        if self.ema is not None:
            if state.get(ckpt.EMA_KEY) is not None:
                self.ema.load_state_dict(state[ckpt.EMA_KEY])
            else:
                update_ema_(self.ema, self.nets["generator"], 0.0)
                (log.warning if self.ctx.main else log.debug)(
                    "%s: the checkpoint has no EMA of the generator; it starts from the "
                    "current generator (ema_decay = %g)",
                    state.get("path", "checkpoint"),
                    self.cfg.ema_decay,
                )
        self.wall_offset = float(state.get("metrics", {}).get("time", 0.0))
        ckpt.set_rng_state(state["rng"])
        return int(state["iteration"])

    # --- previews ---------------------------------------------------------------------

    @torch.no_grad()
    def sample(
        self,
        batch: dict[str, torch.Tensor],
        triplet: dict[str, torch.Tensor] | None,
        raw: bool = False,
    ):
        """Generator outputs in eval mode (BatchNorm running statistics), for previews:
        (generated (N, 1, *S), aligned real (3, *S) | None, aligned generated | None).
        The EMA generator when there is one; ``raw``: G itself."""
        g = self.nets["generator"] if raw else self.inference_generator()
        g.eval()
        generated = g(batch["low"]).float()
        real_t = fake_t = None
        if triplet is not None:
            fake = generate_triplets(g, triplet["low"][:1])
            real_t = self.align(triplet["high"][:1], triplet["low_velocity"][:1])[0]
            fake_t = self.align(fake, triplet["low_velocity"][:1])[0]
        g.train()
        return generated, real_t, fake_t


# --- the loop ---------------------------------------------------------------------------


@dataclass
class LoopHooks:
    """Callbacks of :func:`fit`; each gets the 1-based count of completed iterations.
    ``after_iteration(done, metrics, trainer)`` is the user's (e.g. a test's) hook, called
    right after the iteration's updates (before its log, preview and checkpoint)."""

    log: Callable[[int, dict[str, float]], None] = lambda it, m: None
    save: Callable[[int, dict[str, float]], Path | None] = lambda it, m: None
    preview: Callable[[int], dict[str, float]] = lambda it: {}
    after_iteration: Callable[[int, dict[str, float], Trainer], None] = lambda it, m, t: None


def fit(
    trainer: Trainer,
    batches: Iterator[IterationBatches],
    start: int,
    stop: int,
    hooks: LoopHooks,
    progress: bool = False,
    checkpoint: Path | None = None,
) -> dict[str, Any]:
    """Run iterations ``start .. stop-1`` in the shared skeleton (:func:`fluidgan.loop.run`):
    a preview every ``preview_every``, a log row every iteration, a checkpoint every
    ``checkpoint_every``, at the end and when stopped by a signal; raise
    :class:`TrainingDiverged` on a non-finite loss (after logging its row).
    ``checkpoint``: the one the run resumed from."""
    cfg, ctx = trainer.cfg, trainer.ctx
    t0 = time.perf_counter()

    def step() -> dict[str, float]:
        values = trainer.iteration(next(batches))
        keys = list(values)  # the same keys in the same order on every rank
        reduced = dist.average(torch.stack([values[k] for k in keys]), ctx).tolist()
        metrics = dict(zip(keys, reduced, strict=True))
        metrics["lr"] = trainer.learning_rate
        # Training seconds since the run began, resumed runs included.
        metrics["time"] = trainer.wall_offset + time.perf_counter() - t0
        return metrics

    result = loop.run(
        loop.Loop(
            step=step,
            save=hooks.save,
            checkpoint_every=cfg.checkpoint_every,
            tasks=(
                loop.Task(cfg.preview_every, lambda done, metrics: hooks.preview(done)),
                loop.Task(1, hooks.log),
            ),
            after_iteration=lambda done, metrics: hooks.after_iteration(done, metrics, trainer),
            diverged=hooks.log,
            agree=lambda flag: dist.any_rank(flag, ctx),
            resume_hint="resume from it with --resume, e.g. with a lower optim.lr",
            progress=progress,
            postfix=("g/l1", "d_s/loss", "d_t/loss"),
        ),
        start,
        stop,
        checkpoint,
    )
    return {
        "iterations": result.iterations,
        "status": result.status,
        "signal": result.signal,
        "checkpoint": str(result.checkpoint) if result.checkpoint else None,
        "metrics": result.metrics,
        "seconds": result.seconds,
        "iterations_per_second": result.iterations_per_second,
    }
