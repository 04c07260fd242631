"""Stage ``upscale``: a trained generator on a low-res sequence -> a simulation file with /sr.

Two sources of low-res frames:

* a file (:func:`upscale`): a ``fluidgan simulate`` output, a plain HDF5 file with
  ``/low/density`` [``/low/velocity``] or an ``.npz`` with ``density`` [``velocity``]
  (see :mod:`fluidgan.inference.sources`);
* a coarse simulation (:func:`upscale_coarse`): the solver runs the scene at low
  resolution only, and the generator adds the detail -- the use case tempoGAN exists for.
  The result compares its cost per frame with simulating the same scene at high resolution.

The output has the simulation-file schema (docs/FORMATS.md): ``/low`` (copied), ``/sr``
(generated density; velocity per ``sr_velocity``), ``/high`` when the input has it, and
``/time``; it is written as ``OUT.partial`` and renamed when complete. The resolved config
is saved next to it as ``<OUT stem>.config.toml``.

Interrupted runs resume: after every batch the partial file records the frames done (see
:mod:`fluidgan.io.partial`), so after Ctrl-C, ``kill -9`` or a full disk the same command
goes on from there and writes the same file an uninterrupted run writes. A lock file
``OUT.lock`` keeps a second run off the same output; after the first batch, the bytes per
frame so far are the estimate with which a run stops before the free space runs out.
"""

from __future__ import annotations

import dataclasses
import json
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
import torch.nn.functional as F

from fluidgan import __version__
from fluidgan.config import load_toml, merge, parse_set, save_toml, to_dict
from fluidgan.errors import Interrupted, UserError
from fluidgan.inference.sources import LowSequence, open_low_sequence
from fluidgan.inference.upscaler import Upscaler, needs_velocity, plan_passes
from fluidgan.io.faults import check_free_space, faults_named
from fluidgan.io.lock import run_lock
from fluidgan.io.partial import ResumableWriter
from fluidgan.io.simfile import SimMeta
from pipelines.export import frame_selection
from pipelines.simulate import SimulateConfig, sim_seed, solver_settings

SR_VELOCITY: dict[str, Callable[[np.ndarray, int], np.ndarray]] = {}


def sr_velocity(name: str):
    def register(fn):
        SR_VELOCITY[name] = fn
        return fn

    return register


@sr_velocity("zero")
def zero_velocity(low: np.ndarray, factor: int) -> np.ndarray:
    """Zeros: the generator predicts density only (``fluidgan evaluate`` then skips it)."""
    shape = tuple(n * factor for n in low.shape[1:-1])
    return np.zeros((low.shape[0], *shape, low.shape[-1]), np.float32)


@sr_velocity("linear")
def linear_velocity(low: np.ndarray, factor: int) -> np.ndarray:
    """The low-res velocity (B, *s, d) bi/trilinearly upsampled and multiplied by the
    factor: (B, *f·s, d) in high-res cells per frame (for viewing, not a prediction)."""
    v = torch.from_numpy(np.ascontiguousarray(low)).movedim(-1, 1)
    mode = "bilinear" if v.ndim == 4 else "trilinear"
    up = F.interpolate(v, scale_factor=factor, mode=mode, align_corners=False) * factor
    return up.movedim(1, -1).contiguous().numpy()


