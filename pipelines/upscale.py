"""Stage ``upscale``: a trained generator on a low-res sequence -> a simulation file with /sr.

Two sources of low-res frames, one entry point (:func:`upscale`):

* a file: a ``fluidgan simulate`` output, a plain HDF5 file with ``/low/density``
  [``/low/velocity``] or an ``.npz`` with ``density`` [``velocity``] (see
  :mod:`fluidgan.inference.sources`);
* a coarse simulation (``config.simulate`` set, no input): the solver runs the scene at
  low resolution only, and the generator adds the detail -- the use case tempoGAN exists
  for. The result compares its cost per frame with simulating the same scene at high
  resolution.

The output has the simulation-file schema (docs/FORMATS.md): ``/low`` (copied), ``/sr``
(generated density; velocity per ``sr_velocity``), ``/high`` when the input has it, and
``/time``; it is written as ``OUT.partial`` and renamed when complete, and an interrupted
run resumes (see :mod:`fluidgan.inference.output`). The resolved config is saved next to
it as ``<OUT stem>.config.toml``.
"""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from fluidgan import __version__
from fluidgan.config import apply_sets, save_toml, to_dict
from fluidgan.config import resolve_config as resolve_config_of
from fluidgan.errors import UserError
from fluidgan.inference.coarse import coarse_cost, simulate_frames, timed_frames
from fluidgan.inference.frames import Frames, sequence_batches, stacked_batches
from fluidgan.inference.output import file_identity, resumable_output, write_batches
from fluidgan.inference.sources import LowSequence, open_low_sequence
from fluidgan.inference.upscaler import Upscaler, needs_velocity, plan_passes
from fluidgan.inference.velocity import SR_VELOCITY
from fluidgan.io.dataset import sim_seed
from fluidgan.io.partial import ResumableWriter
from fluidgan.io.selection import frame_selection
from fluidgan.io.simfile import SimMeta
from solvers.simulation import SimulateConfig, resolve_simulate_config


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
    solver, so the speed-up shown is a lower bound for a developed flow). ``weights``: "ema"
    runs the EMA of the generator's weights when the checkpoint has one (trained with
    ``ema_decay`` > 0), else the generator's own; "raw" always the generator's own.
    """

    device: str = "auto"
    amp: Literal["auto", "off", "bf16"] = "auto"  # bfloat16 on CUDA and on CPUs with BF16 units
    memory_mb: float = 4096.0
    tile: int | None = None
    overlap: int | None = None
    batch: int | None = None
    sr_velocity: str = "zero"  # a name in fluidgan.inference.velocity.SR_VELOCITY
    compare_frames: int = 3
    weights: Literal["ema", "raw"] = "ema"
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
        SR_VELOCITY.get(self.sr_velocity)  # an unknown name lists the valid ones


def resolve_config(
    config_file: str | os.PathLike | None = None,
    sets: Iterable[str] = (),
    *,
    checkpoint: str | os.PathLike | None = None,
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
    preset and the ``[simulate]`` table (with its ``--set simulate.…`` overrides) resolve
    as ``fluidgan simulate`` resolves them; ``coarse_res`` is the simulated (coarse) grid,
    so the high-res grid is ``coarse_res · factor`` (``factor``: the checkpoint's, read
    from ``checkpoint`` when not given).
    """

    def coarse(base: dict) -> dict:
        table = apply_sets(base, sets).get("simulate")  # --set simulate.… shapes the scene
        if scene is None and table is None:
            return options
        if coarse_res is not None and factor is None and checkpoint is None:
            raise UserError("--res in coarse mode needs the checkpoint's factor")
        f = factor if factor is not None or coarse_res is None else model_info(checkpoint)["factor"]
        simulate = resolve_simulate_config(
            scene=scene or (table or {}).get("scene", {}).get("name"),
            config_file=table or {},
            dim=dim,
            res=None if coarse_res is None else [n * f for n in coarse_res],
            factor=f,
            frames=frames,
            seed=seed,
        )
        return {**options, "simulate": to_dict(simulate)}

    return resolve_config_of(UpscaleConfig, file=config_file, options=coarse, sets=sets)


def load_upscaler(
    checkpoint: str | os.PathLike, config: UpscaleConfig, low_shape: tuple[int, ...]
) -> Upscaler:
    """The checkpoint's generator on ``config.device`` with a pass plan for ``low_shape``."""
    from fluidgan.amp import amp_dtype
    from fluidgan.device import resolve_device
    from fluidgan.train.checkpoint import generator_from_state, load_checkpoint

    device = resolve_device(config.device)
    generator, info, weights = generator_from_state(
        load_checkpoint(checkpoint), device, config.weights
    )
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
    return Upscaler(generator, info, device, plan, amp_dtype(config.amp, device), weights)


