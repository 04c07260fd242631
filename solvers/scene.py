"""Scene descriptions: typed configs, and generators that draw randomised scenes from a seed.

Positions and sizes are fractions of the grid (so a scene works at any resolution);
velocities are in cells per time unit of the simulated grid; ``gravity`` follows
mantaflow's convention (domain units: the acceleration per unit density is
``-gravity · dt / dx`` cells per time unit with ``dx = 1 / max(res)``).

A generator turns a scene config and a random generator into the concrete scene one
simulation runs (``fixed`` returns it unchanged, ``training`` draws the randomised
tempoGAN training scene). The concrete scene is stored in every simulation file.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from fluidgan.registry import Registry


@dataclass
class NoiseSpec:
    """mantaflow NoiseField parameters: value = clamp(noise · val_scale + val_offset)."""

    enabled: bool = True
    seed: int | None = None  # None: drawn from the simulation's seed
    pos_scale: float = 45.0  # noise tile cells across the domain's x extent
    val_scale: float = 1.0
    val_offset: float = 0.75
    time_anim: float = 0.2
    clamp: tuple[float, float] = (0.0, 1.0)


@dataclass
class ShapeSpec:
    """A sphere, box or cylinder (axis y); fractions of the grid, x first."""

    shape: Literal["sphere", "box", "cylinder"] = "sphere"
    center: list[float] = field(default_factory=lambda: [0.5, 0.5, 0.5])
    radius: float = 0.1  # fraction of the x extent (sphere, cylinder)
    half_size: list[float] = field(default_factory=lambda: [0.1, 0.1, 0.1])  # box
    half_height: float = 0.02  # cylinder, fraction of the y extent
    scale: list[float] = field(default_factory=lambda: [1.0, 1.0, 1.0])  # sphere stretch


@dataclass
class SourceSpec(ShapeSpec):
    """An inflow: density (noise-modulated) or velocity, active for frames [start, stop)."""

    kind: Literal["density", "velocity"] = "density"
    density: float = 1.0
    sigma: float = 0.5  # cells over which density fades at the shape's surface
    velocity: list[float] = field(default_factory=lambda: [0.0, 0.0, 0.0])
    noise: NoiseSpec = field(default_factory=NoiseSpec)
    start: int = 0
    stop: int | None = None


@dataclass
class PressureSpec:
    method: str = "mgpcg"
    tol: float = 1e-3
    tol_mode: Literal["absolute", "relative"] = "absolute"
    max_iter: int = 2000


@dataclass
class SceneConfig:
    """Everything one simulation needs; ``res`` is the simulated (high-res) grid, x first."""

    name: str = "plume"
    generator: str = "fixed"
    dim: int = 2
    res: list[int] = field(default_factory=lambda: [128, 128])
    factor: int = 4
    frames: int = 100
    warmup: int = 0  # frames simulated before the first saved one
    dt: float = 1.0
    substeps: int = 1  # solver steps per frame
    boundary_width: int = 1
    open_sides: list[str] = field(default_factory=list)
    gravity: list[float] = field(default_factory=lambda: [0.0, -4e-3, 0.0])
    vorticity: float = 0.0
    vorticity_warmup_only: bool = False
    advection: Literal["maccormack", "semi_lagrangian"] = "maccormack"
    clamp: Literal["clamp", "revert"] = "clamp"
    cfl_max: float = 8.0  # a step moving faster is split into substeps; see on_cfl
    on_cfl: Literal["substep", "error"] = "substep"
    pressure: PressureSpec = field(default_factory=PressureSpec)
    sources: list[SourceSpec] = field(default_factory=list)
    obstacles: list[ShapeSpec] = field(default_factory=list)

    def __post_init__(self):
        if self.dim not in (2, 3):
            raise ValueError(f"dim must be 2 or 3, got {self.dim}")
        if len(self.res) != self.dim:
            raise ValueError(f"res {self.res} has {len(self.res)} axes but dim is {self.dim}")
        for n in self.res:
            if n % self.factor:
                raise ValueError(f"res {self.res} is not divisible by factor {self.factor}")
            if n // self.factor < 4:
                raise ValueError(f"res {self.res} gives a low-res grid under 4 cells")
        if self.frames < 1 or self.substeps < 1 or self.dt <= 0:
            raise ValueError("frames and substeps must be >= 1 and dt > 0")

    @property
    def shape(self) -> tuple[int, ...]:
        """Array shape (z, y, x) of the high-res grid."""
        return tuple(self.res[::-1])

    @property
    def low_shape(self) -> tuple[int, ...]:
        return tuple(n // self.factor for n in self.res[::-1])


Generator = Callable[[SceneConfig, np.random.Generator], SceneConfig]
GENERATORS: Registry[Generator] = Registry("scene generator")
generator = GENERATORS.register


def concrete_scene(scene: SceneConfig, seed: int) -> SceneConfig:
    """The scene one simulation runs: the generator's draw, noise seeds fixed."""
    gen = GENERATORS.get(scene.generator)
    rng = np.random.default_rng(seed)
    out = gen(scene, rng)
    sources = [
        dataclasses.replace(s, noise=dataclasses.replace(s.noise, seed=int(rng.integers(2**31))))
        if s.noise.seed is None
        else s
        for s in out.sources
    ]
    return dataclasses.replace(out, sources=sources)


