"""The GAN zoo's config: dataclasses with defaults, presets under ``configs/gan/`` that
override only what they change, and a check of every registered name and option at load
time (an unknown one is a UserError listing the valid ones).

A preset may start from another with a top-level ``extends = "dcgan"``.

    [model]          game, generator, discriminator, conditional, z_dim, width,
                     g / d / game_options (keyword options of the chosen builders)
    [loss]           name, params, g_weight
    [regularizers.NAME]   one table per regulariser, its keyword parameters
    [optim]          name, lr_g, lr_d (TTUR: different rates), betas, d_steps, g_steps
    [data]           name, path, size, channels, domain_b, paired, options
    [train]          iterations, batch_size, seed, logging/sample/checkpoint cadence,
                     EMA of G, truncation for sampling
    [eval]           metrics (FID/IS) while training: features, reference, cadence, N
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fluidgan import config as cfgio
from fluidgan.errors import UserError
from fluidgan.gan.architectures import DISCRIMINATORS
from fluidgan.gan.data import DATASETS, DOMAIN_TRANSFORMS
from fluidgan.gan.games import GAMES
from fluidgan.gan.losses import LOSSES, get_loss
from fluidgan.gan.regularizers import REGULARIZERS, make_hook
from fluidgan.optim import OPTIMIZERS


@dataclass
class GanModelConfig:
    game: str = "gan"
    generator: str = "dcgan"
    discriminator: str = "dcgan"
    conditional: str = "none"  # none | concat | acgan | projection
    z_dim: int = 64
    width: int = 32  # channels at full resolution
    g: dict[str, Any] = field(default_factory=dict)
    d: dict[str, Any] = field(default_factory=dict)
    game_options: dict[str, Any] = field(default_factory=dict)


@dataclass
class GanLossConfig:
    name: str = "nsgan"
    params: dict[str, Any] = field(default_factory=dict)
    g_weight: float = 1.0  # weight of the adversarial G term (0: e.g. feature matching only)


@dataclass
class GanOptimConfig:
    name: str = "adam"
    lr_g: float = 2e-4
    lr_d: float = 2e-4
    betas: tuple[float, float] = (0.5, 0.999)
    d_steps: int = 1  # k_D: discriminator updates per generator update
    g_steps: int = 1


@dataclass
class GanDataConfig:
    name: str = "digits"
    path: str | None = None
    size: int | list[int] | None = 16  # H = W, [H, W], or None: as stored
    channels: int = 1
    domain_b: str | None = None  # cycle models: transform making domain B
    paired: bool = False
    options: dict[str, Any] = field(default_factory=dict)


@dataclass
class GanTrainConfig:
    """Cadences are in iterations (one iteration = d_steps D updates + g_steps G updates)."""

    iterations: int = 2000
    batch_size: int = 64  # images per D or G update
    seed: int = 0  # networks, data order, noise
    log_every: int = 10  # losses to log.jsonl
    sample_every: int = 500  # PNG grid to samples/
    checkpoint_every: int = 500  # checkpoint.pt (also at the end and on a time budget)
    grid: int = 64  # images in a sample grid
    ema_decay: float = 0.0  # 0: no EMA of G
    ema_start: int = 0
    truncation: float | None = None  # sampling only


@dataclass
class GanEvalConfig:
    """FID / IS of generated samples, logged while training (fluidgan.metrics).

    metrics: names for ``gan evaluate`` (fid, kid, is, pr); [] turns evaluation off.
    features: ``domain:NAME`` (a small classifier: reported as fid_domain, is_domain),
    ``inception`` (canonical, needs the weights) or ``auto`` (domain:digits on the digits
    data set, else inception when its weights are found, else skipped with a log line).
    real: reference images (a path or builtin:NAME as for ``gan evaluate``); None: the
    training images of the sampled domain.
    """

    metrics: list[str] = field(default_factory=lambda: ["fid", "is"])
    features: str = "auto"
    real: str | None = None
    every: int = 0  # iterations; 0: only at the end
    samples: int = 1000  # generated images per evaluation (compare FID at equal N only)


@dataclass
class GanConfig:
    name: str = "custom"
    model: GanModelConfig = field(default_factory=GanModelConfig)
    loss: GanLossConfig = field(default_factory=GanLossConfig)
    regularizers: dict[str, dict[str, Any]] = field(default_factory=dict)
    optim: GanOptimConfig = field(default_factory=GanOptimConfig)
    data: GanDataConfig = field(default_factory=GanDataConfig)
    train: GanTrainConfig = field(default_factory=GanTrainConfig)
    eval: GanEvalConfig = field(default_factory=GanEvalConfig)


def image_size(data: GanDataConfig) -> tuple[int, int] | None:
    if data.size is None:
        return None
    size = (data.size, data.size) if isinstance(data.size, int) else tuple(data.size)
    if len(size) != 2 or min(size) < 1:
        raise UserError(f"data.size is {data.size!r}; use N or [H, W]")
    return size


def preset_names() -> list[str]:
    return sorted(p.stem for p in (cfgio.CONFIG_DIR / "gan").glob("*.toml"))


def read_preset(source: str | os.PathLike, _seen: tuple[str, ...] = ()) -> dict[str, Any]:
    """A preset (name under configs/gan/ or a TOML path) as plain data, ``extends``
    resolved (see :func:`fluidgan.config.read_preset`); ``name`` defaults to its own."""
    data = cfgio.read_preset("gan", source, _seen=_seen)
    data.setdefault("name", Path(source).stem)
    return data


def load_config(
    source: GanConfig | Mapping[str, Any] | str | os.PathLike | None = None,
    sets: Iterable[str] = (),
    overrides: Mapping[str, Any] | None = None,
) -> GanConfig:
    """Defaults <- preset / TOML file / mapping <- ``overrides`` <- ``--set`` strings,
    checked (see :func:`check`)."""
    if isinstance(source, GanConfig):
        base: Mapping[str, Any] = cfgio.to_dict(source)
    elif isinstance(source, Mapping):
        base = source
    elif source is None:
        base = {}
    else:
        base = read_preset(source)
    return check(cfgio.resolve_config(GanConfig, base=base, options=overrides, sets=sets))


def check(cfg: GanConfig) -> GanConfig:
    """Validate every registered name and option; add the loss's companion regulariser
    (WGAN's weight clipping, WGAN-GP's penalty) with its defaults when absent."""
    m = cfg.model
    game = GAMES.get(m.game)
    GAMES.check_options(m.game, m.game_options, "model.game_options", skip=2)
    game.generators.check_options(m.generator, m.g, "model.g", skip=1)
    DISCRIMINATORS.check_options(m.discriminator, m.d, "model.d", skip=1)
    loss = get_loss(cfg.loss.name, **cfg.loss.params)
    if loss.companion and loss.companion not in cfg.regularizers:
        cfg.regularizers[loss.companion] = {}
    for name, params in cfg.regularizers.items():
        if not isinstance(params, Mapping):
            raise UserError(f"regularizers.{name} must be a table of parameters, got {params!r}")
        make_hook(name, dict(params))
    if cfg.optim.name not in OPTIMIZERS:
        raise UserError(f"optim.name is {cfg.optim.name!r}; valid: {', '.join(OPTIMIZERS.names())}")
    for key in ("d_steps", "g_steps"):
        if getattr(cfg.optim, key) < 1:
            raise UserError(f"optim.{key} must be ≥ 1")
    DATASETS.get(cfg.data.name)
    DATASETS.check_options(cfg.data.name, cfg.data.options, "data.options", skip=3)
    if cfg.data.domain_b is not None:
        DOMAIN_TRANSFORMS.get(cfg.data.domain_b)
    image_size(cfg.data)
    if cfg.train.batch_size < 2:
        raise UserError("train.batch_size must be ≥ 2 (batch statistics)")
    for key in ("iterations", "log_every", "sample_every", "checkpoint_every", "grid"):
        if getattr(cfg.train, key) < 1:
            raise UserError(f"train.{key} must be ≥ 1, got {getattr(cfg.train, key)}")
    if cfg.eval.every < 0 or cfg.eval.samples < 2:
        raise UserError("eval.every must be ≥ 0 and eval.samples ≥ 2")
    return cfg


__all__ = [
    "LOSSES",
    "REGULARIZERS",
    "GanConfig",
    "GanDataConfig",
    "GanEvalConfig",
    "GanLossConfig",
    "GanModelConfig",
    "GanOptimConfig",
    "GanTrainConfig",
    "check",
    "load_config",
    "preset_names",
]
