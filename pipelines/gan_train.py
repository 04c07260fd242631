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
from fluidgan.gan.sample import generate, sample_labels, to_uint8, write_samples


def train(
    config: GanConfig | Mapping[str, Any] | str | os.PathLike | None,
    out_dir: str | os.PathLike,
    iterations: int | None = None,
    resume: bool = False,
    device: str = "cpu",
    *,
    sets: Iterable[str] = (),
    evaluate_fn: trainer.EvaluateFn | None = None,
    progress: bool = False,
) -> dict[str, Any]:
    """Train until ``iterations`` (default: train.iterations) iterations are done.

    config: a GanConfig, plain data for one, a TOML path or a preset name under
    configs/gan/ (``sets``: ``key.sub=value`` overrides on top). resume: continue from
    ``out_dir``'s checkpoint exactly where it stopped, with the run's saved config
    (``config`` may then be None; ``iterations`` may extend the run).
    evaluate_fn(samples_uint8) -> metrics, called every train.eval_every iterations and
    at the end. Returns the paths written, the iteration reached, seconds per iteration
    and the last losses.
    """
    out = Path(out_dir)
    checkpoint = out / trainer.CHECKPOINT
    if resume and checkpoint.exists():
        cfg = load_config(trainer.read_checkpoint(checkpoint)["config"], sets=sets)
    elif config is None:
        raise UserError(
            f"{out}: no checkpoint to resume; give a preset or --config"
            if resume
            else "gan train needs a preset or --config"
        )
    else:
        cfg = load_config(config, sets=sets)
    return trainer.train(
        cfg,
        out,
        iterations=iterations,
        resume=resume,
        device=device,
        evaluate_fn=evaluate_fn,
        progress=progress,
    )


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
        raise UserError(f"--n must be ≥ 1, got {n}")
    run = trainer.restore(run_dir, device)
    if truncation is None:
        truncation = run.cfg.train.truncation
    images = to_uint8(generate(run, n, seed=seed, truncation=truncation))
    return write_samples(images, out, sample_labels(run, n))