@generator("fixed")
def fixed_scene(scene: SceneConfig, rng: np.random.Generator) -> SceneConfig:
    return scene


@generator("training")
def training_scene(scene: SceneConfig, rng: np.random.Generator) -> SceneConfig:
    """The randomised tempoGAN training scene (mantaflow ``gen_sim_data.py``; docs/METHOD.md).

    Buoyancy factor b ~ U[0.1, 1.1], off below 0.3 (then velocity sources 1.4–2.9× as
    strong); 12 noise-modulated density spheres around the centre (±0.2 of the domain),
    radius fraction folded into [0.04, 0.45], each a continuous inflow with p = 0.5 (moved
    down) else initial density only; {1, 3, 5}·dim small velocity spheres pushing towards
    the centre with jitter, re-imposed every step.
    """
    dim = scene.dim
    b = rng.random() + 0.1
    vel_fac = 1.0
    if b < 0.3:
        b, vel_fac = 0.0, 1.4 + 1.5 * rng.random()
    sources = [_training_density_source(i, dim, rng) for i in range(12)]
    sources += _training_velocity_sources(dim, scene.factor * vel_fac, rng)
    return dataclasses.replace(scene, gravity=[0.0, -3e-4 * b, 0.0], sources=sources)


def _training_density_source(i: int, dim: int, rng: np.random.Generator) -> SourceSpec:
    r = rng.random(14)
    offset = 0.4 * (r[0:3] - 0.5)
    radius = r[3] * r[7] * r[12] * 0.7
    radius = max(radius, 1e-6)
    while radius < 0.04:
        radius *= 1.1
    while radius > 0.45:
        radius /= 1.1
    inflow = r[8] > 0.5
    if inflow:
        offset[1] = 0.5 * (offset[1] - 0.4 if offset[1] > -0.2 else offset[1])
    if dim == 2:
        offset[2] = 0.0
    stretch = 0.95 + 0.1 * r[4:7]
    # mantaflow's noise position scale is relative to a 64-cell base grid
    noise = NoiseSpec(
        pos_scale=float((64 * 0.1 * r[7] + 1.0) * r[12]),
        val_scale=0.6 + i / 12.0,
        val_offset=float(-0.05 * r[9]),
        time_anim=0.3,
    )
    return SourceSpec(
        shape="sphere",
        center=list(0.5 + offset),
        radius=float(radius),
        scale=[float(s) for s in stretch],
        sigma=1.0,
        noise=noise,
        stop=None if inflow else 1,
    )


def _training_velocity_sources(
    dim: int, strength: float, rng: np.random.Generator
) -> list[SourceSpec]:
    count, size_fac = {0: (1, 0.9), 1: (3, 0.7), 2: (5, 0.6)}[int(rng.integers(3))]
    sources = []
    for _ in range(count * dim):
        v = rng.random(10)
        pos = 0.5 + (v[0:3] - 0.5) * 0.6
        size = (0.05 + 0.1 * v[3]) * size_fac
        velocity = -(v[0:3] - 0.5) * 1.2 + (v[4:7] - 0.5) * 0.3  # towards the middle
        velocity = velocity * 0.45 * (1.0 + 0.5 * v[7]) * strength
        if dim == 2:
            pos[2], velocity[2] = 0.5, 0.0
        sources.append(
            SourceSpec(
                kind="velocity",
                shape="sphere",
                center=[float(p) for p in pos],
                radius=float(size * 0.2),
                velocity=[float(c) for c in velocity],
                noise=NoiseSpec(enabled=False, seed=0),
            )
        )
    return sources


def solver_settings(scene: SceneConfig) -> dict:
    """How the frames of ``scene`` were computed, as stored in a simulation file."""
    return {
        "name": "fluidgan.solvers.smoke",
        "advection": scene.advection,
        "clamp": scene.clamp,
        "pressure": dataclasses.asdict(scene.pressure),
        "dt": scene.dt,
        "substeps": scene.substeps,
    }


def coarse_scene(scene: SceneConfig, factor: int) -> SceneConfig:
    """The concrete high-res scene at ``1/factor`` resolution, one solver step per frame of
    the same length (a coarse grid needs no substeps for the CFL number; adaptive substeps
    still guard it). Velocity sources are in cells per time unit: divided by ``factor``."""
    sources = [
        dataclasses.replace(s, velocity=[v / factor for v in s.velocity]) for s in scene.sources
    ]
    return dataclasses.replace(
        scene,
        res=[n // factor for n in scene.res],
        factor=1,
        dt=scene.dt * scene.substeps,
        substeps=1,
        sources=sources,
    )