@dataclass
class UpscaleConfig:
    """``fluidgan upscale``: how the generator runs; ``simulate`` (coarse mode only) is the
    scene as ``fluidgan simulate`` takes it -- ``scene.res`` the high-res grid -- of which
    only the coarse grid (res / factor) is simulated.

    ``memory_mb``: budget of one generator pass (tiles when a frame exceeds it); ``tile``:
    low-res tile edge incl. overlap (unset: whole frames when they fit, else the largest
    tile that fits); ``overlap``: low-res cells cropped at interior tile faces (unset: the
    generator's receptive halo, which makes tiles seamless); ``batch``: frames or tiles
    per pass (unset: as many as fit, at most 16 frames); ``compare_frames``: coarse mode,
    saved frames 1..K of the high-res simulation timed against the same coarse frames to
    measure the cost being saved (0: no comparison; early frames are the cheapest for the
    solver, so the speed-up shown is a lower bound for a developed flow).
    """

    device: str = "auto"
    amp: Literal["auto", "off", "bf16"] = "auto"  # bfloat16 on CUDA and on CPUs with BF16 units
    memory_mb: float = 4096.0
    tile: int | None = None
    overlap: int | None = None
    batch: int | None = None
    sr_velocity: Literal["zero", "linear"] = "zero"
    compare_frames: int = 3
    simulate: SimulateConfig | None = None

    def __post_init__(self):
        if self.memory_mb <= 0:
            raise ValueError(f"memory_mb must be > 0, got {self.memory_mb}")
        for key in ("tile", "batch"):
            value = getattr(self, key)
            if value is not None and value < 1:
                raise ValueError(f"{key} must be >= 1, got {value}")
        if self.overlap is not None and self.overlap < 0:
            raise ValueError(f"overlap must be >= 0, got {self.overlap}")
        if self.compare_frames < 0:
            raise ValueError(f"compare_frames must be >= 0, got {self.compare_frames}")


def resolve_config(
    config_file: str | os.PathLike | None = None,
    sets: tuple[str, ...] = (),
    *,
    scene: str | None = None,
    dim: int | None = None,
    coarse_res: list[int] | None = None,
    factor: int | None = None,
    frames: int | None = None,
    seed: int | None = None,
    **options: Any,
) -> UpscaleConfig:
    """Defaults <- ``config_file`` <- explicit options (None: not given) <- ``--set``.

    Coarse mode (``scene`` given, or a ``[simulate]`` table in the config): the scene
    preset and ``config_file``'s ``[simulate]`` table resolve as ``fluidgan simulate``
    resolves them; ``coarse_res`` is the simulated (coarse) grid, so the high-res grid is
    ``coarse_res · factor`` (``factor``: the checkpoint's).
    """
    from fluidgan.config import build

    base = load_toml(config_file) if config_file is not None else {}
    data = merge(base, {k: v for k, v in options.items() if v is not None})
    for item in sets:
        data = merge(data, parse_set(item))
    sim_table = data.pop("simulate", None)
    if scene is not None or sim_table is not None:
        res = None
        if coarse_res is not None:
            if factor is None:
                raise UserError("--res in coarse mode needs the checkpoint's factor")
            res = [n * factor for n in coarse_res]
        simulate = resolve_simulate_table(
            scene or (sim_table or {}).get("scene", {}).get("name"),
            sim_table or {},
            dim=dim,
            res=res,
            factor=factor,
            frames=frames,
            seed=seed,
        )
        data["simulate"] = to_dict(simulate)
    return build(UpscaleConfig, data)


def resolve_simulate_table(scene: str | None, table: dict, **options: Any) -> SimulateConfig:
    """The scene as ``fluidgan simulate`` resolves it: preset <- ``table`` (the
    ``[simulate]`` table with its ``--set simulate.…`` overrides) <- explicit options."""
    import tempfile

    from pipelines.simulate import resolve_config as resolve_simulate

    with tempfile.TemporaryDirectory() as tmp:
        layer = Path(tmp) / "simulate.toml"
        save_toml(table, layer)
        return resolve_simulate(scene=scene, config_file=layer, **options)


# --- the generator ----------------------------------------------------------------------


def load_upscaler(
    checkpoint: str | os.PathLike, config: UpscaleConfig, low_shape: tuple[int, ...]
) -> Upscaler:
    """The checkpoint's generator on ``config.device`` with a pass plan for ``low_shape``."""
    from fluidgan.amp import amp_dtype
    from fluidgan.device import resolve_device
    from fluidgan.train.checkpoint import load_generator

    device = resolve_device(config.device)
    generator, info = load_generator(checkpoint, device)
    if len(low_shape) != info["dim"]:
        raise UserError(
            f"{checkpoint}: the generator is {info['dim']}D, the input {len(low_shape)}D"
        )
    try:
        plan = plan_passes(
            low_shape, generator, config.memory_mb, config.tile, config.overlap, config.batch
        )
    except ValueError as e:
        raise UserError(f"--tile/--overlap/--memory-mb: {e}") from None
    return Upscaler(generator, info, device, plan, amp_dtype(config.amp, device))


