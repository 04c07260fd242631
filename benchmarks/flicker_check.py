"""Does a flicker measure pass the ground truth and fail flicker? A check on held-out data.

    python benchmarks/flicker_check.py --test data/test2d \
        [--model pretrained:smoke2d_long --model runs/x/checkpoints/ckpt_N.pt] [--split 40]

A measure of temporal incoherence of the added detail is only useful if (1) the ground
truth's own detail passes it -- moved along the flow, the truth's detail changes less than
without the move -- and (2) it separates detail that flickers from detail that does not.
For every held-out simulation this prints, per part of the sequence (frames before and
after ``--split``):

* the ground truth's change without the warp (raw) and after it, for the whole-frame
  detail incoherence φ/RMS(h) of ``fluidgan evaluate`` (the band warped, semi-Lagrangian)
  and the incoherence in smoke ψ (the frame warped with MacCormack, then its band, over
  the truth's smoke cells);
* each sequence's value relative to the truth's (the reports' ratio): the truth with its
  detail band rolled by a random 1 or 2 cells every frame (``jitter1``/``jitter2``: each
  frame's texture is the truth's, only its motion is wrong), cubic interpolation, and
  every ``--model`` (upscaled here);
* ψ with the frame moved by none, half and all of the flow, for the truth, cubic and each
  model: where a sequence's detail is carried (lowest at the whole flow) or held by the
  low-res grid (lowest without a move, as interpolation's).
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from fluidgan.errors import exit_status  # noqa: E402
from fluidgan.evaluation.baselines import upsample  # noqa: E402
from fluidgan.evaluation.spectra import nyquist  # noqa: E402
from fluidgan.evaluation.temporal import (  # noqa: E402
    detail_band,
    detail_incoherence,
    smoke_detail_incoherence,
)

Measure = Callable[[np.ndarray, np.ndarray, float, np.ndarray], float]

# name -> ψ-like value of (sequence, truth, cutoff, velocity); velocity zero = raw
MEASURES: dict[str, Measure] = {
    "whole frame φ/RMS(h)": lambda seq, ref, cutoff, v: detail_incoherence(seq, cutoff, v),
    "in smoke ψ": smoke_detail_incoherence,
}


SPEEDS = (0.0, 0.5, 1.0)  # fractions of the flow in the speed table


def jittered(seq: np.ndarray, cutoff: float, reach: int, seed: int = 0) -> np.ndarray:
    """``seq`` with each frame's detail band rolled by its own random 1 … ``reach`` cells
    along every axis (random signs): the truth's texture, moving the wrong way."""
    rng = np.random.default_rng(seed)
    spatial = tuple(range(1, seq.ndim))
    band = detail_band(seq, cutoff, len(spatial))
    out = seq - band
    for t in range(len(seq)):
        shift = rng.integers(1, reach + 1, len(spatial)) * rng.choice([-1, 1], len(spatial))
        out[t] += np.roll(band[t], tuple(shift), tuple(a - 1 for a in spatial))
    return out


def model_sequence(checkpoint: str, low: np.ndarray, velocity: np.ndarray) -> np.ndarray:
    from pipelines.upscale import UpscaleConfig, load_upscaler

    upscaler = load_upscaler(checkpoint, UpscaleConfig(device="cpu"), low.shape[1:])
    return np.asarray(upscaler(low, velocity), dtype=np.float64)


def check_sim(path: Path, models: list[str], split: int) -> list[str]:
    from fluidgan.io.simfile import open_sim

    with open_sim(path) as f:
        truth = f["high/density"][...].astype(np.float64)
        velocity = f["high/velocity"][...]
        low, low_velocity = f["low/density"][...], f["low/velocity"][...]
    factor = truth.shape[1] // low.shape[1]
    cutoff = nyquist(low.shape[1:])
    seqs = {
        "jitter1": jittered(truth, cutoff, 1),
        "jitter2": jittered(truth, cutoff, 2),
        "cubic": upsample(low, factor, "cubic", axes=range(1, low.ndim)).astype(np.float64),
    }
    seqs |= {m: model_sequence(m, low, low_velocity) for m in models}
    parts = [slice(0, split), slice(split - 1, None)]  # frame pairs (t−1, t) in each part
    head = " | ".join(f"frames {p.start + 1}–{(p.stop or len(truth)) - 1}" for p in parts)
    lines = [f"### {path.name}", "", f"| measure | sequence | {head} |", "|---|---|---:|---:|"]
    still = np.zeros_like(velocity)
    for name, measure in MEASURES.items():

        def values(seq, v, measure=measure):
            return [measure(seq[p], truth[p], cutoff, v[p]) for p in parts]

        own, raw = values(truth, velocity), values(truth, still)
        lines.append(
            f"| {name} | truth: raw → warped | "
            + " | ".join(f"{r:.2f} → {o:.2f}" for r, o in zip(raw, own, strict=True))
            + " |"
        )
        for label, seq in seqs.items():
            ratios = [
                v / o if o else math.inf for v, o in zip(values(seq, velocity), own, strict=True)
            ]
            lines.append(
                f"| {name} | {label} / truth | " + " | ".join(f"{r:.2f}" for r in ratios) + " |"
            )
    lines += ["", *speed_table(truth, seqs, velocity, cutoff, parts, head)]
    return [*lines, ""]


def speed_table(truth, seqs, velocity, cutoff, parts, head) -> list[str]:
    """ψ with frame t−1 moved by 0, ½ and the whole of the flow: detail that moves with
    the flow is lowest at 1; detail held by the low-res grid (interpolation) at 0."""
    lines = [
        f"| ψ moved by 0 · ½ · 1 × v | {head} |",
        "|---|" + "---:|" * len(parts),
    ]
    for label, seq in {"truth": truth, **seqs}.items():
        if label.startswith("jitter"):
            continue
        cells = [
            " · ".join(
                f"{smoke_detail_incoherence(seq[p], truth[p], cutoff, s * velocity[p]):.2f}"
                for s in SPEEDS
            )
            for p in parts
        ]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return lines


def main(argv: list[str] | None = None) -> int:
    from fluidgan.data import list_sims

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--test", required=True, help="held-out dataset directory")
    ap.add_argument("--model", action="append", default=[], help="checkpoint (repeatable)")
    ap.add_argument("--split", type=int, default=40, help="first frame of the second part")
    args = ap.parse_args(argv)

    def check_all() -> None:
        for sim in list_sims(args.test):
            print("\n".join(check_sim(sim, args.model, args.split)), flush=True)

    return exit_status(check_all)


if __name__ == "__main__":
    sys.exit(main())
