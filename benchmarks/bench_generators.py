"""Generator cost: FLOPs per output cell, seconds per frame and achieved GFLOP/s of the
paper's and the fast tempoGAN generator, in fp32 and bfloat16, next to the CPU's measured
matrix-multiply peak — all in one process, so the ratios hold on a noisy machine.

    python benchmarks/bench_generators.py [--threads 2] [--repeats 3] [--json FILE]
                                          [--cases paper2d,fast2d,paper3d,fast3d]

Each case runs one low-res input (``--low``, default 64² in 2D, 16³ in 3D for the paper's
generator whose 64³ frame needs ~35 GB, 64³ for the fast one) through the generator under
``torch.inference_mode`` in each mode:

* ``fp32``: float32, contiguous (NCHW / NCDHW);
* ``bf16``: ``torch.autocast("cpu", dtype=torch.bfloat16)`` (AMX / AVX-512 BF16 units);
* ``bf16+cl``: bf16 with channels-last memory format (NHWC / NDHWC) for the weights and
  the input.

Seconds per 256^d frame are the measured seconds per output cell × 256^d (convolutions cost
the same per cell, so the paper's 3D figure from a 16³ input scales exactly up to the
border effects). The peak is the best of ``torch.mm`` on 4096² matrices in each dtype.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fluidgan.amp import cpu_has_bf16
from fluidgan.models.fast import FastGenerator
from fluidgan.models.flops import generator_flops
from fluidgan.models.tempogan import Generator

CASES = {
    # name: (dim, in_channels, builder, low-res input edge); fast* as in the presets
    "paper2d": (2, 4, lambda d, c: Generator(d, c, 4), 64),
    "fast2d": (2, 4, lambda d, c: FastGenerator(d, c, 4, width=48, blocks=4), 64),
    "fast2d-transposed": (
        2, 4, lambda d, c: FastGenerator(d, c, 4, width=48, blocks=4, upsample="transposed"), 64
    ),
    "fast2d-resize": (
        2, 4, lambda d, c: FastGenerator(d, c, 4, width=48, blocks=4, upsample="resize"), 64
    ),
    "paper3d": (3, 7, lambda d, c: Generator(d, c, 4), 16),
    "fast3d": (3, 7, lambda d, c: FastGenerator(d, c, 4, width=32, blocks=4), 64),
    "fast3d-transposed": (
        3, 7, lambda d, c: FastGenerator(d, c, 4, width=32, blocks=4, upsample="transposed"), 64
    ),
    "fast3d-resize": (
        3, 7, lambda d, c: FastGenerator(d, c, 4, width=32, blocks=4, upsample="resize"), 64
    ),
}  # fmt: skip
MODES = ("fp32", "bf16", "bf16+cl")


def peak_gflops(dtype: torch.dtype, n: int = 4096, repeats: int = 3) -> float:
    a, b = torch.randn(n, n).to(dtype), torch.randn(n, n).to(dtype)
    torch.mm(a, b)
    best = math.inf
    for _ in range(repeats):
        t0 = time.perf_counter()
        torch.mm(a, b)
        best = min(best, time.perf_counter() - t0)
    return 2 * n**3 / best / 1e9


def time_forward(g: torch.nn.Module, x: torch.Tensor, mode: str, repeats: int) -> float:
    """Best-of-``repeats`` seconds of one forward pass (after one warm-up pass)."""
    if mode.endswith("+cl"):
        fmt = torch.channels_last if x.dim() == 4 else torch.channels_last_3d
        g, x = g.to(memory_format=fmt), x.to(memory_format=fmt)
    autocast = torch.autocast("cpu", dtype=torch.bfloat16, enabled=mode.startswith("bf16"))
    best = math.inf
    with torch.inference_mode(), autocast:
        g(x)
        for _ in range(repeats):
            t0 = time.perf_counter()
            g(x)
            best = min(best, time.perf_counter() - t0)
    return best


def run_case(name: str, repeats: int) -> dict:
    dim, c, build, edge = CASES[name]
    torch.manual_seed(0)
    g = build(dim, c).eval()
    low = (edge,) * dim
    flops = generator_flops(g, low)
    x = torch.rand(1, c, *low)
    cells = math.prod(4 * n for n in low)
    row = {"case": name, "flops_per_cell": flops, "low": list(low)}
    for mode in MODES:
        seconds = time_forward(g, x, mode, repeats)
        row[mode] = {
            "s_per_frame256": seconds / cells * 256**dim,
            "gflops": flops * cells / seconds / 1e9,
        }
        print(
            f"{name:8s} {mode:8s} {row[mode]['s_per_frame256']:10.3f} s/256^{dim} frame "
            f"{row[mode]['gflops']:7.1f} GFLOP/s",
            flush=True,
        )
    return row


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--cases", default="paper2d,fast2d,paper3d,fast3d", help=", ".join(CASES))
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    peaks = {"fp32": peak_gflops(torch.float32), "bf16": peak_gflops(torch.bfloat16)}
    print(
        f"CPU bf16 units: {cpu_has_bf16()}; matmul peak fp32 {peaks['fp32']:.0f} GFLOP/s, "
        f"bf16 {peaks['bf16']:.0f} GFLOP/s ({args.threads} threads)",
        flush=True,
    )
    rows = [run_case(name, args.repeats) for name in args.cases.split(",")]
    print("\n| generator | FLOP / output cell | mode | s per 256^d frame | GFLOP/s | % of peak |")
    print("|---|---:|---|---:|---:|---:|")
    for r in rows:
        for mode in MODES:
            m = r[mode]
            peak = peaks["fp32" if mode == "fp32" else "bf16"]
            print(
                f"| {r['case']} | {r['flops_per_cell']:,.0f} | {mode} | "
                f"{m['s_per_frame256']:.3g} | {m['gflops']:.0f} | "
                f"{100 * m['gflops'] / peak:.0f} % |"
            )
    if args.json:
        args.json.write_text(json.dumps({"peaks": peaks, "rows": rows}, indent=1))


if __name__ == "__main__":
    main()
