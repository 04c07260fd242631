"""Image data sets for the GAN zoo, registered by name, held in memory as
``ImageData.images`` (N, C, H, W) float32 in [-1, 1] with optional class labels.

digits        scikit-learn's bundled 8×8 digits (1797 images, 10 classes), resized
npz           a user .npz: uint8 [0, 255] or float [0, 1] images (N, H, W[, C]),
              optional labels (N,)
image_folder  PNG/JPEG/BMP files; labels from sub-folder names when every file is in one
smoke         density frames (2D) or slices (3D) of fluidgan simulations (HDF5); labels
              from a scene key (data.options.labels = "name": plume, training, ...)
smoke_frames  the 32×32 plume frames of the ``domain:smoke`` classifier (simulated on
              first use, then cached; 4 classes: inflow size × density), split train/test

Unpaired domains for the two-mapping models come from one set: a seeded half A, and the
other half through a registered domain transform (invert, coarsen, flip) as B.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from fluidgan.errors import UserError
from fluidgan.registry import Registry


@dataclass
class ImageData:
    images: Tensor  # (N, C, H, W) float32 in [-1, 1]
    labels: Tensor | None = None  # (N,) int64
    num_classes: int = 0
    class_names: list[str] | None = None  # index -> name, when known

    def __len__(self) -> int:
        return self.images.shape[0]


Loader = Callable[..., ImageData]
DATASETS: Registry[Loader] = Registry("dataset")
DOMAIN_TRANSFORMS: Registry[Callable[[Tensor], Tensor]] = Registry("domain transform")


def load_dataset(
    name: str,
    *,
    size: tuple[int, int] | None,
    channels: int,
    path: str | None = None,
    **options: Any,
) -> ImageData:
    """The data set ``name`` resized to ``size`` (H, W; None keeps it) with ``channels``
    (1 or 3) channels; ``options`` go to its loader (UserError names a bad one)."""
    if channels not in (1, 3):
        raise UserError(f"data.channels is {channels}; valid: 1, 3")
    DATASETS.check_options(name, options, "data.options", skip=3)
    data = DATASETS.get(name)(size, channels, path, **options)
    if len(data) == 0:
        raise UserError(f"data set {name!r} at {path} holds no images")
    return data


def from_unit(images: np.ndarray | Tensor, size, channels: int) -> Tensor:
    """(N, H, W[, C]) values in [0, 1] -> (N, channels, *size) in [-1, 1]."""
    x = torch.as_tensor(np.ascontiguousarray(images, dtype=np.float32))
    x = x.unsqueeze(1) if x.dim() == 3 else x.permute(0, 3, 1, 2)
    x = match_channels(x, channels)
    if size is not None and tuple(x.shape[2:]) != tuple(size):
        shrink = size[0] < x.shape[2] or size[1] < x.shape[3]
        x = F.interpolate(
            x, size=tuple(size), mode="bilinear", align_corners=False, antialias=shrink
        )
    return (x * 2 - 1).clamp(-1, 1).contiguous()


def match_channels(x: Tensor, channels: int) -> Tensor:
    """Grey -> RGB by repetition, RGB -> grey by luminance (ITU-R 601)."""
    if x.shape[1] == channels:
        return x
    if x.shape[1] == 1:
        return x.expand(-1, channels, -1, -1)
    if x.shape[1] in (3, 4) and channels == 1:
        w = torch.tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)
        return (x[:, :3] * w).sum(1, keepdim=True)
    if x.shape[1] == 4:
        return x[:, :3]
    raise UserError(f"images have {x.shape[1]} channels; cannot make {channels}")


@DATASETS.register("digits")
def digits(size, channels: int, path: str | None) -> ImageData:
    """scikit-learn's 8×8 digits, intensities 0..16, labels 0..9."""
    try:
        from sklearn.datasets import load_digits
    except ImportError:  # pragma: no cover - depends on the environment
        raise UserError(
            "the 'digits' data set needs scikit-learn (pip install scikit-learn)"
        ) from None
    d = load_digits()
    images = from_unit(d.images / 16.0, size, channels)
    return ImageData(images, torch.as_tensor(d.target, dtype=torch.long), 10)


