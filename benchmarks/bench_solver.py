"""Seconds per step of the smoke solver on the benchmark plume (configs/scenes/bench*).

Scene (mirrors mantaflow's plume, so the reference figures compare like with like): closed
box, boundary width 1, noise-modulated cylinder inflow at (0.5, 0.1, 0.5)·grid with radius
0.14·res, dt = 1, MacCormack for density and velocity, buoyancy (0, -4e-3, 0) in 2D and
(0, -6e-4, 0) in 3D, vorticity confinement 0.1, pressure to a max-norm residual of 1e-3.

    python benchmarks/bench_solver.py                  # all sizes, MG-PCG, 2 threads
    python benchmarks/bench_solver.py --sizes 2:256 --methods mgpcg,micpcg,cg
    python benchmarks/bench_solver.py --phiflow        # also PhiFlow on the same scene

The first ``--warmup`` steps let the plume develop (an empty box is cheap to project); the
next ``--steps`` are timed. Ratios are printed against mantaflow 0.13 (C++, OpenMP, 2
threads) as measured on this machine type, and against PhiFlow when it runs
in the same process (``pip install phiflow`` in the benchmark environment only).
"""

from __future__ import annotations

import argparse
import dataclasses
import time

import numba
import numpy as np

from fluidgan.config import build, load_toml, preset_path
from pipelines.simulate import SimulateConfig
from solvers.scene import concrete_scene
from solvers.smoke import Smoke

# mantaflow 0.13 on this scene, 2 threads, this machine type: seconds per step
MANTAFLOW = {
    (2, 128): {"mgpcg": 0.010, "cg": 0.014},
    (2, 256): {"mgpcg": 0.032, "cg": 0.105},
    (3, 64): {"mgpcg": 0.131, "micpcg": 0.095},
    (3, 128): {"mgpcg": 0.90, "micpcg": 1.41},
}
GOALS = {(2, 256): 0.010, (3, 128): 0.45}


def bench_scene(dim: int, res: int, method: str):
    config = build(SimulateConfig, load_toml(preset_path("scenes", f"bench{dim}d")))
    scene = dataclasses.replace(config.scene, res=[res] * dim)
    scene = dataclasses.replace(scene, pressure=dataclasses.replace(scene.pressure, method=method))
    return concrete_scene(scene, 0)


def time_fluidgan(dim: int, res: int, method: str, warmup: int, steps: int) -> dict:
    smoke = Smoke(bench_scene(dim, res, method))
    for _ in range(warmup):
        smoke.step()
    smoke.timings.clear()
    iterations = []
    start = time.perf_counter()
    for _ in range(steps):
        iterations.append(smoke.step().pressure_iterations)
    seconds = (time.perf_counter() - start) / steps
    phases = {k: v / steps for k, v in smoke.timings.items()}
    return {"seconds": seconds, "iterations": float(np.mean(iterations)), "phases": phases}


def time_phiflow(dim: int, res: int, warmup: int, steps: int) -> dict | None:
    """The same plume in PhiFlow (numpy backend): MacCormack, buoyancy, CG to 1e-3."""
    try:
        from phi import flow
    except ImportError:
        return None
    axes = "xyz"[:dim]
    bounds = flow.Box(**{a: res for a in axes})
    grid = {a: res for a in axes}
    velocity = flow.StaggeredGrid(0, flow.extrapolation.ZERO, bounds=bounds, **grid)
    smoke = flow.CenteredGrid(0, flow.extrapolation.BOUNDARY, bounds=bounds, **grid)
    centre = {a: 0.5 * res for a in axes}
    centre["y"] = 0.1 * res
    inflow = flow.Sphere(center=flow.vec(**centre), radius=0.14 * res)
    g = {2: 4e-3, 3: 6e-4}[dim] * res  # mantaflow convention: g·dt/dx
    pressure = None
    quiet = (flow.math.Diverged, flow.math.NotConverged)  # report the time, like its demo

    def step(v, s, p):
        s = flow.advect.mac_cormack(s, v, 1.0) + flow.resample(inflow, to=s, soft=True)
        buoyancy = flow.resample(s * flow.vec(**{a: (g if a == "y" else 0.0) for a in axes}), to=v)
        v = flow.advect.mac_cormack(v, v, 1.0) + buoyancy
        v, p = flow.fluid.make_incompressible(
            v, (), flow.Solve("CG", 0, 1e-3, x0=p, max_iterations=1000, suppress=quiet)
        )
        return v, s, p

    for _ in range(warmup):
        velocity, smoke, pressure = step(velocity, smoke, pressure)
    start = time.perf_counter()
    for _ in range(steps):
        velocity, smoke, pressure = step(velocity, smoke, pressure)
    return {"seconds": (time.perf_counter() - start) / steps}


def parse_sizes(text: str) -> list[tuple[int, int]]:
    return [tuple(int(v) for v in item.split(":")) for item in text.split(",")]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="2:128,2:256,2:512,3:64,3:128")
    parser.add_argument("--methods", default="mgpcg")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--warmup", type=int, default=30)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--phiflow", action="store_true")
    args = parser.parse_args()
    numba.set_num_threads(args.threads)
    print(
        f"threads {args.threads}, warm-up {args.warmup} steps, {args.steps} timed steps, "
        "pressure: max-norm residual <= 1e-3 (absolute, mantaflow's criterion)"
    )
    header = (
        f"{'grid':>10} {'method':>7} {'ms/step':>9} {'iters':>6} {'advect':>7} "
        f"{'forces':>7} {'press.':>7} {'vs manta':>9} {'goal':>6}"
    )
    print(header)
    for dim, res in parse_sizes(args.sizes):
        # 3D at 128³: fewer steps keep the run short; the timing is per step anyway
        warmup, steps = (
            (args.warmup, args.steps)
            if res**dim <= 256**2 * 4
            else (max(10, args.warmup // 2), max(5, args.steps // 4))
        )
        Smoke(bench_scene(dim, 32 if dim == 2 else 16, "mgpcg")).step()  # JIT warm-up
        for method in args.methods.split(","):
            r = time_fluidgan(dim, res, method, warmup, steps)
            ms = {k: 1e3 * v for k, v in r["phases"].items()}
            ref = MANTAFLOW.get((dim, res), {}).get(method) or MANTAFLOW.get((dim, res), {}).get(
                "mgpcg"
            )
            ratio = f"{ref / r['seconds']:8.2f}x" if ref else f"{'-':>9}"
            goal = GOALS.get((dim, res))
            verdict = ("ok" if r["seconds"] <= goal else "MISS") if goal else "-"
            print(
                f"{str(res) + '^' + str(dim):>10} {method:>7} {1e3 * r['seconds']:9.2f} "
                f"{r['iterations']:6.1f} {ms.get('advect', 0):7.2f} "
                f"{ms.get('forces', 0):7.2f} {ms.get('pressure', 0):7.2f} {ratio} "
                f"{verdict:>6}"
            )
            if args.phiflow and method == args.methods.split(",")[0]:
                try:
                    p = time_phiflow(dim, res, min(warmup, 5), max(2, steps // 4))
                except Exception as e:  # PhiFlow's own failure: report it, keep benchmarking
                    print(f"{'':>10} phiflow  failed: {type(e).__name__}: {str(e)[:90]}")
                    continue
                if p is None:
                    print(f"{'':>10} phiflow  not installed (pip install phiflow)")
                else:
                    print(
                        f"{'':>10} {'phiflow':>7} {1e3 * p['seconds']:9.1f}  "
                        f"fluidgan is {p['seconds'] / r['seconds']:.1f}x faster"
                    )


if __name__ == "__main__":
    main()
