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

import numpy as np

from fluidgan.errors import UserError
from fluidgan.gan import trainer
from fluidgan.gan.config import GanConfig, load_config
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
    if resume and checkpoint.exists():
        cfg = load_config(trainer.read_checkpoint(checkpoint)["config"], sets=sets)
    elif resume and config is None:
        raise UserError(f"{out}: no checkpoint to resume; give a preset or --config")
    elif config is None:
        raise UserError("gan train needs a preset name or --config")
    else:
        cfg = load_config(config, sets=sets)
    evaluate_fn, skipped = metric_fn(cfg, device)

    def completed() -> str:  # what a full disk leaves: the last complete checkpoint
        if not checkpoint.is_file():
            return "no checkpoint written yet"
        done = trainer.read_checkpoint(checkpoint).get("iteration", "?")
        return f"last checkpoint {checkpoint} (iteration {done})"

    # one run per directory: a second `gan train` on it refuses
    with (
        run_lock(out / "train.lock", "gan train"),
        faults_named(out, completed, "rerun with --resume"),
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


def resolve_features(cfg: GanConfig) -> str:
    """eval.features with 'auto' made concrete: domain:digits for the digits data set
    (its classifier was trained on them), else the canonical inception."""
    if cfg.eval.features != "auto":
        return cfg.eval.features
    return "domain:digits" if cfg.data.name == "digits" else "inception"


def metric_fn(cfg: GanConfig, device: str = "cpu") -> tuple[trainer.EvaluateFn | None, str]:
    """The trainer's evaluate_fn(fake, real) -> {"fid_domain": ..., "is_domain": ...} for
    the config's [eval] table, and what was left out and why ('' when nothing).

    Reference statistics are computed once per run (cached on disk when eval.real names a
    file set). An explicitly named extractor that cannot be built is a UserError; 'auto'
    falls back to no evaluation with the reason.
    """
    from fluidgan.metrics.features import ExtractorOptions, get_extractor
    from fluidgan.metrics.images import ImageSet, as_nhwc, load_image_set
    from fluidgan.metrics.stats_cache import reference_stats
    from fluidgan.metrics.suite import MetricOptions, compute_metrics, select_metrics

    ev = cfg.eval
    if not ev.metrics:
        return None, "eval.metrics is empty"
    features = resolve_features(cfg)
    metric_device = "cpu" if device == "auto" else device
    try:
        extractor = get_extractor(features, ExtractorOptions(device=metric_device))
    except UserError as e:
        if ev.features == "auto":
            return None, f"eval.features=auto -> {features}: {e}"
        raise
    # Presets ask for fid and is everywhere; IS needs logits that pool3-only Inception
    # weights lack, so it is left out with the reason rather than failing the run.
    usable = [m for m in ev.metrics if extractor.has_logits or not _needs_logits(m)]
    left_out = sorted(set(ev.metrics) - set(usable))
    reason = f"{', '.join(left_out)}: {extractor.name} features have no logits" if left_out else ""
    if not usable:
        return None, reason
    options = MetricOptions(metrics=usable, features=features, device=metric_device)
    metrics, _ = select_metrics(options, extractor)
    cache: dict[str, Any] = {}

    def reference(real: np.ndarray):
        if "ref" not in cache:
            given = ev.real is not None
            images = (
                load_image_set(ev.real) if given else ImageSet(as_nhwc(real, "reference"), "train")
            )
            cache["ref"] = reference_stats(
                images,
                extractor,
                lambda: extractor.extract(images.images, options.batch_size),
                use_cache=given,
            )
        return cache["ref"]

    def evaluate(fake: np.ndarray, real: np.ndarray) -> dict[str, float]:
        feats = extractor.extract(as_nhwc(fake, "samples"), options.batch_size)
        values = compute_metrics(metrics, reference(real), feats, options, extractor)
        return {k: v for key, value in values.items() for k, v in headline(key, value).items()}

    return evaluate, reason


def _needs_logits(name: str) -> bool:
    from fluidgan.metrics.suite import METRICS

    return name in METRICS and METRICS[name].needs_logits


def headline(key: str, value: dict[str, Any]) -> dict[str, float]:
    """The numbers of a metric result worth a log line: FID's value, the mean of IS and
    KID, precision and recall."""
    if "value" in value:
        return {key: float(value["value"])}
    if "mean" in value:
        return {key: float(value["mean"])}
    return {f"{key}_{k}": float(value[k]) for k in ("precision", "recall") if k in value}


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
