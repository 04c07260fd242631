"""Image sets for the metrics: folders, .npz arrays, run dirs and built-in data sets.

Everything becomes one uint8 array (N, H, W, C), C in {1, 3}, before any feature
extractor sees it: real and generated images are quantised the same way (the canonical
FID pipeline reads real images from 8-bit files, so generated floats must pass through
the same 256 levels or FID measures the rounding).
"""

from __future__ import annotations

import hashlib
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from fluidgan.errors import UserError
from fluidgan.registry import Registry

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp")
RUN_DIR_SAMPLES = "samples.npz"
NPZ_KEYS = ("images", "samples", "x", "arr_0")  # looked up in this order
BUILTIN_PREFIX = "builtin:"
#: (low, high) of float images by name; ``auto`` picks 0,1 or -1,1 from the values.
VALUE_RANGES: Registry[tuple[float, float]] = Registry("value range", ordered=True)
VALUE_RANGES.register("0,1")((0.0, 1.0))
VALUE_RANGES.register("-1,1")((-1.0, 1.0))
VALUE_RANGES.register("0,255")((0.0, 255.0))
_RANGE_TOLERANCE = 1e-3  # generated floats may overshoot their range by rounding


@dataclass(frozen=True)
class ImageSet:
    """``images``: (N, H, W, C) uint8, C in {1, 3}; ``source``: what was read; ``split``."""

    images: np.ndarray
    source: str
    split: str = "all"

    @property
    def n(self) -> int:
        return int(self.images.shape[0])

    @property
    def shape(self) -> tuple[int, int, int]:
        """(H, W, C) of one image."""
        return tuple(int(s) for s in self.images.shape[1:])  # type: ignore[return-value]

    def digest(self) -> str:
        """sha1 of the shape and the pixel bytes: the data set's identity in cache keys."""
        h = hashlib.sha1(repr(self.images.shape).encode())
        h.update(np.ascontiguousarray(self.images).data)
        return h.hexdigest()

    def head(self, n: int | None) -> ImageSet:
        """The first ``n`` images (all when ``n`` is None)."""
        if n is None or n >= self.n:
            return self
        return ImageSet(self.images[:n], self.source, self.split)


# --------------------------------------------------------------------------- quantisation


def to_uint8(x: np.ndarray, value_range: str = "auto", what: str = "array") -> np.ndarray:
    """Quantise ``x`` to uint8 levels 0..255, mapping ``value_range`` onto them.

    uint8 passes through; other integers must already lie in 0..255. Floats map
    ``lo -> 0``, ``hi -> 255`` with ``floor(v * 255 + 0.5)`` (round half up, the same as
    StyleGAN's ``(x * 127.5 + 128).clamp(0, 255)`` for [-1, 1]) and clipping. ``"auto"``
    picks [0, 1] when every value lies there, else [-1, 1], else fails naming ``what``.
    """
    if x.dtype == np.uint8:
        return x
    if np.issubdtype(x.dtype, np.integer) or x.dtype == np.bool_:
        lo, hi = (int(x.min()), int(x.max())) if x.size else (0, 0)
        if lo < 0 or hi > 255:
            raise UserError(f"{what}: integer values span [{lo}, {hi}], expected 0..255")
        return x.astype(np.uint8)
    if not np.issubdtype(x.dtype, np.floating):
        raise UserError(f"{what}: unsupported dtype {x.dtype}")
    lo, hi = _float_range(x, value_range, what)
    scaled = (x.astype(np.float64) - lo) * (255.0 / (hi - lo))
    return np.clip(np.floor(scaled + 0.5), 0, 255).astype(np.uint8)


