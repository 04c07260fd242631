"""Stage: score generated images against real ones (FID, KID, IS, precision/recall).

``evaluate(real, fake, options)`` is what ``fluidgan gan evaluate`` calls. Sources are image
folders, ``.npz`` arrays (N, H, W[, C]), run dirs holding ``samples.npz``, or
``builtin:NAME[:SPLIT]``. The real side's features are cached on disk
(:mod:`fluidgan.metrics.stats_cache`); the fake side is always recomputed.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fluidgan.config import to_dict
from fluidgan.errors import UserError
from fluidgan.metrics.features import ExtractorOptions, get_extractor
from fluidgan.metrics.images import ImageSet, load_image_set
from fluidgan.metrics.stats_cache import ReferenceStats, reference_stats
from fluidgan.metrics.suite import MetricOptions, compute_metrics, select_metrics
from fluidgan.registry import Registry


def evaluate(
    real: str | os.PathLike | None,
    fake: str | os.PathLike,
    options: MetricOptions | None = None,
    progress: bool = False,
) -> dict[str, Any]:
    """Metrics of ``fake`` against ``real``; returns a JSON-ready dict.

    Keys: ``real``/``fake`` (source, split, n, shape), ``features`` (the extractor and its
    weights), ``metrics`` (name -> values with N), ``skipped`` (name -> reason),
    ``reference`` (cache file, hit or not), ``options`` (the resolved settings).
    """
    options = options or MetricOptions()
    extractor = get_extractor(
        options.features,
        ExtractorOptions(device=options.device, inception_weights=options.inception_weights),
    )
    metrics, skipped = select_metrics(options, extractor)
    if not metrics:
        raise UserError(
            "no metric left to compute: " + "; ".join(f"{k}: {v}" for k, v in skipped.items())
        )

    fake_set = load_image_set(fake, options.value_range).head(options.num_images)
    fake_features = extractor.extract(fake_set.images, options.batch_size, progress)

    real_set, reference = real_reference(real, metrics, extractor, options, progress)
    return {
        "real": _describe_set(real_set),
        "fake": _describe_set(fake_set),
        "features": extractor.describe(),
        "metrics": compute_metrics(metrics, reference, fake_features, options, extractor),
        "skipped": skipped,
        "reference": _describe_reference(reference),
        "options": to_dict(options),
    }


def _describe_set(images: ImageSet | None) -> dict[str, Any] | None:
    if images is None:
        return None
    return {
        "source": images.source,
        "split": images.split,
        "n": images.n,
        "shape": list(images.shape),
    }


def _describe_reference(ref: ReferenceStats | None) -> dict[str, Any] | None:
    if ref is None:
        return None
    return {"path": str(ref.path) if ref.path else None, "cached": ref.cached}


# --------------------------------------------------------------------------- text report


@dataclass(frozen=True)
class MetricText:
    """How a metric reads in the report: its label, and ``line(values, n)`` its values
    with the sample sizes ``n`` and the metric's own settings."""

    label: str
    line: Callable[[dict[str, Any], str], str]


# keyed by the metric's name (``fid`` stands for ``fid_domain`` too)
METRIC_TEXT: Registry[MetricText] = Registry("metric", ordered=True)
METRIC_TEXT.register("fid")(MetricText("FID", lambda v, n: f"{v['value']:.4f}  ({n})"))
METRIC_TEXT.register("kid")(
    MetricText(
        "KID",
        lambda v, n: (
            f"{v['mean']:.6f} ± {v['std']:.6f}  ({n}; {v['subsets']} subsets of {v['subset_size']})"
        ),
    )
)
METRIC_TEXT.register("is")(
    MetricText("IS", lambda v, n: f"{v['mean']:.4f} ± {v['std']:.4f}  ({n}; {v['splits']} splits)")
)
METRIC_TEXT.register("pr")(
    MetricText(
        "precision/recall",
        lambda v, n: f"precision {v['precision']:.4f}, recall {v['recall']:.4f}  ({n}; k={v['k']})",
    )
)


def _label(key: str) -> str:
    base, _, domain = key.partition("_")
    text = METRIC_TEXT.get(base, None)
    return (text.label if text else base) + ("_domain" if domain else "")


def _format_value(key: str, v: dict[str, Any]) -> str:
    text = METRIC_TEXT.get(key.partition("_")[0], None)
    if text is None:
        return str(v)
    n = f"N_real={v['n_real']}, N_fake={v['n_fake']}" if "n_real" in v else f"N_fake={v['n_fake']}"
    return text.line(v, n)


def format_report(result: dict[str, Any]) -> str:
    """The human-readable form of :func:`evaluate`'s result."""
    feats = result["features"]
    lines = []
    for side in ("real", "fake"):
        s = result[side]
        if s is not None:
            h, w, c = s["shape"]
            split = f" [{s['split']}]" if s["split"] != "all" else ""
            lines.append(f"{side}: {s['source']}{split}  ({s['n']} images, {h}x{w}x{c})")
    weights = f"; weights {feats['weights_path']}" if "weights_path" in feats else ""
    h, w, _ = feats["input"]
    lines.append(
        f"features: {feats['name']} ({feats['dim']}-d, {feats['resize']} to {h}x{w}{weights})"
    )
    width = max(len(_label(k)) for k in [*result["metrics"], *result["skipped"]])
    for key, value in result["metrics"].items():
        lines.append(f"{_label(key):<{width}}  {_format_value(key, value)}")
    for key, reason in result["skipped"].items():
        lines.append(f"{_label(key):<{width}}  skipped: {reason}")
    return "\n".join(lines)


def real_reference(
    real, metrics, extractor, options: MetricOptions, progress: bool
) -> tuple[ImageSet | None, ReferenceStats | None]:
    """The real images and their feature statistics (cached on disk), when a metric
    needs them; (None, None) otherwise."""
    needing = [m.name for m in metrics if m.needs_real]
    if not needing:
        return None, None
    if real is None:
        raise UserError(f"metrics {', '.join(needing)} need real images: pass --real PATH")
    real_set = load_image_set(real, options.value_range).head(options.num_images)
    reference = reference_stats(
        real_set,
        extractor,
        lambda: extractor.extract(real_set.images, options.batch_size, progress),
        use_cache=options.cache,
    )
    return real_set, reference
