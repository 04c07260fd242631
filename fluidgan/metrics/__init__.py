"""Image-set metrics: FID, KID, IS and precision/recall on pluggable feature extractors.

One module per metric, each a pure function (features -> statistics -> number):
:mod:`.fid`, :mod:`.kid`, :mod:`.inception_score`, :mod:`.prdc`. Extractors
(:mod:`.features`: ``inception``, ``domain:NAME``) turn uint8 image sets (:mod:`.images`)
into features; :mod:`.stats_cache` keeps reference statistics on disk; :mod:`.suite` holds
the metric registry and :class:`MetricOptions`, the defaults the CLI mirrors.
"""

from __future__ import annotations

from fluidgan.metrics.cache import cache_dir
from fluidgan.metrics.features import (
    EXTRACTORS,
    ExtractorOptions,
    FeatureExtractor,
    Features,
    extractor_names,
    get_extractor,
    register_extractor,
)
from fluidgan.metrics.fid import (
    GaussianStats,
    fid_from_features,
    fid_from_stats,
    frechet_distance,
    gaussian_stats,
)
from fluidgan.metrics.images import ImageSet, load_image_set, to_uint8
from fluidgan.metrics.inception_score import inception_score
from fluidgan.metrics.kid import kernel_inception_distance, mmd2_unbiased
from fluidgan.metrics.prdc import precision_recall
from fluidgan.metrics.resize import resize_tf1_bilinear
from fluidgan.metrics.suite import METRICS, MetricOptions, register_metric

__all__ = [
    "EXTRACTORS",
    "METRICS",
    "ExtractorOptions",
    "FeatureExtractor",
    "Features",
    "GaussianStats",
    "ImageSet",
    "MetricOptions",
    "cache_dir",
    "extractor_names",
    "fid_from_features",
    "fid_from_stats",
    "frechet_distance",
    "gaussian_stats",
    "get_extractor",
    "inception_score",
    "kernel_inception_distance",
    "load_image_set",
    "mmd2_unbiased",
    "precision_recall",
    "register_extractor",
    "register_metric",
    "resize_tf1_bilinear",
    "to_uint8",
]
