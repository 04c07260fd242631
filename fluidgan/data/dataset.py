"""Training tiles from simulation files: random tiles, triplets, augmentation, loaders.

An item is one random draw made from ``(seed, index)`` alone, so it is the same in every
epoch, in every DataLoader worker and for any number of workers. An item picks a frame
uniformly over all frames of all files, one random transform (``augment``) and a tile
position; a position is accepted when the tile's mean low-res density (frame t, after the
transform) is at least ``density_threshold``, and after ``max_tries - 1`` rejections the last
one is used (docs/DATA.md). Files are opened lazily, once per process (DataLoader worker).

Items (float32):

* spatial:  ``{"low": (C, *s), "high": (1, *S), "low_velocity": (d, *s)}``
* temporal: ``{"low": (3, C, *s), "high": (3, 1, *S), "low_velocity": (3, d, *s)}`` for frames
  t-1, t, t+1 (clamped at the ends of the sequence), all cut and transformed alike.

with ``s = (tile,)*d``, ``S = (factor·tile,)*d``; ``low`` channels as in
:mod:`fluidgan.data.channels` (density, velocity x, y[, z], vorticity); ``low_velocity`` in
low-res cells per frame (for :func:`fluidgan.advection.align_triplet`); ``high`` density.
"""

from __future__ import annotations

import json
import os
import signal
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, get_worker_info

from fluidgan.data.augment import (
    AugmentConfig,
    draw_transform,
    footprint,
    is_lattice,
    resample,
    sample_low,
    tile_map,
)
from fluidgan.data.channels import build_inputs, check_channels, needs_velocity_margin
from fluidgan.errors import UserError
from fluidgan.io.simfile import open_sim

DEFAULT_LENGTH = 2**24  # items are i.i.d. draws; the length only bounds the index range
FIELDS = ("low/density", "low/velocity", "high/density")


@dataclass(frozen=True)
class SimInfo:
    """What the tile sampler needs to know about one simulation file."""

    path: Path
    dim: int
    factor: int
    frames: int
    low_shape: tuple[int, ...]
    high_shape: tuple[int, ...]


def read_info(path: str | os.PathLike) -> SimInfo:
    with open_sim(path) as f:
        if "high" not in f:
            raise UserError(f"{path}: no '/high' ground truth to train on (an upscaled file?)")
        return SimInfo(
            path=Path(path),
            dim=int(f.attrs["dim"]),
            factor=int(f.attrs["factor"]),
            frames=int(f["time"].shape[0]),
            low_shape=tuple(f["low/density"].shape[1:]),
            high_shape=tuple(f["high/density"].shape[1:]),
        )


def load_arrays(path: Path) -> dict[str, np.ndarray]:
    """The fields the sampler reads, whole, in memory (the optional cache)."""
    with open_sim(path) as f:
        return {key: f[key][...] for key in FIELDS}


def triplet_frames(t: int, frames: int) -> tuple[int, int, int]:
    """Frames (t-1, t, t+1), clamped to the sequence."""
    return max(t - 1, 0), t, min(t + 1, frames - 1)


def centre_range(
    transform: np.ndarray, tile: tuple[int, ...], margin: int, factor: int, grid: tuple[int, ...]
) -> tuple[np.ndarray, np.ndarray]:
    """Range (x first, low-res position units) of tile centres whose transformed low tile
    (with ``margin`` extra cells per side) and high tile sample only inside the domain."""
    low = footprint(transform, tuple(n + 2 * margin for n in tile))
    high = footprint(transform, tuple(n * factor for n in tile))
    size = np.array(grid[::-1], dtype=np.float64)
    lo = np.maximum(0.5 + low, (0.5 + high) / factor)
    hi = np.minimum(size - 0.5 - low, size - (0.5 + high) / factor)
    return lo, hi


def offset_range(
    transform: np.ndarray, tile: tuple[int, ...], margin: int, factor: int, grid: tuple[int, ...]
) -> tuple[np.ndarray, np.ndarray]:
    """Integer tile origins o (x first), centre = o + tile/2, that keep the footprint inside.

    Centres on this lattice make cell-preserving transforms sample exact cell centres. Where
    the margin does not fit, it is dropped; where the tile itself does not fit (a domain
    smaller than the rotated footprint), the tile is centred and the border values fill in.
    """
    half = np.array(tile[::-1], dtype=np.float64) / 2.0
    size = np.array(grid[::-1])
    first, last = np.zeros(len(grid), int), np.zeros(len(grid), int)
    done = np.zeros(len(grid), bool)
    for m in sorted({margin, 0}, reverse=True):
        lo, hi = centre_range(transform, tile, m, factor, grid)
        o_lo, o_hi = np.ceil(lo - half - 1e-9).astype(int), np.floor(hi - half + 1e-9).astype(int)
        fits = (o_lo <= o_hi) & ~done
        first = np.where(fits, o_lo, first)
        last = np.where(fits, o_hi, last)
        done |= fits
    centred = (size - np.array(tile[::-1])) // 2
    return np.where(done, first, centred), np.where(done, last, centred)


