"""Throughput of the augmented tile loader against what a tempoGAN iteration consumes.

    python benchmarks/bench_loader.py [--dims 2,3] [--workers 0,2] [--batches 20]
                                      [--data DIR] [--res3d 192] [--train-step auto|on|off]

Writes small synthetic datasets (2D: 256² high / 64² low, 3D: res3d³ / (res3d/4)³; smooth
random density and velocity; the high-res velocity, which the loader never reads, is
zero) into a temporary directory unless ``--data`` names a real one, then times
``make_loader`` over ``TileDataset`` (tile 16 low / 64 high, inputs rho+v+w, the full training
augmentation) for spatial items (batch 16) and triplets (batch 5), after one warm-up batch.

A training iteration (the paper's k_Ds = k_Dt = k_G = 2, B = 16) consumes 4 spatial batches of
16 and 4 temporal batches of 5 triplets. The loader keeps up when the time it needs for
that, 64/rate_spatial + 20/rate_temporal (worst case: the two loaders share the cores),
is below the time of one iteration, which ``--train-step`` measures with the real trainer
on this machine's device (auto: only where it takes seconds, i.e. 2D, or any dim on CUDA).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from scipy import ndimage

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fluidgan.data import AugmentConfig, TileDataset, list_sims, make_loader
from fluidgan.io.simfile import SimMeta, SimWriter

SPATIAL_BATCH, TEMPORAL_BATCH = 16, 5
SPATIAL_PER_ITER, TEMPORAL_PER_ITER = 4 * SPATIAL_BATCH, 4 * TEMPORAL_BATCH


def smooth_noise(rng: np.random.Generator, shape: tuple[int, ...], cells: int) -> np.ndarray:
    """Random field with features of about ``cells`` cells, values roughly in [-1, 1]."""
    coarse = rng.standard_normal(tuple(max(2, n // cells) for n in shape))
    zoom = [n / c for n, c in zip(shape, coarse.shape, strict=True)]
    return ndimage.zoom(coarse, zoom, order=1)[tuple(slice(0, n) for n in shape)]


def write_dataset(root: Path, dim: int, high: int, sims: int, frames: int) -> list[Path]:
    factor = 4
    high_shape, low_shape = (high,) * dim, (high // factor,) * dim
    files = []
    for k in range(sims):
        rng = np.random.default_rng(k)
        meta = SimMeta(dim=dim, factor=factor, dt=1.0, seed=k, scene={"name": "bench"})
        path = root / f"sim_{k:05d}.h5"
        with SimWriter(path, meta, frames, high_shape, low_shape) as w:
            zero_vel = np.zeros((*high_shape, dim), np.float32)
            for t in range(frames):
                rho = np.clip(smooth_noise(rng, high_shape, 16) * 0.5 + 0.3, 0, 1)
                low = rho.reshape(*[s for n in low_shape for s in (n, factor)])
                low = low.mean(axis=tuple(range(1, 2 * dim, 2)))
                vel = np.stack([smooth_noise(rng, low_shape, 4) for _ in range(dim)], -1)
                w.write_frame(
                    float(t),
                    **{
                        "high/density": rho,
                        "low/density": low,
                        "high/velocity": zero_vel,
                        "low/velocity": 0.5 * vel,
                    },
                )
        files.append(path)
    return files


def loader_rate(files, temporal: bool, workers: int, batches: int) -> float:
    """Items per second (a triplet is one item) after one warm-up batch."""
    ds = TileDataset(
        files,
        factor=4,
        tile=16,
        channels="rho+v+w",
        temporal=temporal,
        augment=AugmentConfig(),
        seed=1,
    )
    batch = TEMPORAL_BATCH if temporal else SPATIAL_BATCH
    it = iter(make_loader(ds, batch_size=batch, workers=workers, seed=0))
    next(it)
    start = time.perf_counter()
    for _ in range(batches):
        next(it)
    rate = batches * batch / (time.perf_counter() - start)
    del it
    return rate


def iteration_seconds(files, dim: int, device: str, repeats: int) -> float:
    """Seconds per training iteration of the real trainer on prefetched batches."""
    from fluidgan.data.channels import channel_count
    from fluidgan.train import distributed as dist
    from fluidgan.train.batches import IterationBatches, to_device
    from fluidgan.train.config import TrainConfig
    from fluidgan.train.loop import ModelSpec, Trainer

    ctx = dist.setup(device)
    cfg = TrainConfig(iterations=1000)
    spec = ModelSpec(dim, 4, channel_count("rho+v+w", dim), "rho+v+w")
    trainer = Trainer(cfg, spec, ctx)
    loaders = [
        make_loader(
            TileDataset(files, factor=4, tile=16, temporal=t, augment=AugmentConfig()),
            batch_size=b,
            workers=0,
        )
        for t, b in ((False, SPATIAL_BATCH), (True, TEMPORAL_BATCH))
    ]
    spatial, temporal = (iter(ld) for ld in loaders)
    batches = IterationBatches(
        [to_device(next(spatial), ctx.device) for _ in range(4)],
        [to_device(next(temporal), ctx.device) for _ in range(4)],
    )
    trainer.iteration(batches)  # warm-up (cudnn autotuning, allocator)
    sync = torch.cuda.synchronize if ctx.device.type == "cuda" else (lambda: None)
    sync()
    start = time.perf_counter()
    for _ in range(repeats):
        trainer.iteration(batches)
    sync()
    return (time.perf_counter() - start) / repeats


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dims", default="2,3")
    parser.add_argument("--workers", default="0,2")
    parser.add_argument("--batches", type=int, default=20)
    parser.add_argument("--data", type=Path, help="a dataset directory (one dim) instead")
    parser.add_argument("--res3d", type=int, default=192, help="3D high-res edge (cells)")
    parser.add_argument("--train-step", choices=["auto", "on", "off"], default="auto")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--repeats", type=int, default=1, help="timed training iterations")
    args = parser.parse_args()
    cuda = torch.cuda.is_available() and args.device != "cpu"
    print(
        f"torch {torch.__version__}, {os.cpu_count()} CPUs, torch threads "
        f"{torch.get_num_threads()}, device {'cuda' if cuda else 'cpu'}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        datasets = {}
        if args.data:
            files = list_sims(args.data)
            datasets[TileDataset(files, factor=4, tile=16).dim] = files
        else:
            for dim in map(int, args.dims.split(",")):
                root = Path(tmp) / f"{dim}d"
                root.mkdir()
                t0 = time.perf_counter()
                high, sims, frames = (256, 2, 12) if dim == 2 else (args.res3d, 1, 4)
                datasets[dim] = write_dataset(root, dim, high, sims, frames)
                print(
                    f"{dim}D data: {sims} sims × {frames} frames, {high}^{dim} high, "
                    f"written in {time.perf_counter() - t0:.1f} s"
                )
        for dim, files in datasets.items():
            batches = args.batches if dim == 2 else max(4, args.batches // 4)
            for workers in map(int, args.workers.split(",")):
                rs = loader_rate(files, False, workers, batches)
                rt = loader_rate(files, True, workers, max(2, batches // 2))
                need = SPATIAL_PER_ITER / rs + TEMPORAL_PER_ITER / rt
                print(
                    f"{dim}D workers={workers}: {rs:8.1f} spatial tiles/s, {rt:7.1f} "
                    f"triplets/s -> {need:6.3f} s of loading per iteration "
                    f"({SPATIAL_PER_ITER} tiles + {TEMPORAL_PER_ITER} triplets), "
                    f"max {1 / need:5.1f} it/s"
                )
            if args.train_step == "on" or (args.train_step == "auto" and (cuda or dim == 2)):
                sec = iteration_seconds(files, dim, args.device, args.repeats)
                print(
                    f"{dim}D training iteration ({'cuda' if cuda else 'cpu'}): {sec:.3f} s "
                    f"({1 / sec:.2f} it/s)"
                )


if __name__ == "__main__":
    main()
