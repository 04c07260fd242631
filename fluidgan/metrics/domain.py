"""Domain classifiers: small CNNs fluidgan trains itself, for offline FID/KID/IS.

A domain is registered with :func:`register_domain`: ``digits`` (scikit-learn's bundled
8x8 digits, 10 classes) and ``smoke`` (32x32 frames of small plume simulations labelled
by their scene parameters, 4 classes; see :mod:`.smoke_frames`). Its classifier ships
with the package (``fluidgan/metrics/classifiers/``, listed with its sha256 in
``classifiers.toml``) and is used when it was trained for exactly the spec at hand (the
key: architecture, data, settings, torch version). Otherwise it is trained on CPU on first
use (fixed seed, one thread, fixed batch order) and stored in
``<cache_dir>/domain/<name>-<hash>.pt`` where the hash covers the key. Training is not
bitwise reproducible across machines, nor even across processes on one machine (a
process that has just simulated the smoke frames trains other weights than one that read
them from the cache, at the same accuracy): FID_domain is comparable only under the same
weights, which is why they ship. ``domain:NAME`` features are the penultimate
activations; the logits give ``IS_domain``, an Inception Score in that classifier's label
space -- comparable only with itself, never with the canonical IS.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from fluidgan.device import resolve_device
from fluidgan.errors import UserError
from fluidgan.metrics import smoke_frames
from fluidgan.metrics.cache import cache_dir, key_digest, write_atomic
from fluidgan.metrics.features import ExtractorOptions, FeatureExtractor, register_extractor
from fluidgan.metrics.images import load_digits_labelled
from fluidgan.registry import Registry

ARCH_VERSION = 1  # bump when DomainCNN changes: invalidates cached classifiers


@dataclass(frozen=True)
class TrainSettings:
    """Optimisation of a domain classifier (Adam, cross-entropy, fixed batch order)."""

    epochs: int = 30
    batch_size: int = 64
    lr: float = 2e-3
    weight_decay: float = 1e-4
    seed: int = 0


@dataclass(frozen=True)
class DomainSpec:
    """A labelled image domain.

    ``load(split)``: (images (N, H, W, C) uint8, labels (N,) int64) for split ``train`` or
    ``test``; ``image_size``: (H, W) the classifier sees; ``channels``: C it sees.
    """

    name: str
    load: Callable[[str], tuple[np.ndarray, np.ndarray]]
    image_size: tuple[int, int]
    channels: int
    n_classes: int
    width: int = 16  # channels of the first conv; features are 4 * width wide
    train: TrainSettings = field(default_factory=TrainSettings)
    data_version: int = 1  # bump when ``load`` returns other images: retrains

    def key(self) -> dict[str, Any]:
        """Everything the trained weights depend on."""
        return {
            "name": self.name,
            "arch": ARCH_VERSION,
            "image_size": list(self.image_size),
            "channels": self.channels,
            "n_classes": self.n_classes,
            "width": self.width,
            "train": asdict(self.train),
            "data_version": self.data_version,
            "torch": torch.__version__.split("+")[0],
        }


DOMAINS: Registry[DomainSpec] = Registry("domain classifier")


def register_domain(spec: DomainSpec) -> DomainSpec:
    """Make ``domain:<spec.name>`` available as a feature extractor."""
    return DOMAINS.register(spec.name)(spec)


register_domain(
    DomainSpec(
        name="digits", load=load_digits_labelled, image_size=(8, 8), channels=1, n_classes=10
    )
)
register_domain(
    DomainSpec(
        name="smoke",
        load=smoke_frames.load_smoke_labelled,
        image_size=(smoke_frames.RES,) * 2,
        channels=1,
        n_classes=len(smoke_frames.CLASSES),
        data_version=smoke_frames.DATA_VERSION,
    )
)


def get_domain(name: str) -> DomainSpec:
    if name not in DOMAINS:
        valid = ", ".join(f"domain:{d}" for d in DOMAINS)
        raise UserError(f"unknown domain classifier 'domain:{name}'; valid: {valid}")
    return DOMAINS.get(name)


# --------------------------------------------------------------------------- network


class DomainCNN(nn.Module):
    """conv3x3(w) - conv3x3(2w) - maxpool2 - conv3x3(2w) - global avg+max pool -> fc(4w) -> fc(K).

    Input (B, C, H, W) float in [0, 1]; any H, W >= 2 (the global pool makes it
    size-agnostic). :meth:`features` returns the (B, 4w) penultimate ReLU activations.
    """

    def __init__(self, channels: int, n_classes: int, width: int = 16):
        super().__init__()
        w = width
        self.body = nn.Sequential(
            nn.Conv2d(channels, w, 3, padding=1),
            nn.ReLU(),
            nn.Conv2d(w, 2 * w, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(2 * w, 2 * w, 3, padding=1),
            nn.ReLU(),
        )
        self.embed = nn.Linear(4 * w, 4 * w)
        self.head = nn.Linear(4 * w, n_classes)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        h = self.body(x)
        h = torch.cat([h.mean(dim=(2, 3)), h.amax(dim=(2, 3))], dim=1)
        return F.relu(self.embed(h))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


def _as_input(images: np.ndarray) -> torch.Tensor:
    """(N, H, W, C) uint8 -> (N, C, H, W) float32 in [0, 1]."""
    return torch.from_numpy(images).permute(0, 3, 1, 2).to(torch.float32) / 255.0


@contextlib.contextmanager
def _deterministic_cpu(seed: int) -> Iterator[None]:
    """One thread (reduction order fixed) and a private RNG stream seeded with ``seed``."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            yield
    finally:
        torch.set_num_threads(threads)


