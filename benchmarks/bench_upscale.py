"""Cost of coarse simulation + tempoGAN upscaling against the high-res simulation it replaces.

    python benchmarks/bench_upscale.py [--cases 2d,3d] [--threads 2] [--json FILE]
                                       [--frames2d 100] [--frames3d 60] [--timed 10]
                                       [--high-res3d 128] [--tile-sample3d 12]

For each case the plume test scene (configs/scenes/plume{2,3}d.toml) is simulated at the
high-res grid (256^d) and at the coarse grid (64^d) with :func:`solvers.scene.coarse_scene`
(one solver step per frame of the same length), ``--frames`` frames each from t = 0; the
mean seconds of the last ``--timed`` frames are its cost per frame. (The first frames are
nearly free -- no smoke has risen, the pressure solve needs no iteration -- so the
window is placed where the plume is developed.)

3D high res: simulating 256³ to frame 60 (240 solver steps) takes too long for a
benchmark on 2 cores, so it is *estimated*: the same scene at ``--high-res3d`` (128³,
same dt and substeps) is timed and scaled by the cell count, (256/128)³ = 8 -- the
solver's cost per step is linear in cells (Numba stencils; multigrid-preconditioned CG
needs about the same iterations at any resolution). ``--high-res3d 256`` times it directly.

Upscaling uses each generator of ``--generators`` (``tempogan``: the paper's, as in
``paper{d}d``; ``fast``: as in ``fast{d}d``; rho+v+w inputs; random weights: the cost does
not depend on them) in each precision of ``--amp`` (``off``: float32; ``auto``: bfloat16
with channels-last on CPUs with BF16 units) with the pass plan ``fluidgan upscale`` picks
under its default 4096 MB budget:

* 2D: whole 64² frames in batches; timed over ``--timed`` frames after a warm-up pass;
* 3D: 64³ frames do not fit, so the plan is overlapping tiles. A full 256³ frame takes
  tens of minutes on 2 cores, so it is *estimated*: one tile of ``--tile-sample3d``
  low-res cells is timed (after a warm-up) and its seconds per high-res voxel are
  multiplied by the high-res voxels the plan processes (tiles x tile volume, overlap
  included). Pass ``--tile-sample3d 0`` to time one whole frame through the real plan.

Every figure is given twice: wall-clock seconds, and process CPU seconds / ``--threads``
-- on a machine shared with other jobs the latter estimates the wall time of an idle one.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fluidgan.amp import amp_dtype
from fluidgan.config import build, load_toml, preset_path
from fluidgan.data.channels import channel_count
from fluidgan.inference.tiling import plan_tiles
from fluidgan.inference.upscaler import Upscaler, frame_inputs, plan_passes
from fluidgan.models.generators import build_generator, generator_record
from fluidgan.train.config import TrainConfig
from pipelines.simulate import resolve_config
from solvers.scene import coarse_scene, concrete_scene
from solvers.smoke import Smoke

CHANNELS = "rho+v+w"
FACTOR = 4
COARSE = 64


def clocks() -> np.ndarray:
    """(wall, CPU) seconds now; CPU time is summed over the process's threads, so on a
    shared machine CPU / threads estimates the wall time of an idle one (a lower bound)."""
    return np.array([time.perf_counter(), time.process_time()])


def simulate(scene, frames: int, timed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean (wall, CPU) seconds of the last ``timed`` frames; the last density, velocity."""
    smoke = Smoke(scene)
    seconds = []
    for _ in range(frames):
        start = clocks()
        smoke.advance_frame()
        seconds.append(clocks() - start)
    density, velocity = smoke.frame()
    return np.mean(seconds[-timed:], axis=0), density, velocity


PRESETS = {"tempogan": "paper{dim}d", "fast": "fast{dim}d"}  # the architecture of each


def preset_generator(name: str, dim: int) -> torch.nn.Module:
    """The generator of the ``name`` preset (paper{d}d or fast{d}d) with random weights:
    the cost does not depend on them."""
    cfg = build(TrainConfig, load_toml(preset_path("train", PRESETS[name].format(dim=dim))))
    record = generator_record(
        name, cfg.model, dim, FACTOR, channel_count(CHANNELS, dim), CHANNELS, cfg.data.tile
    )
    torch.manual_seed(0)
    return build_generator(record).initialise(cfg.model.init_std, cfg.model.init_bias).eval()


def time_whole(upscaler: Upscaler, density, velocity, frames: int) -> float:
    d = np.repeat(density[None], frames, 0)
    v = np.repeat(velocity[None], frames, 0)
    upscaler(d[:1], v[:1])  # warm-up: oneDNN primitive creation
    start = clocks()
    upscaler(d, v)
    return (clocks() - start) / frames


@torch.no_grad()
def estimate_tiled(generator, plan, density, velocity, sample: int) -> dict:
    """Seconds per 64³ frame through ``plan``'s tiles, from one timed sample tile."""
    shape = density.shape
    tiles = plan_tiles(shape, plan.tile, plan.overlap, FACTOR)
    processed = sum(math.prod(s.stop - s.start for s in t.window) for t in tiles) * FACTOR**3
    x = frame_inputs(density[None], velocity[None], CHANNELS)
    crop = x[(slice(None), slice(None), *(slice(0, sample),) * 3)]
    generator(crop)  # warm-up
    start = clocks()
    generator(crop)
    seconds = clocks() - start
    per_voxel = seconds / (sample * FACTOR) ** 3
    return {
        "tiles": len(tiles),
        "processed_high_voxels": processed,
        "sample_tile": sample,
        "sample_seconds": seconds,
        "s_per_frame": per_voxel * processed,
        "estimated": True,
    }


