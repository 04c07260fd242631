"""The ``train`` stage: tempoGAN from a dataset directory into a run directory.

A run directory holds::

    config.toml                        the resolved TrainConfig
    checkpoints/ckpt_<iteration>.pt    the newest ``keep_checkpoints`` checkpoints
    metrics.jsonl, metrics.csv         one row per iteration (and tensorboard/ if installed)
    previews/preview_<iteration>.png   low-res | generated | ground truth, and D_t's triplet

Under ``torchrun`` every process calls :func:`train`; rank 0 writes the files.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import torch
from torch.utils.data import default_collate

from fluidgan.config import load_toml, save_toml, to_dict
from fluidgan.config import resolve_config as resolve_config_of
from fluidgan.data import channel_count, list_sims, make_datasets
from fluidgan.data.dataset import read_info
from fluidgan.errors import UserError
from fluidgan.evaluation.validation import validation_l1
from fluidgan.io.faults import stage_faults
from fluidgan.io.lock import run_lock
from fluidgan.models.generators import normalise_record
from fluidgan.train import checkpoint as ckpt
from fluidgan.train import distributed as dist
from fluidgan.train.batches import (
    SPATIAL,
    TEMPORAL,
    IterationSampler,
    iteration_batches,
    loader,
    to_device,
)
from fluidgan.train.config import TrainConfig
from fluidgan.train.logging import MetricsLogger, read_metrics
from fluidgan.train.loop import LoopHooks, ModelSpec, Trainer, fit
from fluidgan.train.preview import save_curves, save_preview


def train(
    config: TrainConfig | Mapping[str, Any] | None,
    data_dir: str | os.PathLike,
    out_dir: str | os.PathLike,
    iterations: int | None = None,
    device: str = "auto",
    resume: bool = False,
    progress: bool = False,
    after_iteration: Callable[[int, dict[str, float], Trainer], None] | None = None,
) -> dict[str, Any]:
    """Train until ``iterations`` (default: the config's) iterations are complete.

    config: a TrainConfig, plain data for one, or None for the run's saved config when
    resuming (else the defaults). resume: continue from the newest checkpoint of
    ``out_dir`` exactly where it stopped. ``after_iteration(done, metrics, trainer)`` is
    called after every iteration (tests use it to raise a signal or inspect the weights).

    Returns ``{"run_dir", "status" ("completed" | "interrupted"), "iterations",
    "checkpoint", "metrics", "seconds", "iterations_per_second", "preview"}``.
    """
    run_dir = Path(out_dir)
    cfg = run_config(config, run_dir, resume, iterations)
    ctx = dist.setup(device)
    try:
        # one run per directory: a second `train` on it refuses (rank 0 holds the lock)
        lock = run_lock(run_dir / "train.lock", "train") if ctx.main else contextlib.nullcontext()
        with lock:
            return _train(cfg, Path(data_dir), run_dir, ctx, resume, progress, after_iteration)
    finally:
        dist.teardown(ctx)


def resolve_config(
    config: str | os.PathLike | None = None,
    sets: Iterable[str] = (),
    *,
    iterations: int | None = None,
    saved: str | os.PathLike | None = None,
) -> TrainConfig:
    """``fluidgan train``'s config: defaults <- ``saved`` (the run directory being resumed:
    its ``config.toml``, when there is one) <- ``config`` (a TOML file or a preset name
    under configs/train/) <- ``iterations`` <- ``--set``."""
    saved_file = Path(saved) / "config.toml" if saved is not None else None
    base = load_toml(saved_file) if saved_file is not None and saved_file.is_file() else None
    return resolve_config_of(
        TrainConfig,
        base=base,
        kind="train",
        preset=config,
        options={"iterations": iterations},
        sets=sets,
    )


def run_config(
    config: TrainConfig | Mapping[str, Any] | None,
    run_dir: Path,
    resume: bool,
    iterations: int | None,
) -> TrainConfig:
    """The config :func:`train` runs: ``config`` (None: the run's saved one when resuming,
    else the defaults) with ``iterations`` when given."""
    if config is None:
        return resolve_config(iterations=iterations, saved=run_dir if resume else None)
    data = to_dict(config) if isinstance(config, TrainConfig) else config
    return resolve_config_of(TrainConfig, base=data, options={"iterations": iterations})


def _train(cfg, data_dir, run_dir, ctx, resume, progress, after_iteration) -> dict[str, Any]:
    inputs = list_sims(data_dir)
    info = read_info(inputs[0])
    spec = ModelSpec(
        info.dim, info.factor, channel_count(cfg.data.channels, info.dim), cfg.data.channels
    )
    previous = previous_checkpoint(run_dir, resume)
    configure_torch(cfg, ctx)
    trainer = Trainer(cfg, spec, ctx)
    start = restore(trainer, previous, spec, cfg) if resume else 0
    result = nothing_run(run_dir, start, previous)
    if start >= cfg.iterations:
        return result
    if ctx.main:
        run_dir.mkdir(parents=True, exist_ok=True)
        save_toml(to_dict(cfg), run_dir / "config.toml")
    streams = data_streams(cfg, data_dir, ctx, start)
    batches = iteration_batches(*streams["train"], ctx.device)
    run = RunFiles(run_dir, trainer, start, previous, streams["preview"])
    hooks = LoopHooks(
        log=run.log,
        save=run.save,
        preview=run.preview,
        after_iteration=after_iteration or (lambda done, metrics, trainer: None),
    )
    try:
        with stage_faults(
            run_dir, lambda: inputs, run.completed, "rerun with --resume", run.save_now
        ):
            result.update(
                fit(
                    trainer,
                    batches,
                    start,
                    cfg.iterations,
                    hooks,
                    progress=progress and ctx.main,
                    checkpoint=previous if ctx.main else None,
                )
            )
    finally:
        run.close()
    result["preview"] = str(run.previews[-1]) if run.previews else None
    return result


def nothing_run(run_dir: Path, start: int, previous: Path | None) -> dict[str, Any]:
    """The result record of a run that stands at ``start`` (updated by the loop's)."""
    return {
        "run_dir": str(run_dir),
        "status": "completed",
        "iterations": start,
        "checkpoint": str(previous) if previous else None,
        "metrics": {},
        "seconds": 0.0,
        "iterations_per_second": 0.0,
        "preview": None,
    }


def previous_checkpoint(run_dir: Path, resume: bool) -> Path | None:
    """The newest checkpoint of ``run_dir``: needed to resume, refused otherwise."""
    previous = ckpt.latest_checkpoint(run_dir)
    if resume and previous is None:
        raise UserError(f"--resume: {run_dir} has no checkpoint to resume from")
    if not resume and previous is not None:
        raise UserError(
            f"{run_dir} already holds a run ({previous.name}); "
            "continue it with --resume or choose another --out"
        )
    return previous


def configure_torch(cfg: TrainConfig, ctx: dist.Context) -> None:
    torch.use_deterministic_algorithms(cfg.deterministic)
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    if ctx.device.type == "cuda":
        torch.backends.cudnn.benchmark = not cfg.deterministic


def restore(trainer: Trainer, previous: Path, spec: ModelSpec, cfg: TrainConfig) -> int:
    """Load the checkpoint ``previous`` into ``trainer``; return its iteration."""
    state = ckpt.load_checkpoint(previous)
    if normalise_record(state["model"]) != spec.record(cfg):
        raise UserError(
            f"{previous}: its model {state['model']} does not match this "
            f"config and dataset {spec.record(cfg)}"
        )
    try:
        return trainer.load_state_dict(state)
    except (ValueError, RuntimeError, KeyError) as e:
        raise UserError(f"{previous}: cannot resume from it ({e})") from None


class RunFiles:
    """What a run writes into its directory as it goes (rank 0 only): metrics rows,
    checkpoints, previews and curves; and what it had done when it stopped."""

    def __init__(self, run_dir: Path, trainer: Trainer, start: int, previous, preview_batch):
        self.run_dir, self.trainer, self.cfg = run_dir, trainer, trainer.cfg
        self.main = trainer.ctx.main
        self.logger = MetricsLogger(run_dir, start, self.cfg.tensorboard) if self.main else None
        self.preview_batch = preview_batch
        self.previews: list[Path] = []
        self.done, self.metrics, self.saved, self.saved_at = start, {}, previous, start

    def log(self, done: int, metrics: dict[str, float]) -> None:
        self.done, self.metrics = done, metrics
        if self.logger is not None:
            self.logger.log(done, metrics)

    def save(self, done: int, metrics: dict[str, float]) -> Path | None:
        if not self.main:
            return None
        self.saved = ckpt.save_checkpoint(
            self.trainer.state_dict(done, metrics),
            ckpt.checkpoint_path(self.run_dir, done),
            self.cfg.keep_checkpoints,
        )
        self.saved_at = done
        return self.saved

    def save_now(self) -> Path | None:
        """A vanished input: keep the iterations done since the last checkpoint."""
        return self.save(self.done, self.metrics) if self.done > self.saved_at else None

    def completed(self) -> str:
        return (
            f"{self.done} of {self.cfg.iterations} iterations done, "
            f"last checkpoint {self.saved or 'none'}"
        )

    def preview(self, done: int) -> dict[str, float]:
        """PNG of the first validation tiles and the D_t triplet; validation L1 of G and
        of bi/trilinear interpolation (the baseline to beat); the curves so far. With an
        EMA of G (``ema_decay`` > 0) the EMA generator is shown and scored, and
        ``val/l1_raw`` scores G itself."""
        if not self.main:
            return {}
        batch, triplet = self.preview_batch
        generated, real_t, fake_t = self.trainer.sample(batch, triplet)
        n = self.cfg.preview_samples
        path = save_preview(
            self.run_dir / "previews" / f"preview_{done:08d}.png",
            batch["low"][:n, 0],
            generated[:n, 0],
            batch["high"][:n, 0],
            real_t,
            fake_t,
            title=f"iteration {done}",
        )
        self.previews.append(path)
        factor = self.trainer.spec.factor
        values = validation_l1(generated, batch["low"], batch["high"], factor)
        if self.trainer.ema is not None:
            raw = self.trainer.sample(batch, None, raw=True)[0]
            values["val/l1_raw"] = validation_l1(raw, batch["low"], batch["high"], factor)["val/l1"]
        rows = [*read_metrics(self.run_dir), {"iteration": done, **values}]
        save_curves(rows, self.run_dir / "curves.png")
        return values

    def close(self) -> None:
        if self.logger is not None:
            self.logger.close()


def data_streams(cfg: TrainConfig, data_dir: Path, ctx: dist.Context, start: int):
    """Training batch streams from iteration ``start`` and a fixed preview batch.

    ``batch_size`` is global: each of the W processes takes B/W tiles and ⌊B/(3W)⌋
    triplets per update.
    """
    if cfg.batch_size % ctx.world:
        raise UserError(
            f"batch_size {cfg.batch_size} is not divisible by the {ctx.world} training processes"
        )
    local = cfg.batch_size // ctx.world
    temporal_on = cfg.ablation.temporal != "off"
    if temporal_on and local < 3:
        raise UserError(
            f"batch_size {cfg.batch_size} over {ctx.world} processes leaves "
            "fewer than 3 tiles per process: no triplet for the temporal loss"
        )
    o = cfg.optim
    n_spatial = (o.k_ds if cfg.ablation.spatial_discriminator else 0) + o.k_g
    n_temporal = (
        (o.k_dt if cfg.ablation.temporal == "discriminator" else 0) + o.k_g if temporal_on else 0
    )

    def stream(dataset, batch, per_iteration, stream_id):
        sampler = IterationSampler(
            len(dataset), batch, per_iteration, start, cfg.iterations, cfg.seed, stream_id, ctx.rank
        )
        return loader(dataset, sampler, cfg.data.workers, pin=ctx.device.type == "cuda")

    train_s, val_s = make_datasets(cfg.data, data_dir, temporal=False)
    spatial = stream(train_s, local, n_spatial, SPATIAL)
    temporal = triplet = None
    if temporal_on:
        train_t, val_t = make_datasets(cfg.data, data_dir, temporal=True)
        temporal = stream(train_t, local // 3, n_temporal, TEMPORAL)
        triplet = to_device(default_collate([(val_t or train_t)[0]]), ctx.device)
    shown = val_s or train_s  # without validation sims, show (deterministic) training tiles
    count = max(cfg.preview_samples, cfg.validation_samples)
    batch = to_device(default_collate([shown[i] for i in range(count)]), ctx.device)
    return {"train": (spatial, temporal, n_spatial, n_temporal), "preview": (batch, triplet)}