def model_info(checkpoint: str | os.PathLike) -> dict[str, Any]:
    """The checkpoint's ``model`` record (dim, factor, channels, ...)."""
    from fluidgan.train.checkpoint import load_checkpoint

    return dict(load_checkpoint(checkpoint)["model"])


def _progress(total: int, enabled: bool, done: int):
    from tqdm.auto import tqdm

    bar = tqdm(total=total, desc="upscale", unit="frame", disable=not enabled, leave=False)
    bar.update(done)
    return bar


def config_path(out: Path) -> Path:
    return out.with_name(out.stem + ".config.toml")


def batch_size(upscaler: Upscaler) -> int:
    """Frames per generator pass: the plan's batch for whole frames, one when tiled."""
    return upscaler.plan.batch if upscaler.plan.mode == "whole" else 1


def resume_key(config: UpscaleConfig, **inputs: Any) -> dict[str, Any]:
    """What the frames of a partial file depend on: the input files, the config, the
    version; a partial file of another key is redone."""
    return {**inputs, "config": to_dict(config), "fluidgan": __version__}


# --- the stage ----------------------------------------------------------------------------


def upscale(
    checkpoint: str | os.PathLike,
    input: str | os.PathLike | None,
    out: str | os.PathLike,
    config: UpscaleConfig | None = None,
    frames: str | tuple[int | None, int | None] | None = None,
    *,
    progress: bool = False,
) -> dict[str, Any]:
    """Upscale the frames ``frames`` ("A:B", default all) of ``input`` into ``out``, or
    with ``config.simulate`` and no ``input`` a coarse simulation of that scene.

    Returns ``{"out", "input", "checkpoint", "frames", "dim", "factor", "low_shape",
    "sr_shape", "plan", "device", "seconds", "upscale_s_per_frame", "notes"}`` (coarse
    mode: ``"cost"`` too, see :func:`upscale_coarse`).
    """
    config = config or UpscaleConfig()
    if input is not None and config.simulate is not None:
        raise UserError("--input and --simulate-scene exclude each other: pick one source")
    if config.simulate is not None:
        if frames is not None:
            raise UserError(
                "--frames A:B selects frames of --input; in coarse mode use --sim-frames"
            )
        return upscale_coarse(checkpoint, out, config, progress=progress)
    if input is None:
        raise UserError(
            "upscale needs an input (--input FILE) or a scene to simulate coarsely "
            "(--simulate-scene NAME)"
        )
    return upscale_file(checkpoint, input, out, config, frames, progress=progress)


def upscale_file(
    checkpoint: str | os.PathLike,
    input: str | os.PathLike,
    out: str | os.PathLike,
    config: UpscaleConfig,
    frames: str | tuple[int | None, int | None] | None = None,
    *,
    progress: bool = False,
) -> dict[str, Any]:
    """:func:`upscale` of a file: its frames ``frames``, ``/high`` copied when it matches."""
    out = Path(out)
    start = time.perf_counter()
    with open_low_sequence(input) as seq:
        upscaler = load_upscaler(checkpoint, config, seq.low_shape)
        check_channels_present(seq, upscaler)
        selected = frame_selection(frames, seq.frames)
        sr_shape = tuple(n * upscaler.factor for n in seq.low_shape)
        copy_high, notes = input_notes(seq, upscaler.factor)
        groups = ("low", "sr") + (("high",) if copy_high else ())
        key = resume_key(
            config,
            input=file_identity(input),
            checkpoint=file_identity(checkpoint),
            frames=[selected.start, selected.stop],
        )
        meta = output_meta(seq, upscaler.factor)
        writer_args = (meta, len(selected), sr_shape, seq.low_shape, groups, key)

        def batches(skip: int) -> Iterator[Frames]:
            return sequence_batches(seq, selected[skip:], batch_size(upscaler), copy_high)

        seconds, resumed = write_output(
            out, writer_args, batches, upscaler, config, (checkpoint, input), progress
        )
    if resumed:
        notes.append(f"resumed after {resumed} frames done by an interrupted run")
    return {
        **summary(out, checkpoint, upscaler, len(selected), seq.low_shape, sr_shape, seconds),
        "upscale_s_per_frame": seconds / max(len(selected) - resumed, 1),
        "input": str(input),
        "total_seconds": time.perf_counter() - start,
        "notes": notes,
    }


def write_output(out: Path, writer_args: tuple, batches, upscaler, config, sources, progress):
    """Write ``out`` resumably from ``batches(skip)`` (the frames after the ``skip``
    already done), then the resolved config beside it; return (seconds in the generator,
    frames resumed). ``sources``: (checkpoint, what the frames come from)."""
    box: list[ResumableWriter] = []
    with resumable_output(out, box):
        with ResumableWriter(out, *writer_args) as writer:
            box.append(writer)
            bar = _progress(writer.frames, progress, writer.resumed)
            describe(writer, upscaler, *sources, config)
            seconds = write_batches(
                batches(writer.resumed),
                upscaler,
                writer,
                config.sr_velocity,
                bar.update,
                sources[1],
            )
        bar.close()
        save_toml(to_dict(config), config_path(out))
    return seconds, writer.resumed


