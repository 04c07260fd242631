"""FID/IS while an image GAN trains: metrics the extractor cannot serve are left out with
the reason (the suite's selection, not a copy of it); the rest are computed."""

from __future__ import annotations

import numpy as np
import pytest
from feature_helpers import register_thumbnails

from fluidgan.errors import UserError
from fluidgan.gan.config import load_config
from fluidgan.gan.metrics import metric_fn
from fluidgan.metrics.suite import MetricOptions, select_metrics


@pytest.fixture
def thumbnails(monkeypatch):
    return register_thumbnails(monkeypatch)


def test_an_explicit_metric_without_logits_fails_unless_lenient(thumbnails):
    options = MetricOptions(metrics=["fid", "is"], features="thumbnails")
    with pytest.raises(UserError, match="metric 'is': thumbnails features have no"):
        select_metrics(options, thumbnails)
    chosen, skipped = select_metrics(options, thumbnails, strict=False)
    assert [m.name for m in chosen] == ["fid"] and list(skipped) == ["is_domain"]


def test_metric_fn_skips_is_and_scores_fid(thumbnails):
    cfg = load_config("dcgan", sets=['eval.features="thumbnails"', 'eval.metrics=["fid", "is"]'])
    evaluate, reason = metric_fn(cfg)
    assert reason.startswith("is_domain: thumbnails features have no classifier logits")
    rng = np.random.default_rng(0)
    real = rng.integers(0, 256, (40, 8, 8), dtype=np.uint8)
    same = evaluate(real, real)
    assert list(same) == ["fid_domain"] and same["fid_domain"] == pytest.approx(0.0, abs=1e-6)
    # the reference is the first real batch, kept: a brighter fake is far from it
    brighter = np.clip(real.astype(int) + 80, 0, 255).astype(np.uint8)
    assert evaluate(brighter, brighter)["fid_domain"] > 1.0
    only_is = load_config("dcgan", sets=['eval.features="thumbnails"', 'eval.metrics=["is"]'])
    assert metric_fn(only_is)[0] is None
    off = load_config("dcgan", sets=["eval.metrics=[]"])
    assert metric_fn(off) == (None, "eval.metrics is empty")