def _require_path(path: str | None, name: str) -> Path:
    if not path:
        raise UserError(f"data set {name!r} needs data.path")
    p = Path(path).expanduser()
    if not p.exists():
        raise UserError(f"data.path {p}: no such file or directory")
    return p


def _to_unit(a: np.ndarray, where: str) -> np.ndarray:
    if a.dtype == np.uint8:
        return a.astype(np.float32) / 255.0
    a = a.astype(np.float32)
    if a.size and (a.min() < -1e-3 or a.max() > 1 + 1e-3):
        raise UserError(
            f"{where}: float images must lie in [0, 1] "
            f"(got [{a.min():.3g}, {a.max():.3g}]); or store uint8"
        )
    return a


def _labels(raw: np.ndarray | None) -> tuple[Tensor | None, int]:
    if raw is None:
        return None, 0
    y = torch.as_tensor(np.asarray(raw).astype(np.int64))
    return y, int(y.max()) + 1


@DATASETS.register("npz")
def npz(
    size, channels: int, path: str | None, key: str = "images", labels_key: str = "labels"
) -> ImageData:
    """``key``: (N, H, W[, C]) images; ``labels_key``: (N,) class ids, used when present."""
    p = _require_path(path, "npz")
    with np.load(p) as f:
        if key not in f:
            raise UserError(f"{p}: no array {key!r}; arrays: {', '.join(f.files)}")
        images = f[key]
        raw = f[labels_key] if labels_key in f else None
    if images.ndim not in (3, 4):
        raise UserError(f"{p}: '{key}' has shape {images.shape}; expected (N, H, W[, C])")
    labels, k = _labels(raw)
    return ImageData(from_unit(_to_unit(images, str(p)), size, channels), labels, k)


IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp")


