"""The metric registry and its defaults: features in, a dict of numbers (with N) out.

Every metric is a pure function of pooled features (and logits for IS), registered by
name. Metrics computed on a non-canonical extractor (``domain:*``) are reported under
``<name>_domain`` (``fid_domain``, ``is_domain``, ...): they are comparable only with values
from the same classifier, never with published FID/IS.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fluidgan.errors import UserError
from fluidgan.metrics.features import FeatureExtractor, Features
from fluidgan.metrics.fid import fid_to_features
from fluidgan.metrics.inception_score import inception_score
from fluidgan.metrics.kid import kernel_inception_distance
from fluidgan.metrics.prdc import precision_recall
from fluidgan.metrics.stats_cache import ReferenceStats
from fluidgan.registry import Registry

DEFAULT_METRICS = ("fid", "kid", "is")


@dataclass
class MetricOptions:
    """All settings of an evaluation (the defaults table the CLI mirrors).

    ``metrics``: names from :data:`METRICS`; empty means :data:`DEFAULT_METRICS`, where IS
    is left out (with the reason) if the extractor has no logits. ``num_images``: use the
    first N images of each set (compare FID only at equal N). ``value_range``: how float
    arrays map to 0..255 (``auto``, ``0,1``, ``-1,1``, ``0,255``).
    """

    metrics: list[str] | None = None
    features: str = "inception"
    inception_weights: str | None = None
    num_images: int | None = None
    batch_size: int = 64
    device: str = "cpu"
    value_range: str = "auto"
    is_splits: int = 10
    kid_subsets: int = 100
    kid_subset_size: int = 1000
    kid_degree: int = 3
    pr_k: int = 3
    seed: int = 0
    cache: bool = True

    def __post_init__(self):
        for name, low in (("batch_size", 1), ("is_splits", 1), ("kid_subsets", 1),
                          ("kid_subset_size", 2), ("kid_degree", 1), ("pr_k", 1)):  # fmt: skip
            if getattr(self, name) < low:
                raise ValueError(f"{name} must be >= {low}, got {getattr(self, name)}")
        if self.num_images is not None and self.num_images < 2:
            raise ValueError(f"num_images must be >= 2, got {self.num_images}")


MetricFn = Callable[[ReferenceStats | None, Features, MetricOptions], dict[str, Any]]


@dataclass(frozen=True)
class Metric:
    name: str
    fn: MetricFn
    needs_real: bool
    needs_logits: bool


#: Metrics by name, listed in report order.
METRICS: Registry[Metric] = Registry("metric", ordered=True)


def register_metric(name: str, needs_real: bool = True, needs_logits: bool = False):
    """Register ``fn(real, fake, options) -> dict`` as metric ``name``."""

    def deco(fn: MetricFn) -> MetricFn:
        METRICS.register(name)(Metric(name, fn, needs_real, needs_logits))
        return fn

    return deco


def report_key(name: str, extractor: FeatureExtractor) -> str:
    """``fid`` for the canonical extractor, ``fid_domain`` for a domain classifier."""
    return name if extractor.canonical else f"{name}_domain"


def select_metrics(
    options: MetricOptions, extractor: FeatureExtractor, strict: bool = True
) -> tuple[list[Metric], dict[str, str]]:
    """The metrics to run and those skipped (report key -> reason): a default the
    extractor cannot serve is skipped; one named explicitly is an error when ``strict``,
    else skipped too (a training run's evaluation goes on without it)."""
    explicit = bool(options.metrics)
    names = list(options.metrics) if explicit else list(DEFAULT_METRICS)
    unknown = [n for n in names if n not in METRICS]
    if unknown:
        raise UserError(f"unknown metric {unknown[0]!r}; valid: {', '.join(METRICS)}")
    chosen, skipped = [], {}
    for name in dict.fromkeys(names):
        metric = METRICS.get(name)
        if metric.needs_logits and not extractor.has_logits:
            reason = (
                f"{extractor.name} features have no classifier logits (the weights found are "
                "pool3-only); provide pt_inception-2015-12-05-6726825d.pth for the canonical "
                "IS, or use --features domain:NAME for IS_domain"
            )
            if explicit and strict:
                raise UserError(f"metric '{name}': {reason}")
            skipped[report_key(name, extractor)] = reason
            continue
        chosen.append(metric)
    return chosen, skipped


def compute_metrics(
    metrics: list[Metric],
    real: ReferenceStats | None,
    fake: Features,
    options: MetricOptions,
    extractor: FeatureExtractor,
) -> dict[str, dict[str, Any]]:
    return {report_key(m.name, extractor): m.fn(real, fake, options) for m in metrics}


def _sizes(real: ReferenceStats, fake: Features) -> dict[str, int]:
    return {"n_real": real.features.n, "n_fake": fake.n}


@register_metric("fid")
def _fid(real, fake, options):
    value = fid_to_features(real.stats, fake.pool)
    return {"value": value, **_sizes(real, fake)}


@register_metric("kid")
def _kid(real, fake, options):
    r = kernel_inception_distance(
        real.features.pool,
        fake.pool,
        subsets=options.kid_subsets,
        subset_size=options.kid_subset_size,
        degree=options.kid_degree,
        seed=options.seed,
    )
    return {
        "mean": r.mean,
        "std": r.std,
        "subsets": r.subsets,
        "subset_size": r.subset_size,
        **_sizes(real, fake),
    }


@register_metric("is", needs_real=False, needs_logits=True)
def _is(real, fake, options):
    r = inception_score(fake.logits, splits=options.is_splits)
    return {"mean": r.mean, "std": r.std, "splits": r.splits, "n_fake": r.n}


@register_metric("pr")
def _pr(real, fake, options):
    r = precision_recall(real.features.pool, fake.pool, k=options.pr_k)
    return {"precision": r.precision, "recall": r.recall, "k": r.k, **_sizes(real, fake)}
