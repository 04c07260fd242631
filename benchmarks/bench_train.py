"""Training throughput of the tempoGAN presets: iterations per second of the real loop.

    python benchmarks/bench_train.py [--cases paper2d,cpu_small2d,paper3d_small]
                                     [--iterations 5] [--device cpu] [--threads 2]
                                     [--data2d DIR] [--data3d DIR]

Each case runs ``pipelines.train.train`` (data loading, augmentation, all updates, logging
and the final checkpoint included) for ``--iterations`` iterations and reports the mean
seconds per iteration after the first (warm-up: oneDNN/cuDNN plan creation, file opens).
Without ``--data2d``/``--data3d`` a small synthetic dataset (smooth random density and a
rotating velocity; 2D 256² high / 64² low, 3D 128³ / 32³, 4 sims × 10 frames) is written
to a temporary directory. Cases:

* paper2d: configs/train/paper2d.toml (B = 16, 64² tiles, paper widths, 2/2/2 updates);
* cpu_small2d: configs/train/cpu_small2d.toml;
* paper3d_small: configs/train/paper3d.toml (the paper's 3D networks, ρ+v+ω, 2/2/2
  updates) with batch_size 3 (one triplet) and 16³ high-res tiles (data.tile = 4) instead
  of B = 16 and 64³: the paper's 3D iteration is ~330× that work (64× the cells, ~5× the
  samples: 16 tiles + 5 triplets against 3 + 1), far beyond a CPU benchmark.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fluidgan.config import load_toml, merge, preset_path
from fluidgan.io.simfile import SimMeta, SimWriter
from pipelines.train import train

CASES = {
    "paper2d": ("paper2d", {}, 2),
    "cpu_small2d": ("cpu_small2d", {}, 2),
    "paper3d_small": ("paper3d", {"batch_size": 3, "data": {"tile": 4, "workers": 1}}, 3),
}
QUIET = {"preview_every": 0, "checkpoint_every": 10**6, "tensorboard": False}


def synthetic_dataset(root: Path, dim: int, low: int, sims: int = 4, frames: int = 10) -> Path:
    """Smooth random density blobs drifting in a rotating velocity field."""
    factor = 4
    root.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(dim)
    for k in range(sims):
        shapes = {"low": (low,) * dim, "high": (low * factor,) * dim}
        meta = SimMeta(dim=dim, factor=factor, dt=1.0, seed=k)
        with SimWriter(root / f"sim_{k:05d}.h5", meta, frames, shapes["high"], shapes["low"]) as w:
            centres = rng.uniform(0.3, 0.7, (6, dim))
            for t in range(frames):
                fields = {}
                for group, shape in shapes.items():
                    axes = np.meshgrid(*[(np.arange(n) + 0.5) / n for n in shape], indexing="ij")
                    density = sum(
                        np.exp(
                            -sum((a - c - 0.01 * t) ** 2 for a, c in zip(axes, ctr, strict=True))
                            / 0.01
                        )
                        for ctr in centres
                    )
                    y, x = axes[-2] - 0.5, axes[-1] - 0.5
                    scale = 1.0 if group == "low" else float(factor)
                    comps = [-y * scale, x * scale] + ([0 * x] if dim == 3 else [])
                    fields[f"{group}/density"] = np.clip(density, 0, 1).astype(np.float32)
                    fields[f"{group}/velocity"] = np.stack(comps, -1).astype(np.float32)
                w.write_frame(float(t), **fields)
    return root


def run_case(
    name: str, data: Path, iterations: int, device: str, workdir: Path, threads: int = 0
) -> dict:
    """``threads`` > 0 overrides the preset's ``threads`` (cpu_small2d sets 1)."""
    preset, overrides, _ = CASES[name]
    config = merge(
        merge(load_toml(preset_path("train", preset)), overrides),
        {**QUIET, "iterations": iterations, **({"threads": threads} if threads else {})},
    )
    stamps: list[float] = []
    default_threads = torch.get_num_threads()  # a preset's `threads` must not leak on
    result = train(
        config,
        data,
        workdir / name,
        device=device,
        after_iteration=lambda done, metrics, trainer: stamps.append(time.perf_counter()),
    )
    used_threads = torch.get_num_threads()
    torch.set_num_threads(default_threads)
    steps = np.diff(stamps)
    per_iteration = float(steps.mean()) if len(steps) else float("nan")
    return {
        "case": name,
        "seconds_per_iteration": per_iteration,
        "iterations_per_second": 1.0 / per_iteration,
        "device": device,
        "batch_size": config["batch_size"],
        "threads": used_threads,
        "iterations": result["iterations"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", default="paper2d,cpu_small2d,paper3d_small")
    parser.add_argument("--iterations", type=int, default=5)
    parser.add_argument("--device", default="cpu")
    parser.add_argument(
        "--threads", type=int, default=0, help="torch threads (0: each preset's own or default)"
    )
    parser.add_argument("--data2d", type=Path)
    parser.add_argument("--data3d", type=Path)
    args = parser.parse_args()
    cases = [c.strip() for c in args.cases.split(",") if c.strip()]
    unknown = set(cases) - set(CASES)
    if unknown:
        parser.error(f"unknown cases {sorted(unknown)}; valid: {', '.join(CASES)}")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        data = {2: args.data2d, 3: args.data3d}
        print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, device {args.device}")
        for name in cases:
            dim = CASES[name][2]
            if data[dim] is None:
                data[dim] = synthetic_dataset(tmp / f"data{dim}d", dim, 64 if dim == 2 else 32)
            r = run_case(name, data[dim], args.iterations, args.device, tmp, args.threads)
            print(
                f"{r['case']:>14}: {r['iterations_per_second']:.3f} it/s "
                f"({r['seconds_per_iteration']:.2f} s/it, B={r['batch_size']}, "
                f"{r['threads']} threads, "
                f"{r['iterations']} iterations, first excluded)",
                flush=True,
            )


if __name__ == "__main__":
    main()