def _float_range(x: np.ndarray, value_range: str, what: str) -> tuple[float, float]:
    if value_range != "auto":
        if value_range not in VALUE_RANGES:
            valid = ", ".join(["auto", *VALUE_RANGES])
            raise UserError(f"value range {value_range!r}; valid: {valid}")
        return VALUE_RANGES.get(value_range)
    if not np.all(np.isfinite(x)):
        raise UserError(f"{what}: contains NaN or infinite values")
    vmin, vmax = float(x.min()), float(x.max())
    for name in ("0,1", "-1,1"):
        lo, hi = VALUE_RANGES.get(name)
        if vmin >= lo - _RANGE_TOLERANCE and vmax <= hi + _RANGE_TOLERANCE:
            return lo, hi
    raise UserError(
        f"{what}: float values span [{vmin:.4g}, {vmax:.4g}]; pass the value range "
        "explicitly (0,1, -1,1 or 0,255)"
    )


def as_nhwc(x: np.ndarray, what: str) -> np.ndarray:
    """(N, H, W) or (N, H, W, C) with C in {1, 3, 4} -> (N, H, W, C), C in {1, 3}."""
    if x.ndim == 3:
        x = x[..., None]
    if x.ndim != 4 or x.shape[-1] not in (1, 3, 4):
        raise UserError(f"{what}: array shape {x.shape}, expected (N, H, W) or (N, H, W, C)")
    if x.shape[-1] == 4:  # alpha carries no image content for the metrics
        x = x[..., :3]
    if x.shape[0] == 0:
        raise UserError(f"{what}: holds no images")
    return x


# --------------------------------------------------------------------------- sources


def load_image_set(source: str | Path, value_range: str = "auto") -> ImageSet:
    """An image folder, a ``.npz`` array, a run dir (with ``samples.npz``) or ``builtin:NAME``.

    ``builtin:NAME[:SPLIT]`` reads a bundled data set (see :data:`BUILTIN_DATASETS`).
    """
    text = str(source)
    if text.startswith(BUILTIN_PREFIX):
        return load_builtin(text[len(BUILTIN_PREFIX) :])
    path = Path(text).expanduser()
    if path.is_dir() and (path / RUN_DIR_SAMPLES).is_file():
        path = path / RUN_DIR_SAMPLES
    if path.is_file() and path.suffix == ".npz":
        images = to_uint8(as_nhwc(read_npz(path), str(path)), value_range, str(path))
    elif path.is_dir():
        images = read_folder(path, value_range)
    elif path.exists():
        raise UserError(f"{path}: not an image folder, a .npz file or a run dir")
    else:
        raise UserError(f"{path}: no such file or folder")
    return ImageSet(np.ascontiguousarray(images), str(path))


def read_npz(path: Path) -> np.ndarray:
    """The image array of a .npz: its only array, or the first of :data:`NPZ_KEYS`."""
    try:
        with np.load(path, allow_pickle=False) as z:
            keys = list(z.keys())
            key = keys[0] if len(keys) == 1 else next((k for k in NPZ_KEYS if k in keys), None)
            if key is None:
                raise UserError(
                    f"{path}: holds arrays {', '.join(keys) or '(none)'}; name the images "
                    f"one of {', '.join(NPZ_KEYS)}"
                )
            return z[key]
    except (OSError, ValueError, zipfile.BadZipFile) as e:
        raise UserError(f"{path}: cannot read as .npz ({e})") from None


def read_folder(folder: Path, value_range: str = "auto") -> np.ndarray:
    """All images directly in ``folder`` (sorted by name), (N, H, W, C) uint8."""
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise UserError(f"{folder}: no {'/'.join(IMAGE_SUFFIXES)} images and no {RUN_DIR_SAMPLES}")
    images = [read_image(p, value_range) for p in files]
    channels = max(im.shape[-1] for im in images)
    first = images[0].shape[:2]
    for p, im in zip(files, images, strict=True):
        if im.shape[:2] != first:
            raise UserError(
                f"{p}: size {im.shape[1]}x{im.shape[0]} differs from {first[1]}x{first[0]}"
            )
    if channels == 3:  # a grey image among colour ones is the same picture in RGB
        images = [np.repeat(im, 3, axis=-1) if im.shape[-1] == 1 else im for im in images]
    return np.stack(images)


