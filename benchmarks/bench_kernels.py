"""Micro-benchmark of the solver's advection, force and boundary kernels.

    python benchmarks/bench_kernels.py [--threads 2] [--repeat 20] [--sizes 256,128]

Prints the median milliseconds per call (preallocated ``out``/``work``, so no allocation
is timed) for a 2D grid of size² and a 3D grid of size³ with a smooth random velocity of
about 1 cell per step, walls on all sides but y+ open.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numba
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from solvers import advection, boundaries, forces
from solvers.grid import make_flags


def _median_ms(fn, repeat: int) -> float:
    fn()  # compile or load from cache, warm caches
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return 1e3 * float(np.median(times))


def _setup(shape: tuple[int, ...], seed: int = 0):
    rng = np.random.default_rng(seed)
    dim = len(shape)
    coords = np.meshgrid(*[np.linspace(0, 2 * np.pi, n) for n in shape], indexing="ij")
    vel = np.stack([np.sin(coords[(a + 1) % dim] + rng.uniform(0, 6)) for a in range(dim)]).astype(
        np.float32
    )
    density = rng.random(shape, dtype=np.float32)
    flags = make_flags(shape, open_sides=["y+"])
    return vel, density, flags


def bench(shape: tuple[int, ...], repeat: int) -> dict[str, float]:
    vel, rho, flags = _setup(shape)
    dim = len(shape)
    out_s, work_s = np.empty_like(rho), np.empty_like(rho)
    out_v, work_v = np.empty_like(vel), np.empty_like(vel)
    work_vc = forces.vorticity_workspace(shape)
    accel = np.zeros(dim)
    accel[1] = 1e-3
    cases = {
        "centred_velocity": lambda: advection.centred_velocity(vel, out=out_v),
        "advect_scalar o1": lambda: advection.advect_scalar(
            rho, vel, flags, 1.0, order=1, out=out_s
        ),
        "advect_scalar o2": lambda: advection.advect_scalar(
            rho, vel, flags, 1.0, order=2, out=out_s, work=work_s
        ),
        "advect_mac o1": lambda: advection.advect_mac(vel, flags, 1.0, order=1, out=out_v),
        "advect_mac o2": lambda: advection.advect_mac(
            vel, flags, 1.0, order=2, out=out_v, work=work_v
        ),
        "add_buoyancy": lambda: forces.add_buoyancy(out_v, rho, flags, accel),
        "vorticity_confinement": lambda: forces.vorticity_confinement(
            out_v, flags, 0.05, work=work_vc
        ),
        "set_wall_bcs": lambda: boundaries.set_wall_bcs(out_v, flags),
        "reset_outflow": lambda: boundaries.reset_outflow(out_s, flags),
    }
    return {name: _median_ms(fn, repeat) for name, fn in cases.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--sizes", default="256,128", help="2D size, 3D size")
    args = parser.parse_args()
    numba.set_num_threads(args.threads)
    n2, n3 = (int(s) for s in args.sizes.split(","))
    for shape in ((n2, n2), (n3, n3, n3)):
        label = "x".join(map(str, shape))
        for name, ms in bench(shape, args.repeat).items():
            print(f"{label:>12}  {name:<22} {ms:9.3f} ms", flush=True)
    print(f"numba {numba.__version__}, {args.threads} threads, {numba.threading_layer()} layer")


if __name__ == "__main__":
    main()
