"""The smoke simulation: one step reads like the physics (docs/METHOD.md, "Simulation").

    sources -> advect density and velocity -> walls -> buoyancy -> vorticity confinement
            -> velocity sources -> make incompressible -> walls

State lives in grid units: ``density`` (*shape), MAC ``vel`` (d, *shape) in cells per time
unit. :meth:`Smoke.frame` gives what a simulation file stores: density and the cell-centred
velocity in cells per *frame*.
"""

from __future__ import annotations

import math
import time
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np

from fluidgan.registry import Registry
from solvers import advection, boundaries, forces
from solvers.grid import OBSTACLE, make_flags, zero_velocity
from solvers.pressure import Projector
from solvers.scene import SceneConfig, ShapeSpec, SourceSpec
from solvers.sources import DensityInflow, NoiseField, VelocitySource, signed_distance

#: Advection schemes by name (value: the order passed to ``solvers.advection``).
ORDERS: Registry[int] = Registry("advection scheme", ordered=True)
ORDERS.register("semi_lagrangian")(1)
ORDERS.register("maccormack")(2)


class SimulationError(RuntimeError):
    """The simulation left the physical regime (CFL, NaN/Inf); the message says where."""


@dataclass
class StepStats:
    step: int
    substeps: int
    cfl: float
    pressure_iterations: int
    residual: float


def shape_params(spec: ShapeSpec, shape: tuple[int, ...]) -> dict:
    """A shape spec in fractions of the grid -> signed-distance parameters in cells."""
    dim = len(shape)
    extent = [float(n) for n in shape[::-1]]  # x, y[, z]
    return {
        "center": [c * e for c, e in zip(spec.center[:dim], extent)],
        "radius": spec.radius * extent[0],
        "half_size": [h * e for h, e in zip(spec.half_size[:dim], extent)],
        "half_height": spec.half_height * extent[1],
        "scale": list(spec.scale[:dim]),
    }


def build_source(spec: SourceSpec, shape: tuple[int, ...]) -> DensityInflow | VelocitySource:
    sdf = signed_distance(spec.shape, shape, **shape_params(spec, shape))
    if spec.kind == "velocity":
        return VelocitySource(sdf, tuple(spec.velocity[: len(shape)]), spec.start, spec.stop)
    noise = spec.noise
    return DensityInflow(
        sdf=sdf,
        scale=spec.density,
        noise=NoiseField(noise.seed or 0) if noise.enabled else None,
        pos_scale=noise.pos_scale,
        val_scale=noise.val_scale,
        val_offset=noise.val_offset,
        time_anim=noise.time_anim,
        clamp=tuple(noise.clamp),
        sigma=spec.sigma,
        start=spec.start,
        stop=spec.stop,
    )


def make_scene_flags(scene: SceneConfig) -> np.ndarray:
    flags = make_flags(scene.shape, scene.open_sides, scene.boundary_width)
    for obstacle in scene.obstacles:
        sdf = signed_distance(obstacle.shape, scene.shape, **shape_params(obstacle, scene.shape))
        flags[sdf <= 0] = OBSTACLE
    return flags


