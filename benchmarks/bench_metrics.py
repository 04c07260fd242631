"""Throughput of the image metrics: feature extraction and FID end to end.

    python benchmarks/bench_metrics.py [--n 2000] [--images 256] [--size 64]
                                       [--features inception,domain:digits,domain:smoke]
                                       [--e2e inception] [--batch-size 64] [--device cpu]

1. Feature extraction, images/s after one warm-up batch, for every ``--features`` entry on
   ``--images`` grey ``--size``² images (the canonical ``inception`` resizes them to 299²
   with the TF1 bilinear resize; ``domain:*`` to its classifier's size). A ``domain:*``
   extractor loads the classifier shipped with the package (it trains one, not timed
   here, only for another torch version or a changed recipe).
2. FID end to end for every ``--e2e`` extractor, N = ``--n`` real and N fake images read
   from .npz files exactly as ``fluidgan gan evaluate --metrics fid`` does
   (``pipelines.gan_evaluate.evaluate``): cold (both sides extracted, the reference
   statistics written to the cache) and warm (reference statistics read from the cache,
   only the fake side extracted). The statistics cache is a temporary folder.

The images are smooth random grey fields (smoke-like blobs); FID's cost does not depend on
their content.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from scipy import ndimage

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fluidgan.metrics.cache import CACHE_ENV, cache_dir
from fluidgan.metrics.features import ExtractorOptions, get_extractor
from fluidgan.metrics.suite import MetricOptions
from pipelines.gan_evaluate import evaluate


def smooth_images(n: int, size: int, seed: int) -> np.ndarray:
    """(n, size, size, 1) uint8 blobs: coarse noise zoomed ×8, squashed to 0..255."""
    rng = np.random.default_rng(seed)
    coarse = rng.standard_normal((n, max(2, size // 8), max(2, size // 8)))
    fields = ndimage.zoom(coarse, (1, size / coarse.shape[1], size / coarse.shape[2]), order=1)
    return (255.0 / (1.0 + np.exp(-2.0 * fields)))[..., None].astype(np.uint8)


def extraction_rate(name: str, images: np.ndarray, batch_size: int, device: str) -> float:
    """Images per second of ``extractor.extract`` after one warm-up batch."""
    extractor = get_extractor(name, ExtractorOptions(device=device))
    extractor.extract(images[:batch_size], batch_size)
    start = time.perf_counter()
    extractor.extract(images, batch_size)
    return len(images) / (time.perf_counter() - start)


def fid_end_to_end(name: str, n: int, size: int, batch_size: int, device: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        real, fake = Path(tmp) / "real.npz", Path(tmp) / "fake.npz"
        np.savez(real, images=smooth_images(n, size, 1))
        np.savez(fake, images=smooth_images(n, size, 2))
        options = MetricOptions(
            metrics=["fid"], features=name, batch_size=batch_size, device=device
        )
        # The statistics go to the temporary folder; a domain classifier stays where it
        # was trained (copied, so that it is not trained again).
        own_cache = cache_dir()
        os.environ[CACHE_ENV] = str(Path(tmp) / "cache")
        if (own_cache / "domain").is_dir():
            shutil.copytree(own_cache / "domain", Path(tmp) / "cache" / "domain")
        try:
            for label in ("cold (both sides)", "warm (cached reference)"):
                start = time.perf_counter()
                result = evaluate(real, fake, options)
                sec = time.perf_counter() - start
                key = next(iter(result["metrics"]))
                print(
                    f"  {name} FID N={n} {label}: {sec:7.1f} s  "
                    f"({key} = {result['metrics'][key]['value']:.3f}, "
                    f"reference cached: {result['reference']['cached']})"
                )
        finally:
            os.environ[CACHE_ENV] = str(own_cache)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=2000, help="images per side for FID")
    parser.add_argument("--images", type=int, default=256, help="images for the rates")
    parser.add_argument("--size", type=int, default=64, help="edge of the input images")
    parser.add_argument("--features", default="inception,domain:digits,domain:smoke")
    parser.add_argument("--e2e", default="inception", help="extractors for FID end to end")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    print(
        f"torch {torch.__version__}, {os.cpu_count()} CPUs, torch threads "
        f"{torch.get_num_threads()}, device {args.device}; {args.size}² grey inputs, "
        f"batch {args.batch_size}"
    )
    images = smooth_images(args.images, args.size, 0)
    for name in filter(None, args.features.split(",")):
        rate = extraction_rate(name, images, args.batch_size, args.device)
        print(f"  {name:<16} features: {rate:8.1f} images/s  ({len(images)} images)")
    for name in filter(None, args.e2e.split(",")):
        fid_end_to_end(name, args.n, args.size, args.batch_size, args.device)


if __name__ == "__main__":
    main()