def read_image(path: Path, value_range: str = "auto") -> np.ndarray:
    """One image file as (H, W, C) uint8, C in {1, 3}."""
    try:
        from PIL import Image  # matplotlib depends on Pillow, so it is normally present
    except ImportError:  # pragma: no cover - exercised only without Pillow
        return _read_image_matplotlib(path, value_range)
    try:
        with Image.open(path) as im:
            mode = {"L": "L", "1": "L", "LA": "L", "RGB": "RGB"}.get(im.mode, "RGB")
            if im.mode in ("I", "I;16", "I;16B", "F"):
                raise UserError(f"{path}: {im.mode} images (16-bit/float) are not supported")
            arr = np.asarray(im.convert(mode))
    except OSError as e:
        raise UserError(f"{path}: cannot read image ({e})") from None
    return as_nhwc(arr[None], str(path))[0]


def _read_image_matplotlib(path: Path, value_range: str) -> np.ndarray:
    import matplotlib.image

    arr = matplotlib.image.imread(path)
    return to_uint8(as_nhwc(arr[None], str(path)), value_range, str(path))[0]


# --------------------------------------------------------------------------- built-in sets

#: ``loader(split) -> (N, H, W, C) uint8`` by name, read as ``builtin:name[:split]``.
BUILTIN_DATASETS: Registry[Callable[[str], np.ndarray]] = Registry("built-in data set")
register_builtin = BUILTIN_DATASETS.register


def load_builtin(spec: str) -> ImageSet:
    """``NAME[:SPLIT]`` (SPLIT defaults to ``all``) from :data:`BUILTIN_DATASETS`."""
    name, _, split = spec.partition(":")
    split = split or "all"
    if name not in BUILTIN_DATASETS:
        valid = ", ".join(BUILTIN_PREFIX + k for k in BUILTIN_DATASETS)
        raise UserError(f"unknown built-in data set {BUILTIN_PREFIX}{name}; valid: {valid}")
    return ImageSet(BUILTIN_DATASETS.get(name)(split), BUILTIN_PREFIX + name, split)


DIGITS_SPLIT_SEED = 0
DIGITS_TEST_FRACTION = 0.2


def digits_split_indices(split: str, n: int) -> np.ndarray:
    """Indices of a fixed, seeded 80/20 train/test split of ``n`` samples (or all)."""
    order = np.random.default_rng(DIGITS_SPLIT_SEED).permutation(n)
    n_test = round(n * DIGITS_TEST_FRACTION)
    splits = {
        "all": np.arange(n),
        "train": np.sort(order[n_test:]),
        "test": np.sort(order[:n_test]),
    }
    if split not in splits:
        raise UserError(f"unknown split {split!r}; valid: {', '.join(splits)}")
    return splits[split]


def load_digits_labelled(split: str = "all") -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's bundled 8x8 digits: images (N, 8, 8, 1) uint8 and labels (N,) int64.

    The 17 grey levels 0..16 map onto 0..255 by ``round(v * 255 / 16)``.
    """
    try:
        from sklearn.datasets import load_digits
    except ImportError:
        raise UserError(
            "the digits data set needs scikit-learn: pip install scikit-learn"
        ) from None
    data = load_digits()
    idx = digits_split_indices(split, len(data.target))
    images = np.floor(data.images[idx] * (255.0 / 16.0) + 0.5).astype(np.uint8)[..., None]
    return images, data.target[idx].astype(np.int64)


@register_builtin("digits")
def _builtin_digits(split: str) -> np.ndarray:
    return load_digits_labelled(split)[0]


@register_builtin("smoke")
def _builtin_smoke(split: str) -> np.ndarray:
    """Frames of the ``domain:smoke`` data set (simulated on first use in a process)."""
    from fluidgan.metrics.smoke_frames import load_smoke_labelled

    return load_smoke_labelled(split)[0]