def high_res_cost(high, frames: int, timed: int, res: int) -> dict:
    """Seconds per frame of the high-res scene, simulated at ``res`` and scaled by cells."""
    import dataclasses

    target = high.res[0]
    scene = high if res >= target else dataclasses.replace(high, res=[res] * high.dim)
    seconds, *_ = simulate(scene, frames, timed)
    scale = (target / scene.res[0]) ** high.dim
    return {"s_per_frame": seconds * scale, "simulated_res": scene.res[0], "estimated": scale != 1}


def upscale_cost(generator, amp: str, density, velocity, timed: int, sample3d: int) -> dict:
    """Seconds per frame of ``generator`` on the coarse frames, as ``fluidgan upscale`` runs
    it (its pass plan under the default 4096 MB budget, ``amp`` precision)."""
    cpu = torch.device("cpu")
    plan = plan_passes(density.shape, generator, 4096)
    dtype = amp_dtype(amp, cpu)
    upscaler = Upscaler(generator, {"factor": FACTOR, "channels": CHANNELS}, cpu, plan, dtype)
    if plan.mode == "whole":
        up = {"s_per_frame": time_whole(upscaler, density, velocity, timed), "estimated": False}
    elif sample3d > 0:
        up = estimate_tiled(upscaler.generator, plan, density, velocity, sample3d)
    else:
        start = clocks()
        upscaler(density[None], velocity[None])
        up = {"s_per_frame": clocks() - start, "estimated": False}
    return {**up, "plan": plan.describe()}


def run_case(
    dim: int, frames: int, timed: int, sample3d: int, high_res: int, variants: list[tuple]
) -> list[dict]:
    """One row per (generator, amp) variant; the simulations are shared by all rows."""
    config = resolve_config(scene="plume", dim=dim, res=[COARSE * FACTOR])
    high = concrete_scene(config.scene, 0)
    coarse = coarse_scene(high, FACTOR)
    coarse_s, density, velocity = simulate(coarse, frames, timed)
    high_cost = high_res_cost(high, frames, timed, high_res)
    high_s = high_cost["s_per_frame"]
    rows = []
    for name, amp in variants:
        generator = preset_generator(name, dim)
        up = upscale_cost(generator, amp, density, velocity, timed, sample3d)
        total = coarse_s + up["s_per_frame"]
        rows.append(
            {
                "case": f"{dim}D plume {COARSE}^{dim} -> {COARSE * FACTOR}^{dim}",
                "generator": name,
                "amp": amp,
                "frames_simulated": frames,
                "frames_timed": timed,
                "coarse_sim_s_per_frame": coarse_s,
                "upscale": up,
                "coarse_plus_upscale_s_per_frame": total,
                "high_sim_s_per_frame": high_s,
                "high_sim": high_cost,
                "high_substeps_per_frame": high.substeps,
                "speedup": high_s / total,
            }
        )
    return rows


def format_line(r: dict, column: int, divide: int, label: str) -> str:
    up, high = r["upscale"], r["high_sim"]
    coarse = r["coarse_sim_s_per_frame"][column] / divide
    upscale = up["s_per_frame"][column] / divide
    high_s = r["high_sim_s_per_frame"][column] / divide
    return (
        f"{r['case']} {r['generator']} amp={r['amp']} [{label}]: coarse sim {coarse:.3f} "
        f"s/frame + upscale {upscale:.3f} "
        f"s/frame{' (estimated)' if up['estimated'] else ''} = {coarse + upscale:.3f}; "
        f"high-res sim {high_s:.3f} s/frame{' (estimated)' if high['estimated'] else ''}; "
        f"speed-up {high_s / (coarse + upscale):.2f}x [{up['plan']}; load "
        f"{r['load_average_1min']:.1f}]"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", default="2d,3d")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--frames2d", type=int, default=100)
    parser.add_argument("--frames3d", type=int, default=60)
    parser.add_argument("--timed", type=int, default=10)
    parser.add_argument("--high-res3d", type=int, default=128)
    parser.add_argument("--tile-sample3d", type=int, default=12)
    parser.add_argument("--generators", default="tempogan,fast", help="tempogan, fast")
    parser.add_argument("--amp", default="off,auto", help="precisions to time: off, auto, bf16")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    variants = [(g, a) for g in args.generators.split(",") for a in args.amp.split(",")]
    import numba

    torch.set_num_threads(args.threads)
    numba.set_num_threads(args.threads)
    results = []
    for case in args.cases.split(","):
        dim = int(case[0])
        frames = args.frames2d if dim == 2 else args.frames3d
        high_res = args.high_res3d if dim == 3 else COARSE * FACTOR
        for r in run_case(dim, frames, args.timed, args.tile_sample3d, high_res, variants):
            r["load_average_1min"] = os.getloadavg()[0]
            results.append(r)
            for label, column in (("wall", 0), (f"CPU/{args.threads}", 1)):
                print(format_line(r, column, args.threads if column else 1, label), flush=True)
    if args.json:
        text = json.dumps({"threads": args.threads, "results": results}, indent=1, default=listed)
        args.json.write_text(text)


def listed(value):
    """numpy (wall, CPU) pairs as JSON lists."""
    return value.tolist()


if __name__ == "__main__":
    main()
