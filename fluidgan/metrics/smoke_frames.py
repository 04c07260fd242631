"""Labelled smoke frames for the ``domain:smoke`` classifier and ``builtin:smoke``.

Each class is one setting of the scene parameters of a small 2D plume simulated with the
project's own solver (``solvers``): the inflow size (small, large) times its density
(uniform, or noise-modulated as in tempoGAN's scenes), so K = 4 -- parameters that show
locally in every frame, wherever the plume is (the classifier pools its local features
globally: it sees widths and textures, not positions or counts). Within a class every
simulation draws its own buoyancy, inflow position, a jitter of the radius and its own
noise seed; the label depends on the class parameters only. (Tried and dropped, at about
50-75 % held-out accuracy: buoyancy -- a strong plume early looks like a weak one later;
the number of inflows -- counting is beyond a small globally pooled CNN; a third, medium
size.)

Frames are 32x32 density in [0, 1], flipped so that smoke rises upwards (as
:mod:`fluidgan.gan.data` shows smoke), quantised to uint8. Simulating them takes about a
second per simulation; they are kept in ``<cache_dir>/domain/smoke-frames-<split>-v<N>.npz``.

The split is by simulation (no frame of a test simulation is trained on): seeds
``0 .. TRAIN_SIMS-1`` per class train, the next ``TEST_SIMS`` test. Everything is drawn from
fixed seeds, so the data set is the same on every machine (the solver is deterministic).
"""

from __future__ import annotations

import functools
import itertools
from dataclasses import dataclass

import numpy as np

from fluidgan.metrics.cache import cache_dir, write_atomic
from fluidgan.registry import Registry

RES = 32  # simulated grid, cells per axis; also the image size
FRAMES = 40  # frames simulated per simulation
FIRST_FRAME = 12  # earlier frames show little more than the inflows
FRAME_STRIDE = 2
TRAIN_SIMS, TEST_SIMS = 8, 2  # per class
SIZES = {"small": 0.05, "large": 0.10}  # inflow radius, fraction of the domain
DENSITIES = ("uniform", "noisy")  # NoiseSpec.enabled off / on (tempoGAN's noise settings)
BUOYANCY = (2e-3, 6e-3)  # range of |gravity| (mantaflow domain units), a nuisance
SEED = 20240  # base of every draw
DATA_VERSION = 1  # bump with any change above: the cached classifier is then retrained


@dataclass(frozen=True)
class SmokeClass:
    """One label: a setting of the scene parameters."""

    size: str
    density: str

    @property
    def name(self) -> str:
        return f"{self.size}-{self.density}"


CLASSES = tuple(SmokeClass(r, n) for r, n in itertools.product(SIZES, DENSITIES))
#: Simulation indices (per class) of each split.
SPLIT_SEEDS: Registry[range] = Registry("split", ordered=True)
SPLIT_SEEDS.register("train")(range(TRAIN_SIMS))
SPLIT_SEEDS.register("test")(range(TRAIN_SIMS, TRAIN_SIMS + TEST_SIMS))
SPLIT_SEEDS.register("all")(range(TRAIN_SIMS + TEST_SIMS))


def smoke_scene(label: int, sim: int):
    """The concrete scene of simulation ``sim`` of class ``label`` (a ``SceneConfig``)."""
    from solvers.scene import NoiseSpec, SceneConfig, SourceSpec, concrete_scene

    cls = CLASSES[label]
    rng = np.random.default_rng([SEED, label, sim])
    source = SourceSpec(
        shape="cylinder",
        center=[rng.uniform(0.3, 0.7), rng.uniform(0.12, 0.2), 0.5],
        radius=SIZES[cls.size] * rng.uniform(0.92, 1.08),
        half_height=0.04,
        noise=NoiseSpec(enabled=cls.density == "noisy"),
    )
    scene = SceneConfig(
        dim=2,
        res=[RES, RES],
        factor=4,
        frames=FRAMES,
        open_sides=["x-", "x+", "y-", "y+"],
        gravity=[0.0, -rng.uniform(*BUOYANCY), 0.0],
        sources=[source],
    )
    return concrete_scene(scene, int(rng.integers(2**31)))


def simulate_frames(label: int, sim: int) -> np.ndarray:
    """Density frames FIRST_FRAME, FIRST_FRAME + FRAME_STRIDE, … as (F, RES, RES) float32,
    row 0 at the top of the domain."""
    from solvers.smoke import Smoke

    smoke = Smoke(smoke_scene(label, sim))
    frames = []
    for f in range(FRAMES):
        smoke.advance_frame()
        if f >= FIRST_FRAME and (f - FIRST_FRAME) % FRAME_STRIDE == 0:
            frames.append(smoke.frame()[0][::-1])
    return np.stack(frames)


@functools.lru_cache(maxsize=3)
def load_smoke_labelled(split: str = "all") -> tuple[np.ndarray, np.ndarray]:
    """Images (N, 32, 32, 1) uint8 and labels (N,) int64 of ``split`` (train, test, all);
    from the cache file, else simulated and stored. Shared arrays: do not modify."""
    SPLIT_SEEDS.get(split)  # a UserError listing the valid splits
    path = cache_dir() / "domain" / f"smoke-frames-{split}-v{DATA_VERSION}.npz"
    try:
        with np.load(path) as z:
            return z["images"], z["labels"]
    except (OSError, KeyError, ValueError):
        pass  # absent or unreadable: simulate (again)
    images, labels = simulate_split(split)
    write_atomic(path, lambda f: np.savez(f, images=images, labels=labels))
    return images, labels


def simulate_split(split: str) -> tuple[np.ndarray, np.ndarray]:
    """Simulate every frame of ``split``: images (N, 32, 32, 1) uint8, labels (N,) int64."""
    images, labels = [], []
    for label, sim in itertools.product(range(len(CLASSES)), SPLIT_SEEDS.get(split)):
        frames = simulate_frames(label, sim)
        images.append(np.floor(np.clip(frames, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8))
        labels.append(np.full(len(frames), label, dtype=np.int64))
    return np.concatenate(images)[..., None], np.concatenate(labels)
