"""Feature extractors for the metrics: a registry of networks that map uint8 images to
pooled features (FID, KID, precision/recall) and, where they have them, class logits (IS).

``inception`` is the canonical TF Inception-v3 (2015-12-05) pool3 network; ``domain:NAME``
are small classifiers fluidgan trains itself for offline use (see :mod:`.domain`). An
extractor names everything its features depend on in :meth:`FeatureExtractor.identity`,
which keys the reference statistics cache.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from fluidgan.errors import UserError
from fluidgan.metrics.resize import RESIZE_NAME, resize_tf1_bilinear
from fluidgan.registry import Registry


@dataclass(frozen=True)
class Features:
    """``pool``: (N, D) float32 features; ``logits``: (N, K) float32 or None."""

    pool: np.ndarray
    logits: np.ndarray | None = None

    @property
    def n(self) -> int:
        return int(self.pool.shape[0])


@dataclass(frozen=True)
class ExtractorOptions:
    """What building an extractor may need: the torch device and an Inception weight file."""

    device: str = "cpu"
    inception_weights: str | None = None


class FeatureExtractor(ABC):
    """Maps (N, H, W, C) uint8 images to :class:`Features`, one batch at a time."""

    name: str  # registry name, e.g. "inception" or "domain:digits"
    dim: int  # D, the pooled feature size
    canonical: bool  # True only for the reference Inception network
    input_size: tuple[int, int]  # (H, W) the network sees
    input_channels: int

    def __init__(self, device: torch.device):
        self.device = device

    @property
    @abstractmethod
    def has_logits(self) -> bool:
        """Whether :meth:`forward` returns class logits (needed for IS)."""

    @abstractmethod
    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """``x``: (B, C, H, W) float32 grey levels 0..255 at :attr:`input_size` ->
        (pool (B, D), logits (B, K) or None)."""

    def identity(self) -> dict[str, Any]:
        """Everything the features depend on (keys the reference statistics cache)."""
        return {
            "name": self.name,
            "dim": self.dim,
            "input": [*self.input_size, self.input_channels],
            "resize": RESIZE_NAME,
        }

    def describe(self) -> dict[str, Any]:
        """What a report prints about the extractor."""
        return {**self.identity(), "canonical": self.canonical, "logits": self.has_logits}

    def prepare(self, images: torch.Tensor) -> torch.Tensor:
        """(B, H, W, C) uint8 -> (B, C', H', W') float32 0..255 at the network's size/channels."""
        x = images.to(self.device).permute(0, 3, 1, 2).to(torch.float32)
        x = convert_channels(x, self.input_channels)
        return resize_tf1_bilinear(x, self.input_size)

    def extract(self, images: np.ndarray, batch_size: int = 64, progress: bool = False) -> Features:
        """Features of (N, H, W, C) uint8 ``images``, computed in batches."""
        from tqdm import tqdm

        if images.dtype != np.uint8 or images.ndim != 4:
            raise ValueError(
                f"expected (N, H, W, C) uint8 images, got {images.dtype} {images.shape}"
            )
        pools: list[np.ndarray] = []
        logits: list[np.ndarray] = []
        starts = range(0, images.shape[0], batch_size)
        with torch.inference_mode():
            for start in tqdm(starts, desc=self.name, unit="batch", disable=not progress):
                batch = torch.from_numpy(np.ascontiguousarray(images[start : start + batch_size]))
                pool, logit = self.forward(self.prepare(batch))
                pools.append(pool.float().cpu().numpy())
                if logit is not None:
                    logits.append(logit.float().cpu().numpy())
        return Features(np.concatenate(pools), np.concatenate(logits) if logits else None)


def convert_channels(x: torch.Tensor, channels: int) -> torch.Tensor:
    """(B, C, H, W) with C in {1, 3} -> ``channels``: grey is replicated, colour averaged."""
    if x.shape[1] == channels:
        return x
    if channels == 3 and x.shape[1] == 1:
        return x.expand(-1, 3, -1, -1)
    if channels == 1 and x.shape[1] == 3:
        return x.mean(dim=1, keepdim=True)
    raise ValueError(f"cannot convert {x.shape[1]} channels to {channels}")


# --------------------------------------------------------------------------- registry

ExtractorFactory = Callable[[str | None, ExtractorOptions], FeatureExtractor]
#: ``factory(arg, options)`` by name; the spec ``name:arg`` passes ``arg``.
EXTRACTORS: Registry[ExtractorFactory] = Registry("feature extractor")
register_extractor = EXTRACTORS.register


def extractor_names() -> list[str]:
    """Valid ``--features`` values, for error messages and help texts."""
    _load_builtin_extractors()
    from fluidgan.metrics.domain import DOMAINS

    names = [n for n in EXTRACTORS if n != "domain"]
    return names + [f"domain:{d}" for d in DOMAINS]


def get_extractor(spec: str, options: ExtractorOptions | None = None) -> FeatureExtractor:
    """The extractor named ``spec`` (``inception`` or ``domain:NAME``), ready to run."""
    _load_builtin_extractors()
    name, sep, arg = spec.partition(":")
    if name not in EXTRACTORS:
        raise UserError(
            f"unknown feature extractor {spec!r}; valid: {', '.join(extractor_names())}"
        )
    return EXTRACTORS.get(name)(arg if sep else None, options or ExtractorOptions())


def _load_builtin_extractors() -> None:
    # The built-in extractors register themselves on import; imported here, not at the
    # top, because they import this module.
    import fluidgan.metrics.domain
    import fluidgan.metrics.inception  # noqa: F401