def model_info(checkpoint: str | os.PathLike) -> dict[str, Any]:
    """The checkpoint's ``model`` record (dim, factor, channels, ...)."""
    from fluidgan.train.checkpoint import load_checkpoint

    return dict(load_checkpoint(checkpoint)["model"])


# --- writing ----------------------------------------------------------------------------


class UpscaleWriter(ResumableWriter):
    """A resumable writer that also records where ``/sr`` came from (attributes of ``/sr``)."""

    def describe_sr(self, **attrs: Any) -> None:
        self._file["sr"].attrs.update(
            {k: v if isinstance(v, (int, float, str)) else json.dumps(v) for k, v in attrs.items()}
        )


@dataclass
class Frames:
    """A batch of low-res frames: time (B,), density (B, *s), velocity (B, *s, d) or None,
    and the matching ground truth (B, *S[, d]) when there is one."""

    time: np.ndarray
    density: np.ndarray
    velocity: np.ndarray | None
    high: dict[str, np.ndarray] | None = None


def write_batches(
    batches: Iterator[Frames],
    upscaler: Upscaler,
    writer: UpscaleWriter,
    config: UpscaleConfig,
    on_frames: Callable[[int], None],
    source: str | os.PathLike,
) -> float:
    """Upscale and store every batch, recording it done in the partial file (the first
    one also measures the bytes per frame: stop if the rest cannot fit); return the
    seconds spent in the generator."""
    seconds = 0.0
    first = True
    velocity_of = SR_VELOCITY[config.sr_velocity]
    for b in batches:
        if not (
            np.isfinite(b.density).all() and (b.velocity is None or np.isfinite(b.velocity).all())
        ):
            raise UserError(
                f"{source}: a frame between times {b.time[0]:g} and {b.time[-1]:g} is not finite"
            )
        start = time.perf_counter()
        sr = upscaler(b.density, b.velocity)
        seconds += time.perf_counter() - start
        velocity = (
            b.velocity
            if b.velocity is not None
            else np.zeros((*b.density.shape, b.density.ndim - 1), np.float32)
        )
        sr_vel = velocity_of(velocity, upscaler.factor)
        for i, t in enumerate(b.time):
            fields = {
                "low/density": b.density[i],
                "low/velocity": velocity[i],
                "sr/density": sr[i],
                "sr/velocity": sr_vel[i],
            }
            if b.high is not None:
                fields.update({f"high/{k}": v[i] for k, v in b.high.items()})
            writer.write_frame(float(t), **fields)
        writer.checkpoint()
        if first:
            check_space(writer)
            first = False
        on_frames(len(b.time))
    return seconds


def check_space(writer: UpscaleWriter) -> None:
    """The frames left, at the bytes per frame of this run's frames so far, must fit."""
    left, written = writer.frames - writer.count, range(writer.resumed, writer.count)
    if left and written:
        needed = writer.frame_bytes(written) * left
        check_free_space(writer.tmp, needed, f"{left} more frames", progress_note(writer))


def progress_note(writer: UpscaleWriter) -> str:
    return f"{writer.recorded} of {writer.frames} frames done in {writer.tmp}"


def file_identity(path: str | os.PathLike) -> dict[str, Any]:
    """What tells a file's content apart cheaply: resolved path, size, modification time."""
    from fluidgan.train.checkpoint import latest_checkpoint

    path = Path(path)
    if path.is_dir():  # a run directory stands for its newest checkpoint
        path = latest_checkpoint(path) or path
    if not path.exists():  # e.g. pretrained:NAME, verified by its hash when loaded
        return {"name": str(path)}
    st = path.stat()
    return {"path": str(path.resolve()), "size": st.st_size, "mtime_ns": st.st_mtime_ns}


