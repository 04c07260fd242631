"""Trained tempoGAN generators side by side on the held-out protocol of docs/TRAINING.md.

    python benchmarks/compare_generators.py --runs runs/cmp_fast2d runs/cmp_cpu_small2d \\
        runs/cmp_paper2d --test data/test2d --out runs/compare2d [--timing-frames 20]

For each run directory: its newest checkpoint (iteration and training seconds from its
metrics), the held-out scores of ``benchmarks/heldout.py`` (every frame of every held-out
simulation upscaled and evaluated against the high-res simulation; mean over
simulations), and the upscaling cost — seconds per frame of ``--timing-frames`` frames of
the first held-out simulation, measured for every run in this one process (ratios hold on
a shared machine), as ``fluidgan upscale`` runs them (amp = "auto"). The interpolation
baselines are scored on the same simulations. Prints a markdown table and the targets the
fast preset is held to; writes ``OUT/comparison.json``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from heldout import METRICS, score_baselines, score_checkpoint, test_files

# The fast preset's targets (relative to the ground truth or to tricubic interpolation).
TARGETS = {
    "hf_energy_fraction": "0.8–1.2",
    "lsd": "≤ 0.5 × cubic",
    "psnr": "≥ cubic − 1 dB",
    "warping_error_ratio": "0.9–1.1",
    "frame_difference_error": "≤ 1.2 × cubic",
}


def run_summary(run: Path) -> dict:
    from fluidgan.train import checkpoint as ckpt
    from fluidgan.train.logging import read_metrics

    checkpoint = ckpt.latest_checkpoint(run)
    iteration = int(ckpt.load_checkpoint(checkpoint)["iteration"])
    # the log may run past the checkpoint (a run killed between checkpoints)
    rows = [r for r in read_metrics(run) if r["iteration"] <= iteration]
    return {
        "run": str(run),
        "checkpoint": str(checkpoint),
        "iteration": iteration,
        "logged_iterations": len(read_metrics(run)),
        "train_seconds": float(rows[-1]["time"]) if rows else 0.0,
        "config": (run / "config.toml").read_text(),
    }


def upscale_seconds(checkpoint: str, sim: Path, frames: int) -> float:
    """Seconds per frame of ``fluidgan upscale`` on the first ``frames`` frames (after a
    warm-up pass over one frame)."""
    from fluidgan.io.simfile import open_sim
    from pipelines.upscale import UpscaleConfig, load_upscaler

    with open_sim(sim) as f:
        density = f["low/density"][:frames]
        velocity = f["low/velocity"][:frames]
    upscaler = load_upscaler(checkpoint, UpscaleConfig(device="cpu"), density.shape[1:])
    upscaler(density[:1], velocity[:1])
    start = time.perf_counter()
    upscaler(density, velocity)
    return (time.perf_counter() - start) / frames


def table(rows: list[dict], baselines: dict) -> str:
    head = "| method | iterations | train min | " + " | ".join(h for _, h, _ in METRICS)
    head += " | upscale s/frame |\n|---|---:|---:|" + "---:|" * (len(METRICS) + 1) + "\n"
    lines = []
    for r in rows:
        values = " | ".join(f"{r['mean'].get(k, float('nan')):.3g}" for k, _, _ in METRICS)
        lines.append(
            f"| {Path(r['run']).name} | {r['iteration']} | {r['train_seconds'] / 60:.1f} | "
            f"{values} | {r['upscale_s_per_frame']:.3g} |"
        )
    for name, b in baselines["methods"].items():
        values = " | ".join(f"{b['mean'].get(k, float('nan')):.3g}" for k, _, _ in METRICS)
        lines.append(f"| {name} (interpolation) | – | – | {values} | – |")
    return head + "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", nargs="+", type=Path, required=True)
    ap.add_argument("--test", type=Path, default=Path("data/test2d"))
    ap.add_argument("--out", type=Path, default=Path("runs/compare2d"))
    ap.add_argument("--timing-frames", type=int, default=20)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    import torch

    torch.set_num_threads(args.threads)
    sims = test_files(args.test)
    rows = []
    for run in args.runs:
        r = run_summary(run)
        print(f"{run}: iteration {r['iteration']}, scoring ...", flush=True)
        score = score_checkpoint(r["checkpoint"], args.test, args.out / run.name, device="cpu")
        r["mean"], r["sims"] = score["mean"], score["sims"]
        rows.append(r)
    for r in rows:
        r["upscale_s_per_frame"] = upscale_seconds(r["checkpoint"], sims[0], args.timing_frames)
    baselines = score_baselines(args.test, args.out / "baselines")
    text = table(rows, baselines)
    print(text)
    print("\ntargets (fast preset): " + "; ".join(f"{k} {v}" for k, v in TARGETS.items()))
    args.out.mkdir(parents=True, exist_ok=True)
    payload = {"runs": rows, "baselines": baselines["methods"], "table": text}
    (args.out / "comparison.json").write_text(json.dumps(payload, indent=1, default=str))


if __name__ == "__main__":
    main()
