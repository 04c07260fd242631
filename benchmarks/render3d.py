"""Volume renderings of one frame of an upscaled 3D simulation, side by side: the low-res
input, tricubic interpolation, the generator's output and the high-res simulation.

    python benchmarks/render3d.py UPSCALED.h5 --frame 80 --out docs/img/fast3d_render.png

Emission–absorption rendering along z (:mod:`fluidgan.io.render`), one extinction scale
for all four panels (the high-res frame's: the densest of its rays is 95 % opaque), so
brightness compares across panels.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fluidgan.evaluation.baselines import upsample
from fluidgan.io.render import render_density
from fluidgan.io.simfile import open_sim


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("upscaled", type=Path)
    ap.add_argument("--frame", type=int, default=-1)
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args()
    with open_sim(args.upscaled) as f:
        low = f["low/density"][args.frame]
        sr = f["sr/density"][args.frame]
        high = f["high/density"][args.frame] if "high/density" in f else None
        t = f["time"][args.frame]
    factor = sr.shape[0] // low.shape[0]
    panels = {
        f"low res {'×'.join(map(str, low.shape[::-1]))}": np.kron(low, np.ones((factor,) * 3)),
        "tricubic": upsample(low, factor, "cubic"),
        "fast3d (generated)": sr,
    }
    if high is not None:
        panels["high-res simulation"] = high
    reference = high if high is not None else sr
    sigma = -np.log(0.05) / float(np.clip(reference, 0, None).sum(axis=0).max())
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(panels), figsize=(3.2 * len(panels), 3.6), dpi=110)
    background = np.array([0.05, 0.07, 0.12])
    for ax, (name, volume) in zip(axes, panels.items(), strict=True):
        intensity, opacity = render_density(volume, axis=0, sigma=sigma)
        image = intensity[..., None] + (1 - opacity[..., None]) * background
        ax.imshow(np.clip(image[::-1], 0, 1), interpolation="bilinear")
        ax.set_title(name, fontsize=9)
        ax.set_axis_off()
    fig.suptitle(f"frame {args.frame} (t = {t:g}), rendered along z", fontsize=10)
    fig.tight_layout()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.out)
    print(args.out)


if __name__ == "__main__":
    main()
