"""The digits domain classifier: shipped (verified) or cached, deterministic in its draws,
accurate, and sensible IS/FID."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from fluidgan.errors import UserError
from fluidgan.metrics import domain
from fluidgan.metrics.domain import (
    DOMAINS,
    TrainSettings,
    classifier_path,
    load_or_train_classifier,
    shipped_classifiers,
    state_digest,
    train_classifier,
)
from fluidgan.metrics.features import get_extractor
from fluidgan.metrics.fid import fid_from_features
from fluidgan.metrics.images import load_digits_labelled
from fluidgan.metrics.inception_score import inception_score


@pytest.fixture(scope="module")
def digits():
    return get_extractor("domain:digits")


def test_training_is_deterministic():
    spec = dataclasses.replace(DOMAINS["digits"], train=TrainSettings(epochs=1))
    (a, _), (b, _) = train_classifier(spec), train_classifier(spec)
    assert state_digest(a) == state_digest(b)


@pytest.mark.parametrize("name", sorted(DOMAINS))
def test_every_domain_ships_its_classifier_for_this_torch(name, monkeypatch):
    def no_training(spec):
        raise AssertionError(f"{spec.name}: trained, not loaded from the package")

    monkeypatch.setattr(domain, "train_classifier", no_training)
    spec = DOMAINS[name]
    entry = shipped_classifiers()[domain.classifier_name(spec)]
    net, info = load_or_train_classifier(spec)
    assert info["path"] == str(domain.SHIPPED_DIR / domain.classifier_name(spec))
    assert state_digest(net) == entry["weights_sha1"]  # the weights results files quote
    assert info["test_accuracy"] == pytest.approx(entry["test_accuracy"], abs=1e-4)


def test_classifier_is_accurate_and_quotes_the_shipped_weights(digits):
    assert digits.info["test_accuracy"] > 0.95
    assert digits.weights_digest.startswith("c8b075b06732")  # docs/GAN_RESULTS.md's digits
    again = get_extractor("domain:digits")
    assert again.weights_digest == digits.weights_digest


def test_without_shipped_weights_the_classifier_is_trained_once_and_cached(
    tmp_path, monkeypatch
):
    monkeypatch.setattr(domain, "SHIPPED_MANIFEST", tmp_path / "none.toml")
    spec = dataclasses.replace(DOMAINS["digits"], train=TrainSettings(epochs=1))
    trained, info = load_or_train_classifier(spec)
    assert info["path"] == str(classifier_path(spec)) and classifier_path(spec).is_file()
    monkeypatch.setattr(domain, "train_classifier", lambda spec: pytest.fail("retrained"))
    cached, _ = load_or_train_classifier(spec)
    assert state_digest(cached) == state_digest(trained)


def test_a_damaged_shipped_classifier_is_refused(tmp_path, monkeypatch):
    spec = DOMAINS["digits"]
    name = domain.classifier_name(spec)
    (tmp_path / name).write_bytes((domain.SHIPPED_DIR / name).read_bytes()[:-1] + b"x")
    (tmp_path / "classifiers.toml").write_text(domain.SHIPPED_MANIFEST.read_text())
    monkeypatch.setattr(domain, "SHIPPED_DIR", tmp_path)
    monkeypatch.setattr(domain, "SHIPPED_MANIFEST", tmp_path / "classifiers.toml")
    with pytest.raises(UserError, match=f"{name}: missing or not the file classifiers.toml"):
        load_or_train_classifier(spec)


def test_is_domain_of_real_digits_and_of_one_class(digits):
    x, y = load_digits_labelled("test")
    real = digits.extract(x)
    assert real.pool.shape == (len(x), 64) and real.logits.shape == (len(x), 10)
    assert inception_score(real.logits, splits=10).mean > 7.5  # 10 balanced classes
    ones = digits.extract(x[y == 1])
    assert inception_score(ones.logits, splits=1).mean < 1.5  # a collapsed generator


def test_fid_domain_orders_degradations(digits):
    train, _ = load_digits_labelled("train")
    test, _ = load_digits_labelled("test")
    noise = np.random.default_rng(0).integers(0, 64, size=test.shape, dtype=np.uint8)
    noisy = np.clip(test.astype(int) + noise, 0, 255).astype(np.uint8)
    f_train, f_test, f_noisy = (digits.extract(a).pool for a in (train, test, noisy))
    assert fid_from_features(f_train, f_test) < fid_from_features(f_train, f_noisy)


def test_other_sizes_and_colour_are_converted(digits):
    x, _ = load_digits_labelled("test")
    rgb = np.repeat(x[:8], 3, axis=-1)
    np.testing.assert_allclose(digits.extract(rgb).pool, digits.extract(x[:8]).pool, rtol=1e-6)
    assert digits.extract(np.zeros((2, 16, 16, 1), np.uint8)).pool.shape == (2, 64)


def test_unknown_domain():
    with pytest.raises(UserError, match="valid: domain:digits"):
        get_extractor("domain:smoke-v9")
    with pytest.raises(UserError, match="needs a name"):
        get_extractor("domain")
