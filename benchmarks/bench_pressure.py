"""Pressure-solve benchmark: ms per solve and iterations for cg / micpcg / mgpcg.

Right-hand side: the divergence of a plume-like velocity in a closed box (a smooth random
field plus a rising Gaussian column, about 1 cell per step, zero normal velocity on the
walls), tolerance 1e-3 absolute max-norm (mantaflow's accuracy), cold start (p = 0), warm
JIT, 2 Numba threads. Times are the minimum and median over repeats of ``project`` alone.

    python benchmarks/bench_pressure.py                 # all sizes
    python benchmarks/bench_pressure.py --sizes 256 64x64x64 --methods mgpcg
    python benchmarks/bench_pressure.py --compile-time  # JIT time: empty cache, then cached
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

DEFAULT_SIZES = ["128", "256", "512", "64x64x64", "128x128x128"]
METHOD_NAMES = ["cg", "micpcg", "mgpcg"]


def parse_shape(text: str) -> tuple[int, ...]:
    parts = tuple(int(v) for v in text.split("x"))
    return parts * 2 if len(parts) == 1 else parts


def plume_velocity(shape: tuple[int, ...], seed: int = 0) -> np.ndarray:
    """(d, *shape) float32: smooth random field + a rising column, walls zeroed."""
    from scipy import ndimage

    from solvers.grid import OBSTACLE, cell_centres, make_flags

    rng = np.random.default_rng(seed)
    dim = len(shape)
    sigma = max(shape) / 16
    vel = np.stack([ndimage.gaussian_filter(rng.standard_normal(shape), sigma) for _ in range(dim)])
    vel *= 0.5 / np.abs(vel).max()
    centres = cell_centres(shape)
    r2 = sum(((c - n / 2) / (0.15 * n)) ** 2 for a, (c, n) in enumerate(zip(centres, shape[::-1]))
             if a != 1)  # fmt: skip
    vel[1] += np.exp(-r2) * np.ones(shape)  # u_y: rising column
    flags = make_flags(shape)
    for a in range(dim):
        axis = dim - 1 - a
        solid = (flags == OBSTACLE) | (np.roll(flags, 1, axis=axis) == OBSTACLE)
        vel[a][solid] = 0.0
    return np.ascontiguousarray(vel, dtype=np.float32)


def bench_case(shape, method, repeats, tol=1e-3):
    from solvers.grid import make_flags
    from solvers.pressure import Projector

    flags = make_flags(shape)
    vel0 = plume_velocity(shape)
    t0 = time.perf_counter()
    proj = Projector(flags, method=method, tol=tol, max_iter=100_000, warm_start=False)
    setup = time.perf_counter() - t0
    stats = proj.project(vel0.copy())  # warm-up (JIT, caches)
    times = []
    for _ in range(repeats):
        vel = vel0.copy()
        t0 = time.perf_counter()
        stats = proj.project(vel)
        times.append(time.perf_counter() - t0)
    return min(times), float(np.median(times)), stats, setup


def run_benchmark(sizes, methods, threads):
    import numba

    numba.set_num_threads(threads)
    print(f"pressure solve, closed box, plume RHS, tol 1e-3 abs, {threads} threads")
    print(f"{'grid':>12} {'method':>7} {'min ms':>9} {'med ms':>9} {'iters':>6} "
          f"{'ms/iter':>8} {'x cg':>7} {'setup s':>8}")  # fmt: skip
    for text in sizes:
        shape = parse_shape(text)
        n = int(np.prod(shape))
        cg_time = None
        for method in methods:
            iters_hint = {"cg": 3 * max(shape), "micpcg": max(shape) // 2, "mgpcg": 8}[method]
            work = n * iters_hint
            repeats = int(np.clip(2e8 / work, 3, 50))
            best, med, stats, setup = bench_case(shape, method, repeats)
            if method == "cg":
                cg_time = best
            speed = f"{cg_time / best:7.1f}" if cg_time else f"{'-':>7}"
            per_iter = best / max(stats.iterations, 1) * 1e3
            row = f"{text:>12} {method:>7} {best * 1e3:9.2f} {med * 1e3:9.2f} "
            print(row + f"{stats.iterations:6d} {per_iter:8.3f} {speed} {setup:8.2f}", flush=True)


def compile_time() -> None:
    """First-call time of the module with an empty Numba cache, then with the cache filled."""
    code = (
        "import time; t0 = time.perf_counter();"
        "import numpy as np; import numba; numba.set_num_threads(2);"
        "from solvers.grid import make_flags; from solvers.pressure import Projector;"
        "from benchmarks.bench_pressure import plume_velocity;"
        "[Projector(make_flags(s), method=m).project(plume_velocity(s))"
        " for s in ((32, 32), (16, 16, 16)) for m in ('cg', 'micpcg', 'mgpcg')];"
        "print(f'{time.perf_counter() - t0:.1f}')"
    )
    root = Path(__file__).resolve().parents[1]
    with tempfile.TemporaryDirectory() as cache:
        env = dict(os.environ, NUMBA_CACHE_DIR=cache, PYTHONPATH=str(root))
        for label in ("empty cache", "cached"):
            out = subprocess.run([sys.executable, "-c", code], env=env, cwd=root, check=True,
                                 capture_output=True, text=True).stdout.strip()  # fmt: skip
            print(f"import + first projection, 3 methods, 2D and 3D, {label}: {out} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="+", default=DEFAULT_SIZES)
    parser.add_argument("--methods", nargs="+", default=METHOD_NAMES, choices=METHOD_NAMES)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--compile-time", action="store_true")
    args = parser.parse_args()
    if args.compile_time:
        compile_time()
    else:
        run_benchmark(args.sizes, args.methods, args.threads)


if __name__ == "__main__":
    main()
