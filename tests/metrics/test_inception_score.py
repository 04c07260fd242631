"""Inception Score: K for confident predictions spread evenly over K classes, 1 for a
collapsed or an uninformative classifier, agreement with torchmetrics."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from fluidgan.metrics.inception_score import inception_score

MARGIN = 100.0  # logit gap: wrong classes get probability e^-100, numerically nothing


def _confident_logits(labels, k):
    logits = np.zeros((len(labels), k))
    logits[np.arange(len(labels)), labels] = MARGIN
    return logits


def test_confident_and_uniform_over_classes_gives_k():
    k, splits = 7, 10
    labels = np.arange(splits * k * 3) % k  # every split holds each class equally often
    r = inception_score(_confident_logits(labels, k), splits=splits)
    assert r.mean == pytest.approx(k, rel=1e-12) and r.std < 1e-10
    assert (r.splits, r.n) == (splits, len(labels))


def test_one_class_gives_one():
    r = inception_score(_confident_logits(np.full(50, 3), 10), splits=10)
    assert r.mean == pytest.approx(1.0, abs=1e-12)


def test_uninformative_classifier_gives_one():
    r = inception_score(np.random.default_rng(0).normal(size=(1, 10)).repeat(40, 0), splits=4)
    assert r.mean == pytest.approx(1.0, abs=1e-12)


def test_splits_are_consecutive_parts():
    # first half all class 0, second half all class 1: each of 2 splits collapses -> 1,
    # while one split over everything sees two balanced classes -> 2
    logits = _confident_logits(np.repeat([0, 1], 20), 2)
    assert inception_score(logits, splits=2).mean == pytest.approx(1.0, abs=1e-12)
    assert inception_score(logits, splits=1).mean == pytest.approx(2.0, rel=1e-12)


@pytest.mark.filterwarnings("ignore::UserWarning")  # its feature-buffer notices
def test_agrees_with_torchmetrics_single_split():
    tm = pytest.importorskip("torchmetrics.image.inception")

    class Given(torch.nn.Module):
        def forward(self, x):
            return x

    logits = np.random.default_rng(1).normal(scale=3, size=(200, 12))
    metric = tm.InceptionScore(feature=Given(), splits=1)
    metric.update(torch.from_numpy(logits))
    assert inception_score(logits, splits=1).mean == pytest.approx(
        metric.compute()[0].item(), rel=1e-6
    )


def test_too_few_samples():
    with pytest.raises(ValueError, match="at least 10"):
        inception_score(np.zeros((5, 3)), splits=10)
