"""A volume rendering of a 3D density: emission–absorption along parallel rays, the way
smoke is drawn (white smoke lit uniformly, seen against a dark background).

With extinction σ per unit density and cell, a ray through cells ρ_1 … ρ_n (front first)
returns

    I = Σ_i ρ_i σ · T_i,    T_i = exp(−σ Σ_{j<i} ρ_j)   (transmittance in front of cell i)

and the image's opacity is 1 − T_{n+1}. ``sigma`` defaults to the value that makes the
densest ray of the volume 95 % opaque, so one picture fits any scale of density.
"""

from __future__ import annotations

import numpy as np


def render_density(
    density: np.ndarray, axis: int = 0, sigma: float | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """density (Z, Y, X) >= 0 seen along ``axis`` (0: along z, looking at the x-y plane;
    front = index 0) -> (intensity, opacity), each the volume's shape without ``axis``,
    in [0, 1]; image rows are the volume's first remaining axis (y: flip for "up")."""
    rho = np.clip(np.moveaxis(np.asarray(density, np.float64), axis, 0), 0.0, None)
    if sigma is None:
        densest = float(rho.sum(axis=0).max())
        sigma = -np.log(0.05) / densest if densest > 0 else 1.0
    optical = sigma * rho
    in_front = np.cumsum(optical, axis=0) - optical  # Σ_{j<i}
    intensity = (optical * np.exp(-in_front)).sum(axis=0)
    opacity = 1.0 - np.exp(-optical.sum(axis=0))
    return intensity, opacity


def render_png(
    density: np.ndarray, path, axis: int = 0, sigma: float | None = None, title: str = ""
) -> None:
    """Write the rendering of ``density`` as a PNG (y up), smoke white on dark blue."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    intensity, opacity = render_density(density, axis, sigma)
    background = np.array([0.05, 0.07, 0.12])
    image = intensity[..., None] * np.ones(3) + (1 - opacity[..., None]) * background
    fig, ax = plt.subplots(figsize=(4, 4 * image.shape[0] / image.shape[1]), dpi=100)
    ax.imshow(np.clip(image[::-1], 0, 1), interpolation="bilinear")
    ax.set_axis_off()
    if title:
        ax.set_title(title, fontsize=9)
    fig.savefig(path, bbox_inches="tight")
    plt.close(fig)