@dataclass(frozen=True)
class TileRecipe:
    """The random choices behind one item: file index, frames (t,) or (t-1, t, t+1), the
    transform A (d×d) and the tile centre (low-res position units, x first)."""

    sim: int
    frames: tuple[int, ...]
    transform: np.ndarray
    centre: np.ndarray


class TileDataset(Dataset):
    """Random (augmented) low/high tile pairs or triplets from simulation files.

    files: simulation files (same dim and factor); factor: high/low resolution ratio, checked
    against the files; tile: low-res tile edge in cells; channels: "rho", "rho+v" or
    "rho+v+w"; temporal: items are triplets (t-1, t, t+1); augment: an AugmentConfig or None;
    cache: load all files into memory once (small datasets); length: number of indices.
    """

    def __init__(
        self,
        files: list[str | os.PathLike],
        *,
        factor: int,
        tile: int = 16,
        channels: str = "rho+v+w",
        temporal: bool = False,
        augment: AugmentConfig | None = None,
        density_threshold: float = 0.02,
        max_tries: int = 20,
        seed: int = 0,
        cache: bool = False,
        length: int = DEFAULT_LENGTH,
    ):
        if not files:
            raise UserError("no simulation files given to the tile dataset")
        check_channels(channels)
        if max_tries < 1 or tile < 1 or length < 1 or seed < 0:
            raise UserError(
                f"tile dataset: need tile, max_tries, length >= 1 and seed >= 0 "
                f"(got {tile}, {max_tries}, {length}, {seed})"
            )
        self.sims = [read_info(p) for p in files]
        self.dim = self.sims[0].dim
        self.factor = factor
        self.tile = (tile,) * self.dim
        self.channels = channels
        self.temporal = temporal
        self.augment = augment
        self.density_threshold = density_threshold
        self.max_tries = max_tries
        self.seed = seed
        self.length = length
        self.margin = 1 if needs_velocity_margin(channels) else 0
        for sim in self.sims:
            self._check(sim)
        self._first_frame = np.cumsum([0] + [s.frames for s in self.sims])
        self._cache = [load_arrays(s.path) for s in self.sims] if cache else None
        self._handles: dict[int, Any] = {}
        self._pid = os.getpid()

    def _check(self, sim: SimInfo) -> None:
        if sim.dim != self.dim:
            raise UserError(f"{sim.path}: dim {sim.dim}, but {self.sims[0].path} has {self.dim}")
        if sim.factor != self.factor:
            raise UserError(f"{sim.path}: factor {sim.factor}, expected {self.factor}")
        if sim.high_shape != tuple(n * self.factor for n in sim.low_shape):
            raise UserError(
                f"{sim.path}: high-res grid {sim.high_shape} is not factor "
                f"{self.factor} × low-res grid {sim.low_shape}"
            )
        if any(t > n for t, n in zip(self.tile, sim.low_shape, strict=True)):
            raise UserError(
                f"{sim.path}: tile {self.tile} larger than the low-res grid {sim.low_shape}"
            )

    # -- files: opened lazily, once per process ---------------------------------------------

    def reopen(self) -> None:
        """Forget file handles (called in each DataLoader worker, which opens its own)."""
        self._handles = {}
        self._pid = os.getpid()

    def close(self) -> None:
        """Close the files this process opened (they reopen on the next item)."""
        if os.getpid() == self._pid:
            for handle in self._handles.values():
                handle["file"].close()
        self._handles = {}

    def _arrays(self, k: int) -> Any:
        if self._cache is not None:
            return self._cache[k]
        if os.getpid() != self._pid:
            self.reopen()
        if k not in self._handles:
            f = open_sim(self.sims[k].path)
            # the File keeps the datasets open; looking them up per item costs more than a read
            self._handles[k] = {"file": f, **{key: f[key] for key in FIELDS}}
        return self._handles[k]

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_handles"] = {}
        return state

    # -- items --------------------------------------------------------------------------------

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        return self.cut(self.recipe(index))

    def recipe(self, index: int) -> TileRecipe:
        """What item ``index`` is made of: its file, frames, transform and tile centre."""
        if not 0 <= index < self.length:
            raise IndexError(f"tile index {index} out of range [0, {self.length})")
        rng = np.random.default_rng([self.seed, int(index)])
        k, t = self._draw_frame(rng)
        sim = self.sims[k]
        frames = triplet_frames(t, sim.frames) if self.temporal else (t,)
        transform = draw_transform(self.augment, self.dim, rng)
        centre = self._place(transform, sim, self._arrays(k)["low/density"][t], rng)
        return TileRecipe(k, frames, transform, centre)

    def cut(self, recipe: TileRecipe) -> dict[str, torch.Tensor]:
        """The item a recipe describes (see the module docstring for its keys and shapes)."""
        low, high = self._cut(
            self._arrays(recipe.sim),
            self.sims[recipe.sim],
            recipe.frames,
            recipe.transform,
            recipe.centre,
        )
        inputs = build_inputs(low[:, :1], low[:, 1:], self.channels)
        crop = (slice(None), slice(None)) + (slice(self.margin, -self.margin or None),) * self.dim
        item = {"low": inputs[crop], "high": high, "low_velocity": low[:, 1:][crop]}
        if not self.temporal:
            item = {key: value[0] for key, value in item.items()}
        return {key: value.float().contiguous() for key, value in item.items()}

    def _draw_frame(self, rng: np.random.Generator) -> tuple[int, int]:
        """A frame uniformly over all frames of all files: (file index, frame)."""
        j = int(rng.integers(self._first_frame[-1]))
        k = int(np.searchsorted(self._first_frame, j, side="right") - 1)
        return k, j - int(self._first_frame[k])

    def _place(
        self, transform: np.ndarray, sim: SimInfo, density: np.ndarray, rng: np.random.Generator
    ) -> np.ndarray:
        """A tile centre (x first, low-res units) passing the density rule, or the last tried."""
        first, last = offset_range(transform, self.tile, self.margin, self.factor, sim.low_shape)
        frame = torch.from_numpy(np.ascontiguousarray(density))[None, None]
        lattice = is_lattice(transform)
        half = np.array(self.tile[::-1]) / 2.0
        for _ in range(self.max_tries):
            centre = rng.integers(first, last + 1) + half
            tile = resample(frame, tile_map(transform, centre, self.tile), lattice)
            if float(tile.mean()) >= self.density_threshold:
                break
        return centre

    def _cut(
        self,
        arrays: Any,
        sim: SimInfo,
        frames: tuple[int, ...],
        transform: np.ndarray,
        centre: np.ndarray,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Low (F, 1 + d, *s + 2·margin) density and transformed velocity, high (F, 1, *S)."""
        low_map = tile_map(transform, centre, tuple(n + 2 * self.margin for n in self.tile))
        high_map = tile_map(
            transform, centre, tuple(n * self.factor for n in self.tile), self.factor
        )
        low_block, low_origin = low_map.block(sim.low_shape)
        high_block, high_origin = high_map.block(sim.high_shape)
        # The frames are consecutive (a clamped triplet repeats an end frame): read the run
        # of distinct frames with one slice (h5py is much slower with a list of indices).
        first = min(frames)
        which = (slice(first, max(frames) + 1),)
        repeat = torch.as_tensor(frames) - first
        density = torch.from_numpy(arrays["low/density"][which + low_block])
        vel = torch.from_numpy(arrays["low/velocity"][which + low_block]).movedim(-1, 1)
        low = torch.cat([density.unsqueeze(1), vel], dim=1)
        high = torch.from_numpy(arrays["high/density"][which + high_block]).unsqueeze(1)
        low = sample_low(low, low_map.moved(low_origin))
        high = resample(high, high_map.moved(high_origin), is_lattice(transform))
        return low[repeat], high[repeat]


# -- files, splits and loaders ----------------------------------------------------------------


def list_sims(dataset_dir: str | os.PathLike) -> list[Path]:
    """The complete simulation files of a dataset directory, sorted.

    With a ``manifest.json``, the sims it lists with status "complete" (entries as a list or
    a mapping; the file under "file", "path" or "name", or the mapping key); else every
    ``sim_*.h5``.
    """
    root = Path(dataset_dir)
    if not root.is_dir():
        raise UserError(f"{root}: no such dataset directory")
    manifest = root / "manifest.json"
    if manifest.is_file():
        files = _manifest_files(manifest)
    else:
        files = sorted(root.glob("sim_*.h5"))
    if not files:
        raise UserError(f"{root}: no complete simulations (sim_*.h5) found")
    for path in files:
        if not path.is_file():
            raise UserError(f"{manifest}: lists {path.name} as complete, but it does not exist")
    return sorted(files)


def _manifest_files(manifest: Path) -> list[Path]:
    try:
        data = json.loads(manifest.read_text())
    except json.JSONDecodeError as e:
        raise UserError(f"{manifest}: invalid JSON ({e})") from None
    sims = data.get("sims", []) if isinstance(data, dict) else []
    entries = (
        [{"file": name, **entry} for name, entry in sims.items()]
        if isinstance(sims, dict)
        else list(sims)
    )
    files = []
    for entry in entries:
        if not isinstance(entry, dict):
            raise UserError(f"{manifest}: 'sims' entries must be tables, got {entry!r}")
        if entry.get("status") != "complete":
            continue
        name = entry.get("file") or entry.get("path") or entry.get("name")
        if not name:
            raise UserError(f"{manifest}: a complete sim without 'file': {entry!r}")
        files.append(manifest.parent / name)
    return files


def split_by_simulation(
    files: list[str | os.PathLike], val_fraction: float, seed: int = 0
) -> tuple[list[Path], list[Path]]:
    """Split whole simulations into (train, validation), deterministic in ``seed``.

    round(val_fraction · n) sims go to validation, at least one when val_fraction > 0 and
    there are two or more sims, and at least one always stays for training.
    """
    if not 0.0 <= val_fraction < 1.0:
        raise UserError(f"val_fraction {val_fraction} must be in [0, 1)")
    files = sorted(Path(f) for f in files)
    n = len(files)
    n_val = round(val_fraction * n)
    if val_fraction > 0 and n >= 2:
        n_val = max(n_val, 1)
    n_val = min(n_val, max(n - 1, 0))
    order = np.random.default_rng(seed).permutation(n)
    val = sorted(files[i] for i in order[:n_val])
    train = sorted(files[i] for i in order[n_val:])
    return train, val


def worker_init_fn(worker_id: int) -> None:
    """Each worker opens its own HDF5 handles (never the parent's) on first use.

    Workers ignore SIGINT and SIGTERM: Ctrl-C in a terminal, ``timeout`` and batch
    schedulers signal the whole process group, and a worker killed by it would crash the
    trainer instead of letting it finish the iteration and write its checkpoint; the
    trainer shuts its workers down itself (and they exit if it dies)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    info = get_worker_info()
    if info is not None and hasattr(info.dataset, "reopen"):
        info.dataset.reopen()


def make_loader(
    dataset: Dataset, batch_size: int, workers: int = 2, seed: int = 0, *, start: int = 0
) -> DataLoader:
    """A DataLoader over indices ``start, start + 1, …`` of ``dataset``, full batches only.

    The items are already random draws, so reading indices in order is a random stream
    that is reproducible for any ``workers`` and resumable with ``start`` (the number of
    items consumed). ``seed`` seeds the worker processes' torch RNG. Batches are pinned
    when CUDA is present (faster host-to-device copies).
    """
    generator = torch.Generator()
    generator.manual_seed(seed)
    return DataLoader(
        dataset,
        batch_size=batch_size,
        sampler=range(start, len(dataset)),
        num_workers=workers,
        worker_init_fn=worker_init_fn,
        generator=generator,
        drop_last=True,
        pin_memory=torch.cuda.is_available(),
        persistent_workers=workers > 0,
        prefetch_factor=4 if workers > 0 else None,
    )


# -- config -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DataConfig:
    """The data section of a training config."""

    tile: int = 16
    channels: Literal["rho", "rho+v", "rho+v+w"] = "rho+v+w"
    density_threshold: float = 0.02
    max_tries: int = 20
    val_fraction: float = 0.1
    augmentation: bool = True
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    cache: bool = False
    workers: int = 2
    seed: int = 0


def make_datasets(
    cfg: DataConfig,
    dataset_dir: str | os.PathLike,
    *,
    temporal: bool = False,
    length: int = DEFAULT_LENGTH,
) -> tuple[TileDataset, TileDataset | None]:
    """Training (augmented) and validation (not augmented) datasets split by simulation."""
    train, val = split_by_simulation(list_sims(dataset_dir), cfg.val_fraction, cfg.seed)
    factor = read_info(train[0]).factor
    common = dict(
        factor=factor,
        tile=cfg.tile,
        channels=cfg.channels,
        temporal=temporal,
        density_threshold=cfg.density_threshold,
        max_tries=cfg.max_tries,
        seed=cfg.seed,
        cache=cfg.cache,
        length=length,
    )
    augment = cfg.augment if cfg.augmentation else None
    train_set = TileDataset(train, augment=augment, **common)
    val_set = TileDataset(val, augment=None, **common) if val else None
    return train_set, val_set