@contextmanager
def resumable_output(out: Path, writer_box: list) -> Iterator[None]:
    """Hold ``OUT.lock``; turn Ctrl-C into a one-line note of the frames kept for the
    next run, and a full disk into a fault that says the same."""

    def completed() -> str:
        return progress_note(writer_box[0]) if writer_box else ""

    with run_lock(out.with_name(out.name + ".lock"), "upscale"), faults_named(out, completed):
        try:
            yield
        except KeyboardInterrupt:
            raise Interrupted(
                f"interrupted: {completed() or 'nothing done'}; rerun the same command to resume"
            ) from None


def sequence_batches(
    seq: LowSequence, selected: range, batch: int, copy_high: bool
) -> Iterator[Frames]:
    """Frames of ``selected`` read ``batch`` at a time (h5py reads only what is asked for)."""
    indices = list(selected)
    for i in range(0, len(indices), batch):
        idx = indices[i : i + batch]
        # h5py fancy indexing needs increasing indices: the selection is a range with step 1
        sl = slice(idx[0], idx[-1] + 1)
        yield Frames(
            seq.time[sl],
            np.asarray(seq.density[sl], np.float32),
            None if seq.velocity is None else np.asarray(seq.velocity[sl], np.float32),
            {k: np.asarray(v[sl], np.float32) for k, v in seq.high.items()} if copy_high else None,
        )


def _progress(total: int, enabled: bool):
    from tqdm.auto import tqdm

    return tqdm(total=total, desc="upscale", unit="frame", disable=not enabled, leave=False)


def config_path(out: Path) -> Path:
    return out.with_name(out.stem + ".config.toml")


# --- stage: a file ------------------------------------------------------------------------


def upscale(
    checkpoint: str | os.PathLike,
    input: str | os.PathLike,
    out: str | os.PathLike,
    config: UpscaleConfig | None = None,
    frames: str | tuple[int | None, int | None] | None = None,
    *,
    progress: bool = False,
) -> dict[str, Any]:
    """Upscale the frames ``frames`` ("A:B", default all) of ``input`` into ``out``.

    Returns ``{"out", "input", "checkpoint", "frames", "dim", "factor", "low_shape",
    "sr_shape", "plan", "device", "seconds", "upscale_s_per_frame", "notes"}``.
    """
    config = config or UpscaleConfig()
    out = Path(out)
    start = time.perf_counter()
    with open_low_sequence(input) as seq:
        upscaler = load_upscaler(checkpoint, config, seq.low_shape)
        f = upscaler.factor
        check_channels_present(seq, upscaler)
        selected = frame_selection(frames, seq.frames)
        sr_shape = tuple(n * f for n in seq.low_shape)
        notes = []
        copy_high = seq.high is not None and tuple(seq.high["density"].shape[1:]) == sr_shape
        if seq.high is not None and not copy_high:
            notes.append(f"/high {seq.high['density'].shape[1:]} is not {f}x /low: not copied")
        if seq.velocity is None:
            notes.append("the input has no velocity: /low/velocity is zeros")
        meta = output_meta(seq, f)
        groups = ("low", "sr") + (("high",) if copy_high else ())
        key = {
            "input": file_identity(input),
            "checkpoint": file_identity(checkpoint),
            "config": to_dict(config),
            "frames": [selected.start, selected.stop],
            "fluidgan": __version__,
        }
        box: list[UpscaleWriter] = []
        with resumable_output(out, box):
            with UpscaleWriter(
                out, meta, len(selected), sr_shape, seq.low_shape, groups, key
            ) as writer:
                box.append(writer)
                bar = _progress(len(selected), progress)
                bar.update(writer.resumed)
                describe(writer, upscaler, checkpoint, input, config)
                batch = upscaler.plan.batch if upscaler.plan.mode == "whole" else 1
                seconds = write_batches(
                    sequence_batches(seq, selected[writer.resumed :], batch, copy_high),
                    upscaler,
                    writer,
                    config,
                    bar.update,
                    input,
                )
                upscaled = writer.count - writer.resumed
            bar.close()
            save_toml(to_dict(config), config_path(out))
    if writer.resumed:
        notes.append(f"resumed after {writer.resumed} frames done by an interrupted run")
    return {
        **summary(out, checkpoint, upscaler, len(selected), seq.low_shape, sr_shape, seconds),
        "upscale_s_per_frame": seconds / max(upscaled, 1),
        "input": str(input),
        "total_seconds": time.perf_counter() - start,
        "notes": notes,
    }


