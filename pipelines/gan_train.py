"""Stages ``gan train`` and ``gan sample``: an image GAN variant from a preset or config
into a run directory, and samples from a trained run.

A run directory holds::

    config.toml          the resolved GanConfig
    checkpoint.pt        the latest checkpoint (written atomically)
    log.jsonl            losses every train.log_every iterations (and metrics, if any)
    samples/iter_NNNNNN.png   sample grids every train.sample_every iterations
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from fluidgan.errors import UserError
from fluidgan.gan import trainer
from fluidgan.gan.config import GanConfig, load_config
from fluidgan.gan.metrics import metric_fn
from fluidgan.gan.sample import generate, sample_labels, to_uint8, write_samples
from fluidgan.io.faults import faults_named
from fluidgan.io.lock import run_lock


def train(
    config: GanConfig | Mapping[str, Any] | str | os.PathLike | None,
    out_dir: str | os.PathLike,
    iterations: int | None = None,
    resume: bool = False,
    device: str = "cpu",
    *,
    sets: Iterable[str] = (),
    progress: bool = False,
    max_seconds: float | None = None,
) -> dict[str, Any]:
    """Train until ``iterations`` (default: train.iterations) iterations are done.

    config: a GanConfig, plain data for one, a TOML path or a preset name under
    configs/gan/ (``sets``: ``key.sub=value`` overrides on top). resume: continue from
    ``out_dir``'s checkpoint exactly where it stopped, with the run's saved config
    (``config`` may then be None; ``iterations`` may extend the run). FID/IS per the
    config's [eval] table are logged every eval.every iterations and at the end.
    max_seconds: stop after this much wall-clock training time (status 'budget').
    Returns the paths written, the iteration reached, seconds per iteration, the last
    losses and metrics.
    """
    out = Path(out_dir)
    checkpoint = out / trainer.CHECKPOINT
    cfg = run_config(config, checkpoint, resume, sets)
    evaluate_fn, skipped = metric_fn(cfg, device)

    # one run per directory: a second `gan train` on it refuses
    with (
        run_lock(out / "train.lock", "gan train"),
        faults_named(out, lambda: last_checkpoint(checkpoint), "rerun with --resume"),
    ):
        result = trainer.train(
            cfg,
            out,
            iterations=iterations,
            resume=resume,
            device=device,
            evaluate_fn=evaluate_fn,
            progress=progress,
            max_seconds=max_seconds,
        )
    return {**result, "metrics_skipped": skipped}


def last_checkpoint(checkpoint: Path) -> str:
    """What a full disk leaves: the last complete checkpoint."""
    if not checkpoint.is_file():
        return "no checkpoint written yet"
    done = trainer.read_checkpoint(checkpoint).get("iteration", "?")
    return f"last checkpoint {checkpoint} (iteration {done})"


def run_config(config, checkpoint: Path, resume: bool, sets: Iterable[str]) -> GanConfig:
    """The run's saved config when resuming from ``checkpoint``, else ``config``; with
    ``sets`` on top either way."""
    if resume and checkpoint.exists():
        return load_config(trainer.read_checkpoint(checkpoint)["config"], sets=sets)
    if resume and config is None:
        raise UserError(f"{checkpoint.parent}: no checkpoint to resume; give a preset or --config")
    if config is None:
        raise UserError("gan train needs a preset name or --config")
    return load_config(config, sets=sets)


def sample(
    run_dir: str | os.PathLike,
    n: int,
    out: str | os.PathLike,
    *,
    truncation: float | None = None,
    seed: int = 0,
    device: str = "cpu",
) -> Path:
    """n samples of the run (its EMA generator when it has one) as ``out``/samples.npz
    (key ``images``: (N, H, W) or (N, H, W, 3) uint8; ``labels`` for class-conditional
    runs) and a PNG grid of the first 64 next to it. ``out`` may also be a .npz path.
    truncation: BigGAN's truncation threshold (default: the run's train.truncation)."""
    if n < 1:
        raise UserError(f"--num-images must be ≥ 1, got {n}")
    run = trainer.restore(run_dir, device)
    if truncation is None:
        truncation = run.cfg.train.truncation
    if truncation is not None and truncation <= 0:
        raise UserError(f"--truncation must be > 0, got {truncation}")
    images = to_uint8(generate(run, n, seed=seed, truncation=truncation))
    return write_samples(images, out, sample_labels(run, n))
