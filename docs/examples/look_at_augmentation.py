"""Look at one augmented training triplet: density with velocity arrows, before and after.

    python docs/examples/look_at_augmentation.py DATASET_DIR [--index 3] [--seed 0]
                                                 [--tile 16] [--out augmentation.png]

DATASET_DIR is what ``fluidgan simulate`` wrote, e.g.

    fluidgan simulate --scene training --dim 2 --res 128 --frames 16 --seed 3 --out data/look
    python docs/examples/look_at_augmentation.py data/look --index 1   # docs/img/augmentation.png

The figure has three rows; its columns are frames t-1, t, t+1:

1. the low-res tile as cut from the file (no transform), at the tile centre the sampler chose;
2. the same item augmented (docs/DATA.md: scale s, rotation, flip; velocity × s, rotated and
   mirrored with the grid), as the training loop receives it;
3. the augmented high-res tile (factor × finer): the same region as row 2.

Arrows are the low-res velocity (x, y components; a 3D data set shows the middle z slice).
"""

from __future__ import annotations

import argparse
import dataclasses
import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from fluidgan.data import AugmentConfig, TileDataset, list_sims
from fluidgan.data.dataset import read_info


def middle_slice(x: np.ndarray) -> np.ndarray:
    """(C, *S) -> (C, Y, X): the middle z slice of a 3D tile, a 2D tile unchanged."""
    return x[:, x.shape[1] // 2] if x.ndim == 4 else x


def describe(transform: np.ndarray) -> str:
    """Scale, the 2D rotation angle (when A does not mirror) or that it mirrors."""
    d = transform.shape[0]
    det = np.linalg.det(transform)
    text = f"scale s = {abs(det) ** (1.0 / d):.3f}"
    if det < 0:
        return text + ", mirrored and rotated"
    if d == 2:
        text += f", rotated {math.degrees(math.atan2(transform[1, 0], transform[0, 0])) % 360:.0f}°"
    return text


def show(ax, density: np.ndarray, velocity: np.ndarray | None, title: str, scale: float) -> None:
    """Density (Y, X) as an image with y up, velocity (2, Y, X) as arrows ``scale`` times
    their length in cells."""
    ny, nx = density.shape
    ax.imshow(density, origin="lower", cmap="magma", vmin=0.0, vmax=1.0,
              extent=(0, nx, 0, ny))  # fmt: skip
    if velocity is not None:
        y, x = np.mgrid[0:ny, 0:nx] + 0.5
        ax.quiver(x, y, velocity[0], velocity[1], color="cyan", angles="xy", scale_units="xy",
                  scale=1.0 / scale, width=0.006)  # fmt: skip
    ax.set_title(title, fontsize=9)
    ax.set_xticks([])
    ax.set_yticks([])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("dataset", type=Path)
    parser.add_argument("--index", type=int, default=3, help="item index (any integer >= 0)")
    parser.add_argument("--seed", type=int, default=0, help="dataset seed")
    parser.add_argument("--tile", type=int, default=16, help="low-res tile edge (cells)")
    parser.add_argument("--out", type=Path, default=Path("augmentation.png"))
    args = parser.parse_args()

    files = list_sims(args.dataset)
    factor = read_info(files[0]).factor
    ds = TileDataset(files, factor=factor, tile=args.tile, channels="rho+v", temporal=True,
                     augment=AugmentConfig(), seed=args.seed)  # fmt: skip
    recipe = ds.recipe(args.index)  # file, frames, transform and tile centre of the item
    augmented = ds.cut(recipe)
    plain = ds.cut(dataclasses.replace(recipe, transform=np.eye(ds.dim)))

    speed = float(np.linalg.norm(plain["low_velocity"].numpy(), axis=1).max())
    scale = 1.5 / max(speed, 1e-12)  # the fastest arrow 1.5 cells long, the same in all panels
    fig, axes = plt.subplots(3, 3, figsize=(9, 9.6), constrained_layout=True)
    for col, (frame, label) in enumerate(zip(recipe.frames, ("t-1", "t", "t+1"), strict=True)):
        before = middle_slice(plain["low"][col].numpy())
        after = middle_slice(augmented["low"][col].numpy())
        high = middle_slice(augmented["high"][col].numpy())
        show(axes[0, col], before[0], before[1:3], f"{label} (frame {frame}): as in file", scale)
        show(axes[1, col], after[0], after[1:3], f"{label}: augmented, low res", scale)
        show(axes[2, col], high[0], None, f"{label}: augmented, high res ×{factor}", scale)
    name = Path(ds.sims[recipe.sim].path).name
    fig.suptitle(
        f"{name}, item {args.index}: {describe(recipe.transform)} "
        f"(arrows ×{scale:.3g} cells per (cell/frame))"
    )
    fig.savefig(args.out, dpi=100)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
