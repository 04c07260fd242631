"""A small real feature extractor for tests of the metric plumbing: 8x8 grey thumbnails
as features, no classifier logits (so no IS). Importable from every test."""

from __future__ import annotations

import torch

from fluidgan.metrics import features


class Thumbnails(features.FeatureExtractor):
    """(B, 1, 8, 8) grey levels 0..255 -> (B, 64) features in 0..1, no logits."""

    name, dim, canonical, input_size, input_channels = "thumbnails", 64, False, (8, 8), 1

    @property
    def has_logits(self):
        return False

    def forward(self, x):
        return x.flatten(1) / 255.0, None


def register_thumbnails(monkeypatch, name: str = "thumbnails") -> Thumbnails:
    """Register a :class:`Thumbnails` extractor under ``name`` for one test; return it."""
    extractor = Thumbnails(torch.device("cpu"))
    monkeypatch.setitem(features.EXTRACTORS, name, lambda arg, opt: extractor)
    return extractor