def input_notes(seq: LowSequence, factor: int) -> tuple[bool, list[str]]:
    """Whether the input's ``/high`` is copied (it must be the SR grid, ``factor`` times
    ``/low``), and notes on what the input lacks."""
    notes = []
    shape = None if seq.high is None else tuple(seq.high["density"].shape[1:])
    copy_high = shape == tuple(n * factor for n in seq.low_shape)
    if shape is not None and not copy_high:
        notes.append(f"/high {shape} is not {factor}x /low: not copied")
    if seq.velocity is None:
        notes.append("the input has no velocity: /low/velocity is zeros")
    return copy_high, notes


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


def describe(writer: ResumableWriter, upscaler: Upscaler, checkpoint, source, config) -> None:
    writer.describe_group(
        "sr",
        checkpoint=str(checkpoint),
        source=str(source),
        channels=upscaler.channels,
        plan=upscaler.plan.describe(),
        sr_velocity=config.sr_velocity,
        weights=upscaler.weights,
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
        "weights": upscaler.weights,
        "device": str(upscaler.device),
        "seconds": seconds,
        "upscale_s_per_frame": seconds / max(frames, 1),
    }


# --- coarse mode ----------------------------------------------------------------------------


def upscale_coarse(
    checkpoint: str | os.PathLike,
    out: str | os.PathLike,
    config: UpscaleConfig,
    *,
    progress: bool = False,
) -> dict[str, Any]:
    """:func:`upscale` of a coarse simulation: ``config.simulate``'s scene simulated at
    coarse resolution, every frame upscaled.

    Returns :func:`upscale`'s keys plus ``"cost"``: seconds per frame of the coarse
    simulation, of the upscaling, their sum, of the high-res simulation of the same scene
    (``compare_frames`` frames; absent when 0) and the speed-up.
    """
    from solvers.smoke import Smoke

    out = Path(out)
    seed, concrete, coarse = coarse_scenes(checkpoint, config)
    upscaler = load_upscaler(checkpoint, config, coarse.shape)
    smoke = Smoke(coarse)
    sim_times = [t for *_, t in simulate_frames(smoke, coarse.warmup)]
    key = resume_key(config, checkpoint=file_identity(checkpoint))
    meta = coarse_meta(coarse, concrete, upscaler.factor, seed)
    writer_args = (meta, coarse.frames, concrete.shape, coarse.shape, ("low", "sr"), key)

    def batches(skip: int) -> Iterator[Frames]:  # the solver re-runs the frames skipped
        return stacked_batches(
            timed_frames(smoke, coarse.frames, skip, sim_times), batch_size(upscaler)
        )

    source = f"coarse simulation of {concrete.name}"
    seconds, skip = write_output(
        out, writer_args, batches, upscaler, config, (checkpoint, source), progress
    )
    upscale_s = seconds / max(coarse.frames - skip, 1)
    cost = coarse_cost(sim_times, upscale_s, coarse, concrete, config.compare_frames)
    result = summary(
        out, checkpoint, upscaler, coarse.frames, coarse.shape, concrete.shape, seconds
    )
    return {
        **result,
        "upscale_s_per_frame": upscale_s,
        "input": f"coarse simulation of scene {concrete.name!r}",
        "cost": cost,
        "notes": [],
    }


def coarse_scenes(checkpoint: str | os.PathLike, config: UpscaleConfig):
    """(seed, high-res concrete scene, its coarse version) of ``config.simulate``: the
    scene drawn as sim_00000 of ``fluidgan simulate`` draws it, at the checkpoint's factor."""
    from solvers.scene import coarse_scene, concrete_scene

    if config.simulate is None:
        raise UserError("coarse mode needs a scene: --simulate-scene NAME or a [simulate] table")
    high = config.simulate.scene
    info = model_info(checkpoint)
    if high.factor != info["factor"]:
        raise UserError(
            f"simulate.scene.factor {high.factor} differs from the checkpoint's factor "
            f"{info['factor']} ({checkpoint})"
        )
    seed = sim_seed(config.simulate.seed, 0)
    concrete = concrete_scene(high, seed)
    return seed, concrete, coarse_scene(concrete, high.factor)


def coarse_meta(coarse, concrete, factor: int, seed: int) -> SimMeta:
    """The output's metadata: the coarse scene simulated, and the high-res one it stands for."""
    from solvers.scene import solver_settings

    scene = {**to_dict(coarse), "coarse_of": to_dict(concrete)}
    return SimMeta(coarse.dim, factor, coarse.dt, seed, scene, solver_settings(coarse))