def check_channels_present(seq: LowSequence, upscaler: Upscaler) -> None:
    if seq.velocity is None and needs_velocity(upscaler.channels):
        key = "velocity" if seq.kind == "npz" else "/low/velocity"
        raise UserError(
            f"{seq.path}: missing '{key}'; the checkpoint's generator takes "
            f"{upscaler.channels} inputs (train with data.channels = 'rho' for density only)"
        )


def output_meta(seq: LowSequence, factor: int) -> SimMeta:
    if seq.meta is not None:
        return dataclasses.replace(seq.meta, factor=factor)
    dt = float(seq.time[1] - seq.time[0]) if seq.frames > 1 else 1.0
    return SimMeta(seq.dim, factor, dt, 0, {"source": str(seq.path)}, {})


def describe(writer: UpscaleWriter, upscaler: Upscaler, checkpoint, source, config) -> None:
    writer.describe_sr(
        checkpoint=str(checkpoint),
        source=str(source),
        channels=upscaler.channels,
        plan=upscaler.plan.describe(),
        sr_velocity=config.sr_velocity,
    )


def summary(out, checkpoint, upscaler, frames, low_shape, sr_shape, seconds) -> dict[str, Any]:
    return {
        "out": str(out),
        "checkpoint": str(checkpoint),
        "frames": frames,
        "dim": len(low_shape),
        "factor": upscaler.factor,
        "low_shape": list(low_shape),
        "sr_shape": list(sr_shape),
        "plan": upscaler.plan.describe(),
        "device": str(upscaler.device),
        "seconds": seconds,
        "upscale_s_per_frame": seconds / max(frames, 1),
    }


# --- stage: a coarse simulation -------------------------------------------------------------


def coarse_scene(scene, factor: int):
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


def frame_seconds(times: list[float]) -> float:
    """Mean seconds per frame, the first left out when there are more (JIT, cache loads)."""
    kept = times[1:] if len(times) > 1 else times
    return float(np.mean(kept)) if kept else 0.0


def simulate_frames(smoke, frames: int) -> Iterator[tuple[float, np.ndarray, np.ndarray, float]]:
    """(time, density, velocity, seconds of this frame) for ``frames`` frames."""
    for _ in range(frames):
        start = time.perf_counter()
        smoke.advance_frame()
        density, velocity = smoke.frame()
        yield smoke.time, density, velocity, time.perf_counter() - start


def high_res_cost(scene, frames: int) -> dict[str, Any]:
    """Seconds per frame of the same concrete scene at high resolution: its warm-up frames
    untimed, then saved frames 1..``frames`` timed (frame 0 holds one-off setup costs)."""
    from solvers.smoke import Smoke

    smoke = Smoke(scene)
    for _ in simulate_frames(smoke, scene.warmup):
        pass
    times = [t for *_, t in simulate_frames(smoke, frames + 1)][1:]
    return {"frames": frames, "s_per_frame": float(np.mean(times)), "seconds": times}


