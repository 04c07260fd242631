"""Stage ``simulate``: run randomised scenes, write paired low/high-res simulation files.

A dataset is a directory: ``config.toml`` (resolved), ``manifest.json`` and one
``sim_NNNNN.h5`` per simulation. Simulation ``i`` draws everything from
``sim_seed(seed, i)``, so a file depends on nothing but the config and its index: the same
seed gives bit-identical files whatever ``workers`` or ``shard``. Files appear under their
final name only when complete; a rerun skips them (resume), sharded jobs on several
machines fill one directory, and the manifest is rebuilt from the files present.

Concurrent writers: each shard holds a lock file ``simulate.shard-K-of-N.lock`` (owner's
host and pid) while it runs, so the same shard started twice, or shards of another
``N`` on the same directory, refuse; the manifest is rebuilt under an ``fcntl`` lock, so
the last shard to write it has seen every file. A full disk stops the run with the count
of complete simulations. Before that, a run refuses to go on when the free space cannot
hold what is left, estimated from the first frame written (compressed) and, once one is
complete, from the simulation files' sizes.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import shutil
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from fluidgan.config import save_toml, to_dict
from fluidgan.errors import Fault, UserError
from fluidgan.io import dataset
from fluidgan.io.dataset import CONFIG, MANIFEST, MANIFEST_LOCK, sim_name, sim_seed, sim_status
from fluidgan.io.faults import check_free_space, faults_named
from fluidgan.io.lock import describe_owner, exclusive, is_alive, read_owner, run_lock
from fluidgan.io.simfile import SimMeta, SimWriter
from solvers.lowres import derive_low
from solvers.scene import SceneConfig, concrete_scene, solver_settings
from solvers.simulation import SimulateConfig
from solvers.simulation import resolve_simulate_config as resolve_config  # noqa: F401 (the stage's)
from solvers.smoke import Smoke


def shard_indices(sims: int, shard: tuple[int, int]) -> list[int]:
    """Simulations of shard ``k`` of ``n`` (0-based): every n-th index from k."""
    k, n = shard
    if not 0 <= k < n:
        raise UserError(f"--shard {k}/{n}: K must be in 0..{n - 1}")
    return list(range(k, sims, n))


def run_simulation(
    scene: SceneConfig, seed: int, path: Path, on_frame: Callable[[SimWriter], None] | None = None
) -> Path:
    """Simulate one concrete scene and write it atomically to ``path``; ``on_frame(writer)``
    after every frame."""
    scene = concrete_scene(scene, seed)
    smoke = Smoke(scene)
    for _ in range(scene.warmup):
        smoke.advance_frame()
    meta = SimMeta(
        dim=scene.dim,
        factor=scene.factor,
        dt=scene.dt * scene.substeps,
        seed=seed,
        scene=to_dict(scene),
        solver=solver_settings(scene),
    )
    with SimWriter(path, meta, scene.frames, scene.shape, scene.low_shape) as writer:
        for _ in range(scene.frames):
            smoke.advance_frame()
            density, velocity = smoke.frame()
            low_density, low_velocity = derive_low(density, velocity, scene.factor)
            writer.write_frame(
                smoke.time,
                **{
                    "high/density": density,
                    "high/velocity": velocity,
                    "low/density": low_density,
                    "low/velocity": low_velocity,
                },
            )
            if on_frame:
                on_frame(writer)
    return path


def _worker(args: tuple) -> tuple[int, float]:
    scene, seed, path, index, threads = args
    import numba

    numba.set_num_threads(threads)
    start = time.perf_counter()
    run_simulation(scene, seed, path)
    return index, time.perf_counter() - start


def prepare_output(out: Path, config: SimulateConfig, overwrite: bool) -> None:
    """Create ``out``, or accept it for a resume when it holds the same config."""
    resolved = to_dict(config)
    saved = out / MANIFEST
    if saved.exists():
        previous = json.loads(saved.read_text()).get("config")
        if overwrite:
            for f in out.glob("sim_*.h5*"):
                f.unlink()
            shutil.rmtree(out / "previews", ignore_errors=True)
        elif previous != resolved:
            raise UserError(
                f"{out}: holds a dataset with another config; pass --overwrite to replace it"
            )
    elif out.exists() and any(not is_lock(p) for p in out.iterdir()) and not overwrite:
        raise UserError(f"{out}: exists and is not a fluidgan dataset; pass --overwrite")
    out.mkdir(parents=True, exist_ok=True)
    save_toml(resolved, out / CONFIG)
    write_manifest(out, config)


def is_lock(path: Path) -> bool:
    return path.name == MANIFEST_LOCK or path.suffix == ".lock"


def shard_lock(out: Path, shard: tuple[int, int]) -> Path:
    return out / f"simulate.shard-{shard[0]}-of-{shard[1]}.lock"


def check_other_shards(out: Path, shard: tuple[int, int]) -> None:
    """Shards of another N overlap this one: refuse while one of them runs."""
    for lock in out.glob("simulate.shard-*-of-*.lock"):
        if lock == shard_lock(out, shard):
            continue
        n = int(lock.stem.rsplit("-", 1)[1])
        owner = read_owner(lock)
        if n != shard[1] and owner is not None and is_alive(owner) is not False:
            raise Fault(
                f"{out}: simulate --shard {lock.stem.split('-')[1]}/{n} is writing here "
                f"({describe_owner(owner)}); shards of one dataset must share N "
                f"(this run: --shard {shard[0]}/{shard[1]})"
            )


def write_manifest(out: Path, config: SimulateConfig) -> dict:
    """Rebuild ``manifest.json`` from the files present. Concurrent shards take turns
    (``fcntl`` lock): each lists the files after the previous one wrote, so the last
    write has seen every complete simulation."""
    with exclusive(out / MANIFEST_LOCK):
        return _write_manifest(out, config)


def _write_manifest(out: Path, config: SimulateConfig) -> dict:
    sims = [
        {
            "index": i,
            "file": sim_name(i),
            "seed": sim_seed(config.seed, i),
            "status": sim_status(out, i),
            "frames": config.scene.frames,
        }
        for i in range(config.sims)
    ]
    scene = config.scene
    return dataset.write_manifest(out, scene.dim, scene.factor, sims, to_dict(config))


def simulate(
    config: SimulateConfig,
    out: str | os.PathLike,
    *,
    workers: int = 1,
    shard: tuple[int, int] = (0, 1),
    overwrite: bool = False,
    preview: bool = False,
    progress: bool = True,
) -> dict:
    """Run the simulations of this shard that are not complete yet; return the manifest."""
    out = Path(out)
    if workers < 1:
        raise UserError(f"--workers must be >= 1, got {workers}")
    mine = shard_indices(config.sims, shard)
    what = "simulate" if shard == (0, 1) else f"simulate --shard {shard[0]}/{shard[1]}"
    with faults_named(out), run_lock(shard_lock(out, shard), what):
        check_other_shards(out, shard)
        prepare_output(out, config, overwrite)
        todo = [i for i in mine if not (out / sim_name(i)).exists()]
        for i in todo:  # left by a run killed mid-simulation: only this shard writes them
            (out / (sim_name(i) + ".tmp")).unlink(missing_ok=True)

        def completed() -> str:
            done = sum((out / sim_name(i)).exists() for i in mine)
            of = f"{done} of {len(mine)} simulations" + ("" if shard == (0, 1) else " of the shard")
            return f"{of} complete in {out}"

        try:
            with faults_named(out, completed):
                _simulate(config, out, todo, workers, preview, progress, completed)
        finally:
            for i in todo:  # a worker stopped mid-simulation: free its space
                (out / (sim_name(i) + ".tmp")).unlink(missing_ok=True)
        return write_manifest(out, config)


def _simulate(config, out, todo, workers, preview, progress, completed) -> None:
    scene = config.scene
    check_space(out, todo, completed)
    bar = _progress(len(todo) * scene.frames, progress, "simulate")
    if workers == 1 or len(todo) <= 1:
        for n, i in enumerate(todo):
            check_space(out, todo[n:], completed)

            def on_frame(writer: SimWriter, left: int = len(todo) - n) -> None:
                bar.update(1)
                if writer.count == 1 and not any(out.glob("sim_*.h5")):
                    check_first_frame(out, writer, left, completed)

            run_simulation(scene, sim_seed(config.seed, i), out / sim_name(i), on_frame)
            _after_sim(out, config, i, preview)
    else:
        threads = max(1, (os.cpu_count() or 1) // workers)
        jobs = [(scene, sim_seed(config.seed, i), out / sim_name(i), i, threads) for i in todo]
        ctx = multiprocessing.get_context("spawn")
        with ctx.Pool(min(workers, len(todo))) as pool:
            for i, _seconds in pool.imap_unordered(_worker, jobs):
                bar.update(scene.frames)
                _after_sim(out, config, i, preview)
                check_space(out, [j for j in todo if not (out / sim_name(j)).exists()], completed)
    bar.close()


def check_first_frame(
    out: Path, writer: SimWriter, sims: int, completed: Callable[[], str]
) -> None:
    """Before any simulation is complete, the first frame's compressed size is the
    estimate (a low one: frames fill with smoke) of ``sims`` simulations."""
    needed = writer.frame_bytes(range(1)) * (writer.frames * sims - 1)
    what = f"{sims} simulation{'s' * (sims > 1)} of {writer.frames} frames"
    check_free_space(out, needed, what, completed())


def check_space(out: Path, todo: list[int], completed: Callable[[], str]) -> None:
    """Refuse to start ``todo`` when the mean size of the complete simulation files (the
    estimate: the first one has none) times their number exceeds the free space."""
    sizes = [p.stat().st_size for p in out.glob("sim_*.h5")]
    if sizes and todo:
        needed = float(np.mean(sizes)) * len(todo)
        what = f"{len(todo)} more simulation{'s' * (len(todo) > 1)}"
        check_free_space(out, needed, what, completed())


def _after_sim(out: Path, config: SimulateConfig, index: int, preview: bool) -> None:
    write_manifest(out, config)
    if preview:
        from fluidgan.io.preview import preview_sim

        (out / "previews").mkdir(exist_ok=True)
        preview_sim(out / sim_name(index), out / "previews" / f"sim_{index:05d}")


def _progress(total: int, enabled: bool, desc: str):
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, unit="frame", disable=not enabled, leave=False)