@DATASETS.register("image_folder")
def image_folder(size, channels: int, path: str | None) -> ImageData:
    """Every image under ``path``; class = sub-folder name when all files are in one.
    Images of different sizes need data.size."""
    from PIL import Image

    root = _require_path(path, "image_folder")
    files = sorted(p for p in root.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise UserError(f"{root}: no {'/'.join(IMAGE_SUFFIXES)} files")
    mode = "L" if channels == 1 else "RGB"
    arrays = []
    for f in files:
        with Image.open(f) as im:
            im = im.convert(mode)
            if size is not None:
                im = im.resize((size[1], size[0]), Image.BILINEAR)
            arrays.append(np.asarray(im, dtype=np.uint8))
    shapes = {a.shape for a in arrays}
    if len(shapes) > 1:
        raise UserError(f"{root}: images differ in size {sorted(shapes)[:3]}; set data.size")
    images = np.stack(arrays).astype(np.float32) / 255.0
    classes = sorted({f.parent.relative_to(root).as_posix() for f in files})
    labels, k, names = None, 0, None
    if "." not in classes and len(classes) > 1:
        index = {c: i for i, c in enumerate(classes)}
        labels = torch.tensor([index[f.parent.relative_to(root).as_posix()] for f in files])
        k, names = len(classes), classes
    return ImageData(from_unit(images, None, channels), labels, k, names)


def _smoke_files(path: Path) -> list[Path]:
    files = sorted(path.glob("*.h5")) if path.is_dir() else [path]
    if not files or not files[0].is_file():
        raise UserError(f"{path}: no simulation files (*.h5)")
    return files


#: The images a 3D frame gives (``data.options.slices``): ``(volumes, stride) -> images``
#: for every ``stride``-th volume of a (T, Z, Y, X) dataset, images (N, Y, X).
SLICES: Registry[Callable[[Any, int], np.ndarray]] = Registry("slices", ordered=True)


@SLICES.register("middle")
def _middle_slices(ds: Any, stride: int) -> np.ndarray:
    return ds[::stride, ds.shape[1] // 2]


@SLICES.register("all")
def _every_strideth_slice(ds: Any, stride: int) -> np.ndarray:
    frames = ds[::stride]
    return frames[:, ::stride].reshape(-1, *frames.shape[2:])


def _read_frames(h5: Any, key: str, where: Path, slices: str, stride: int) -> np.ndarray:
    """(T, [Z,] Y, X) -> (N, Y, X): every ``stride``-th frame; 3D: the middle z slice of
    each ('middle') or every ``stride``-th z slice ('all')."""
    if key not in h5:
        raise UserError(f"{where}: no dataset '/{key}'")
    ds = h5[key]
    if ds.ndim == 3:
        return ds[::stride]
    if ds.ndim == 4:
        return SLICES[slices](ds, stride)
    raise UserError(f"{where}: '/{key}' has shape {ds.shape}; expected (T, [Z,] Y, X)")


def _scene_value(h5: Any, where: Path, key: str) -> str:
    """The value of ``key`` in the file's scene attribute (JSON), as a class name."""
    scene = json.loads(h5.attrs.get("scene", "{}"))
    if key not in scene:
        raise UserError(
            f"{where}: scene has no key {key!r} for data.options.labels; "
            f"keys: {', '.join(sorted(scene))}"
        )
    return json.dumps(scene[key], sort_keys=True) if not isinstance(scene[key], str) else scene[key]


def load_smoke_frames(
    path: str | os.PathLike,
    group: str = "high",
    field: str = "density",
    slices: str = "middle",
    stride: int = 1,
    labels: str | None = None,
) -> tuple[np.ndarray, list[str] | None]:
    """Density frames of fluidgan simulations as (N, Y, X) float32, unnormalised, and
    with ``labels`` (a key of the scene attribute, e.g. 'name' or 'generator') the class
    name of every frame.

    path: one ``sim_*.h5`` file or a data-set directory (every ``*.h5`` in it, sorted).
    Reads ``/<group>/<field>``, float32 (T, [Z,] Y, X) (docs/FORMATS.md). 2D: every
    ``stride``-th frame. 3D: from each such frame the middle z slice ('middle') or every
    ``stride``-th z slice ('all').
    """
    import h5py

    if slices not in SLICES:
        raise UserError(f"data.options.slices is {slices!r}; valid: {', '.join(SLICES)}")
    if stride < 1:
        raise UserError(f"data.options.stride must be ≥ 1, got {stride}")
    frames, names = [], []
    for f in _smoke_files(Path(path)):
        with h5py.File(f, "r") as h:
            part = _read_frames(h, f"{group}/{field}", f, slices, stride)
            frames.append(part)
            if labels is not None:
                names += [_scene_value(h, f, labels)] * len(part)
    return np.concatenate(frames).astype(np.float32), (names if labels is not None else None)


@DATASETS.register("smoke")
def smoke(
    size,
    channels: int,
    path: str | None,
    group: str = "high",
    field: str = "density",
    slices: str = "middle",
    stride: int = 1,
    vmax: float | None = None,
    labels: str | None = None,
) -> ImageData:
    """Smoke density scaled by ``vmax`` (default: the largest value) into [0, 1].
    labels: a scene key ('name': plume, training, ...) whose values become the classes
    (sorted), for class-conditional models; None: unlabelled."""
    p = _require_path(path, "smoke")
    frames, names = load_smoke_frames(p, group, field, slices, stride, labels)
    top = float(vmax) if vmax is not None else max(float(frames.max()), 1e-12)
    frames = np.clip(frames / top, 0.0, 1.0)
    # Array row 0 is y = 0 (the bottom); flip so images show smoke rising upwards.
    images = from_unit(frames[:, ::-1], size, channels)
    if names is None:
        return ImageData(images)
    classes = sorted(set(names))
    index = {c: k for k, c in enumerate(classes)}
    y = torch.tensor([index[n] for n in names], dtype=torch.long)
    return ImageData(images, y, len(classes), classes)


@DATASETS.register("smoke_frames")
def smoke_frames(size, channels: int, path: str | None, split: str = "train") -> ImageData:
    """The labelled 32×32 plume frames the ``domain:smoke`` classifier is trained on
    (:mod:`fluidgan.metrics.smoke_frames`), so that FID_domain on them is in-domain."""
    from fluidgan.metrics.smoke_frames import CLASSES, load_smoke_labelled

    if path is not None:
        raise UserError("data set 'smoke_frames' is built in; remove data.path")
    images, labels = load_smoke_labelled(split)
    return ImageData(
        from_unit(images.astype(np.float32) / 255.0, size, channels),
        torch.as_tensor(labels, dtype=torch.long),
        len(CLASSES),
        [c.name for c in CLASSES],
    )


@DOMAIN_TRANSFORMS.register("invert")
def invert(x: Tensor) -> Tensor:
    return -x


@DOMAIN_TRANSFORMS.register("flip")
def flip(x: Tensor) -> Tensor:
    return x.flip(-1)


@DOMAIN_TRANSFORMS.register("coarsen")
def coarsen(x: Tensor, factor: int = 4) -> Tensor:
    """Average over factor² blocks, then bilinear back to full size (coarse ↔ fine)."""
    small = F.avg_pool2d(x, factor, ceil_mode=True)
    return F.interpolate(small, size=x.shape[2:], mode="bilinear", align_corners=False)


def two_domains(data: ImageData, transform: str, paired: bool, seed: int) -> tuple[Tensor, Tensor]:
    """(A, B): unpaired — disjoint seeded halves, B through ``transform``; paired — all
    images and their transforms, index by index."""
    fn = DOMAIN_TRANSFORMS.get(transform)
    if paired:
        return data.images, fn(data.images)
    perm = torch.randperm(len(data), generator=torch.Generator().manual_seed(seed))
    half = len(data) // 2
    return data.images[perm[:half]], fn(data.images[perm[half:]])


class Batcher:
    """Endless random batches from in-memory sources.

    Each source is a dict of aligned tensors (same first axis) sampled without
    replacement within an epoch; sources are independent (unpaired domains). The state
    (generator, permutations, positions) is checkpointed so a resumed run sees the same
    batches.
    """

    def __init__(self, sources: list[Mapping[str, Tensor]], batch_size: int, seed: int):
        self.sources = [dict(s) for s in sources]
        self.batch_size = batch_size
        self.gen = torch.Generator().manual_seed(seed)
        self.perms = [torch.randperm(self._n(s), generator=self.gen) for s in self.sources]
        self.pos = [0] * len(self.sources)
        for s in self.sources:
            if self._n(s) < batch_size:
                raise UserError(
                    f"train.batch_size={batch_size} exceeds the data set ({self._n(s)} images)"
                )

    @staticmethod
    def _n(source: Mapping[str, Tensor]) -> int:
        return next(iter(source.values())).shape[0]

    def next(self) -> dict[str, Tensor]:
        out: dict[str, Tensor] = {}
        for i, source in enumerate(self.sources):
            if self.pos[i] + self.batch_size > len(self.perms[i]):
                self.perms[i] = torch.randperm(len(self.perms[i]), generator=self.gen)
                self.pos[i] = 0
            idx = self.perms[i][self.pos[i] : self.pos[i] + self.batch_size]
            self.pos[i] += self.batch_size
            out.update({k: v[idx.to(v.device)] for k, v in source.items()})
        return out

    def state_dict(self) -> dict[str, Any]:
        return {"gen": self.gen.get_state(), "perms": list(self.perms), "pos": list(self.pos)}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self.gen.set_state(state["gen"])
        self.perms = list(state["perms"])
        self.pos = list(state["pos"])
