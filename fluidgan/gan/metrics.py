"""FID/IS while an image GAN trains: the trainer's ``evaluate_fn`` for a config's
``[eval]`` table, built on the metric suite of :mod:`fluidgan.metrics`."""

from __future__ import annotations

from typing import Any

import numpy as np

from fluidgan.errors import UserError
from fluidgan.gan.config import GanConfig
from fluidgan.gan.trainer import EvaluateFn
from fluidgan.registry import Registry

#: The domain classifier trained on a built-in data set (its in-domain features).
DOMAIN_FEATURES: Registry[str] = Registry("data set with domain features")
DOMAIN_FEATURES.register("digits")("domain:digits")
DOMAIN_FEATURES.register("smoke_frames")("domain:smoke")


def resolve_features(cfg: GanConfig) -> str:
    """eval.features with 'auto' made concrete: the domain classifier trained on the data
    set (digits, smoke_frames), else the canonical inception."""
    if cfg.eval.features != "auto":
        return cfg.eval.features
    return DOMAIN_FEATURES.get(cfg.data.name, "inception")


def metric_fn(cfg: GanConfig, device: str = "cpu") -> tuple[EvaluateFn | None, str]:
    """The trainer's evaluate_fn(fake, real) -> {"fid_domain": ..., "is_domain": ...} for
    the config's [eval] table, and what was left out and why ('' when nothing).

    Reference statistics are computed once per run (cached on disk when eval.real names a
    file set). An explicitly named extractor that cannot be built is a UserError; 'auto'
    falls back to no evaluation with the reason. Presets ask for fid and is everywhere;
    IS needs logits that pool3-only Inception weights lack, so it is left out with the
    reason rather than failing the run.
    """
    from fluidgan.metrics.features import ExtractorOptions, get_extractor
    from fluidgan.metrics.suite import MetricOptions, select_metrics

    if not cfg.eval.metrics:
        return None, "eval.metrics is empty"
    features = resolve_features(cfg)
    metric_device = "cpu" if device == "auto" else device
    try:
        extractor = get_extractor(features, ExtractorOptions(device=metric_device))
    except UserError as e:
        if cfg.eval.features == "auto":
            return None, f"eval.features=auto -> {features}: {e}"
        raise
    options = MetricOptions(metrics=list(cfg.eval.metrics), features=features, device=metric_device)
    metrics, skipped = select_metrics(options, extractor, strict=False)
    reason = "; ".join(f"{key}: {why}" for key, why in skipped.items())
    if not metrics:
        return None, reason
    return _evaluator(metrics, options, extractor, cfg.eval.real), reason


def _evaluator(metrics, options, extractor, real_source: str | None) -> EvaluateFn:
    """evaluate(fake, real): the metrics of ``fake`` against ``real_source`` (a file set,
    statistics cached on disk) or, when None, the run's first ``real`` batch."""
    from fluidgan.metrics.images import ImageSet, as_nhwc, load_image_set
    from fluidgan.metrics.stats_cache import reference_stats
    from fluidgan.metrics.suite import compute_metrics

    cache: dict[str, Any] = {}

    def reference(real: np.ndarray):
        if "ref" not in cache:
            given = real_source is not None
            images = (
                load_image_set(real_source)
                if given
                else ImageSet(as_nhwc(real, "reference"), "train")
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

    return evaluate


def headline(key: str, value: dict[str, Any]) -> dict[str, float]:
    """The numbers of a metric result worth a log line: FID's value, the mean of IS and
    KID, precision and recall."""
    if "value" in value:
        return {key: float(value["value"])}
    if "mean" in value:
        return {key: float(value["mean"])}
    return {f"{key}_{k}": float(value[k]) for k in ("precision", "recall") if k in value}