class Smoke:
    """A running simulation of one concrete scene (see :func:`solvers.scene.concrete_scene`)."""

    def __init__(self, scene: SceneConfig):
        self.scene = scene
        self.shape = scene.shape
        self.dim = scene.dim
        self.flags = make_scene_flags(scene)
        self.density = np.zeros(self.shape, dtype=np.float32)
        self.vel = zero_velocity(self.shape)
        sources = [build_source(s, self.shape) for s in scene.sources]
        self.density_sources = [s for s in sources if isinstance(s, DensityInflow)]
        self.velocity_sources = [s for s in sources if isinstance(s, VelocitySource)]
        p = scene.pressure
        self.projector = Projector(
            self.flags, method=p.method, tol=p.tol, tol_mode=p.tol_mode, max_iter=p.max_iter
        )
        # mantaflow: force per unit density = -gravity * dt / dx, dx = 1 / max(res)
        self.gravity_accel = -np.asarray(scene.gravity[: self.dim], np.float64) * max(scene.res)
        self.order = ORDERS.get(scene.advection)
        self._density_out = np.empty_like(self.density)
        self._vel_out = np.empty_like(self.vel)
        self.step_index = 0
        self.time = 0.0
        self.timings: dict[str, float] = {}

    @property
    def frame_index(self) -> int:
        return self.step_index // self.scene.substeps

    def cfl(self) -> float:
        """max |u| dt / dx over the faces (NaN if the velocity is not finite)."""
        return max(float(self.vel.max()), -float(self.vel.min())) * self.scene.dt

    def step(self) -> StepStats:
        """Advance one solver step of ``scene.dt``, split when the CFL number demands it."""
        scene = self.scene
        cfl = self.cfl()
        self._check_finite(cfl)
        n = 1
        if cfl > scene.cfl_max:
            if scene.on_cfl == "error":
                raise SimulationError(
                    f"step {self.step_index}: CFL {cfl:.2f} exceeds cfl_max {scene.cfl_max}"
                )
            n = math.ceil(cfl / scene.cfl_max)
        iterations, residual = 0, 0.0
        for _ in range(n):
            stats = self._substep(scene.dt / n)
            iterations += stats.iterations
            residual = max(residual, stats.residual)
        self.step_index += 1
        self.time += scene.dt
        return StepStats(self.step_index, n, cfl, iterations, residual)

    def _substep(self, dt: float):
        frame = self.frame_index
        with self.timed("sources"):
            for source in self.density_sources:
                if source.active(frame):
                    source.apply(self.density, self.flags, self.time)
        with self.timed("advect"):
            self.advect(dt)
            boundaries.reset_outflow(self.density, self.flags)
            boundaries.set_wall_bcs(self.vel, self.flags)
        with self.timed("forces"):
            self.add_forces(dt, frame)
            for source in self.velocity_sources:
                if source.active(frame):
                    source.apply(self.vel, self.flags)
        with self.timed("pressure"):
            stats = self.projector.project(self.vel)
            boundaries.set_wall_bcs(self.vel, self.flags)
        return stats

    @contextmanager
    def timed(self, phase: str):
        """Accumulate wall time per phase in ``self.timings`` (seconds)."""
        start = time.perf_counter()
        yield
        self.timings[phase] = self.timings.get(phase, 0.0) + time.perf_counter() - start

    def advect(self, dt: float) -> None:
        kw = {"order": self.order, "clamp": self.scene.clamp}
        advection.advect_scalar(self.density, self.vel, self.flags, dt, out=self._density_out, **kw)
        advection.advect_mac(self.vel, self.flags, dt, out=self._vel_out, **kw)
        self.density, self._density_out = self._density_out, self.density
        self.vel, self._vel_out = self._vel_out, self.vel

    def add_forces(self, dt: float, frame: int) -> None:
        accel = (self.gravity_accel * dt).astype(np.float32)
        if np.any(accel):
            forces.add_buoyancy(self.vel, self.density, self.flags, accel)
        in_warmup = frame < self.scene.warmup
        if self.scene.vorticity > 0 and (in_warmup or not self.scene.vorticity_warmup_only):
            forces.vorticity_confinement(self.vel, self.flags, self.scene.vorticity, dt)

    def _check_finite(self, cfl: float) -> None:
        # max/min and sum propagate NaN/Inf: two cheap reductions instead of isfinite masks
        if not (math.isfinite(cfl) and math.isfinite(float(self.density.sum()))):
            raise SimulationError(f"step {self.step_index}: the velocity or density became NaN/Inf")

    def advance_frame(self) -> list[StepStats]:
        return [self.step() for _ in range(self.scene.substeps)]

    def frame(self) -> tuple[np.ndarray, np.ndarray]:
        """(density (*shape), velocity (*shape, d)): cell-centred, in cells per frame."""
        per_frame = self.scene.dt * self.scene.substeps
        centred = advection.centred_velocity(self.vel)
        velocity = np.moveaxis(centred, 0, -1) * np.float32(per_frame)
        return self.density.copy(), np.ascontiguousarray(velocity, dtype=np.float32)