def train_classifier(spec: DomainSpec) -> tuple[DomainCNN, dict[str, Any]]:
    """Train ``spec``'s classifier on its ``train`` split; returns it and its test accuracy.

    Deterministic in its draws (seeded weights and batch order, one thread); the rounding
    of the CPU kernels may still differ between machines and processes.
    """
    x_train, y_train = spec.load("train")
    x_test, y_test = spec.load("test")
    s = spec.train
    with _deterministic_cpu(s.seed):
        net = DomainCNN(spec.channels, spec.n_classes, spec.width)
        opt = torch.optim.Adam(net.parameters(), lr=s.lr, weight_decay=s.weight_decay)
        xs, ys = _as_input(x_train), torch.from_numpy(y_train)
        gen = torch.Generator().manual_seed(s.seed)
        net.train()
        for _ in range(s.epochs):
            order = torch.randperm(len(ys), generator=gen)
            for batch in order.split(s.batch_size):
                opt.zero_grad(set_to_none=True)
                F.cross_entropy(net(xs[batch]), ys[batch]).backward()
                opt.step()
        net.eval()
        with torch.inference_mode():
            pred = net(_as_input(x_test)).argmax(1).numpy()
    info = {
        "test_accuracy": float(np.mean(pred == y_test)),
        "n_train": len(ys),
        "n_test": len(y_test),
    }
    return net, info


def state_digest(net: nn.Module) -> str:
    """sha1 of a network's parameters and buffers (names and bytes, in state-dict order)."""
    h = hashlib.sha1()
    for name, value in net.state_dict().items():
        h.update(name.encode())
        h.update(value.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()


SHIPPED_DIR = Path(__file__).with_name("classifiers")
SHIPPED_MANIFEST = SHIPPED_DIR / "classifiers.toml"


def classifier_name(spec: DomainSpec) -> str:
    return f"{spec.name}-{key_digest(spec.key())[:16]}.pt"


def classifier_path(spec: DomainSpec) -> Path:
    return cache_dir() / "domain" / classifier_name(spec)


def shipped_classifiers() -> dict[str, dict[str, Any]]:
    """file name -> {"sha256", …} of the classifiers shipped with the package."""
    import tomllib

    if not SHIPPED_MANIFEST.is_file():
        return {}
    return tomllib.loads(SHIPPED_MANIFEST.read_text())


def shipped_classifier(spec: DomainSpec) -> Path | None:
    """The package's own weights for exactly ``spec``'s key (verified), else None."""
    from fluidgan.pretrained import sha256_of

    name = classifier_name(spec)
    entry = shipped_classifiers().get(name)
    if entry is None:
        return None
    path = SHIPPED_DIR / name
    if not path.is_file() or sha256_of(path) != entry["sha256"]:
        raise UserError(
            f"{path}: missing or not the file {SHIPPED_MANIFEST.name} lists (sha256 "
            f"{entry['sha256'][:12]}…): a damaged install; reinstall fluidgan"
        )
    return path


def load_or_train_classifier(spec: DomainSpec) -> tuple[DomainCNN, dict[str, Any]]:
    """The shipped classifier of ``spec``, else the cached one, else one trained now and
    stored in the cache (atomically)."""
    shipped = shipped_classifier(spec)
    return read_classifier(shipped, spec) if shipped else cached_or_trained_classifier(spec)


def cached_or_trained_classifier(spec: DomainSpec) -> tuple[DomainCNN, dict[str, Any]]:
    """This machine's classifier of ``spec``: the cached one, or trained and cached now."""
    path = classifier_path(spec)
    if path.is_file():
        return read_classifier(path, spec)
    net, info = train_classifier(spec)
    save_classifier(net, info, spec, path)
    return net, {**info, "path": str(path)}


def read_classifier(path: Path, spec: DomainSpec) -> tuple[DomainCNN, dict[str, Any]]:
    blob = torch.load(path, map_location="cpu", weights_only=True)
    net = DomainCNN(spec.channels, spec.n_classes, spec.width)
    net.load_state_dict(blob["state_dict"])
    return net.eval(), {**blob["info"], "path": str(path)}


def save_classifier(net: DomainCNN, info: dict[str, Any], spec: DomainSpec, path: Path) -> Path:
    """``net`` with its ``info`` and ``spec``'s key, written atomically to ``path``."""
    blob = {"state_dict": net.state_dict(), "info": info, "key": spec.key()}
    buf = io.BytesIO()
    torch.save(blob, buf)
    return write_atomic(path, lambda f: f.write(buf.getvalue()))


# --------------------------------------------------------------------------- extractor


class DomainExtractor(FeatureExtractor):
    """Penultimate features (4w) and logits (K) of a domain classifier."""

    canonical = False

    def __init__(self, spec: DomainSpec, device: torch.device):
        super().__init__(device)
        self.spec = spec
        self.name = f"domain:{spec.name}"
        self.dim = 4 * spec.width
        self.input_size = spec.image_size
        self.input_channels = spec.channels
        net, self.info = load_or_train_classifier(spec)
        self.net = net.to(device)
        self.weights_digest = state_digest(net)

    @property
    def has_logits(self) -> bool:
        return True

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        feats = self.net.features(x / 255.0)
        return feats, self.net.head(feats)

    def identity(self) -> dict[str, Any]:
        return {**super().identity(), "weights_sha1": self.weights_digest}

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), **self.info}


@register_extractor("domain")
def _domain_factory(arg: str | None, options: ExtractorOptions) -> DomainExtractor:
    if not arg:
        valid = ", ".join(f"domain:{d}" for d in DOMAINS)
        raise UserError(f"feature extractor 'domain' needs a name; valid: {valid}")
    return DomainExtractor(get_domain(arg), resolve_device(options.device))