def upscale_coarse(
    checkpoint: str | os.PathLike,
    out: str | os.PathLike,
    config: UpscaleConfig,
    *,
    progress: bool = False,
) -> dict[str, Any]:
    """Simulate ``config.simulate``'s scene at coarse resolution, upscale every frame.

    Returns :func:`upscale`'s keys plus ``"cost"``: seconds per frame of the coarse
    simulation, of the upscaling, their sum, of the high-res simulation of the same scene
    (``compare_frames`` frames; absent when 0) and the speed-up.
    """
    from solvers.scene import concrete_scene
    from solvers.smoke import Smoke

    if config.simulate is None:
        raise UserError("coarse mode needs a scene: --simulate-scene NAME or a [simulate] table")
    out = Path(out)
    info = model_info(checkpoint)
    high = config.simulate.scene
    if high.factor != info["factor"]:
        raise UserError(
            f"simulate.scene.factor {high.factor} differs from the checkpoint's factor "
            f"{info['factor']} ({checkpoint})"
        )
    seed = sim_seed(config.simulate.seed, 0)  # as sim_00000 of `fluidgan simulate`
    concrete = concrete_scene(high, seed)
    coarse = coarse_scene(concrete, high.factor)
    upscaler = load_upscaler(checkpoint, config, coarse.shape)
    f = upscaler.factor
    sr_shape = concrete.shape
    smoke = Smoke(coarse)
    warmup = [t for *_, t in simulate_frames(smoke, coarse.warmup)]
    meta = SimMeta(
        coarse.dim,
        f,
        coarse.dt,
        seed,
        {**to_dict(coarse), "coarse_of": to_dict(concrete)},
        solver_settings(coarse),
    )
    sim_times: list[float] = []

    def batches(skip: int) -> Iterator[Frames]:
        n = upscaler.plan.batch if upscaler.plan.mode == "whole" else 1
        pending: list[tuple[float, np.ndarray, np.ndarray]] = []
        for i, (t, density, velocity, seconds) in enumerate(simulate_frames(smoke, coarse.frames)):
            sim_times.append(seconds)
            if i < skip:
                continue
            pending.append((t, density, velocity))
            if len(pending) == n:
                yield stack_frames(pending)
                pending = []
        if pending:
            yield stack_frames(pending)

    key = {
        "checkpoint": file_identity(checkpoint),
        "config": to_dict(config),
        "fluidgan": __version__,
    }
    box: list[UpscaleWriter] = []
    with resumable_output(out, box):
        with UpscaleWriter(
            out, meta, coarse.frames, sr_shape, coarse.shape, ("low", "sr"), key
        ) as writer:
            box.append(writer)
            skip = writer.resumed  # the solver re-runs those frames; the generator does not
            bar = _progress(coarse.frames, progress)
            bar.update(skip)
            describe(writer, upscaler, checkpoint, f"coarse simulation of {high.name}", config)
            seconds = write_batches(
                batches(skip), upscaler, writer, config, bar.update, "the coarse simulation"
            )
        bar.close()
        save_toml(to_dict(config), config_path(out))
    cost = {
        "coarse_sim_s_per_frame": frame_seconds(warmup + sim_times),
        "upscale_s_per_frame": seconds / max(coarse.frames - skip, 1),
        "warmup_frames": coarse.warmup,
        "coarse_grid": list(coarse.res),
        "high_grid": list(concrete.res),
    }
    cost["coarse_total_s_per_frame"] = cost["coarse_sim_s_per_frame"] + cost["upscale_s_per_frame"]
    if config.compare_frames > 0:
        # like for like: the coarse run's cost over the same saved frames 1..K (the solver's
        # cost grows as smoke fills the domain, the generator's does not)
        k = config.compare_frames
        same = frame_seconds(sim_times[: k + 1])
        reference = high_res_cost(concrete, k)
        cost["high_sim_s_per_frame"] = reference["s_per_frame"]
        cost["high_sim_frames_timed"] = k
        cost["coarse_sim_s_per_frame_same_frames"] = same
        cost["speedup"] = reference["s_per_frame"] / (same + cost["upscale_s_per_frame"])
    result = summary(out, checkpoint, upscaler, coarse.frames, coarse.shape, sr_shape, seconds)
    return {
        **result,
        "upscale_s_per_frame": cost["upscale_s_per_frame"],
        "input": f"coarse simulation of scene {high.name!r}",
        "cost": cost,
        "notes": [],
    }


def stack_frames(frames: list[tuple[float, np.ndarray, np.ndarray]]) -> Frames:
    times, density, velocity = zip(*frames, strict=True)
    return Frames(np.asarray(times), np.stack(density), np.stack(velocity))
