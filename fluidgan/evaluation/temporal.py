"""Temporal coherence of a sequence of density frames (T, *S).

Two views (docs/METHOD.md, "Evaluation"):

* **frame differences** Δ_t = G_t − G_{t−1}: how well the prediction's change per frame
  matches the ground truth's (relative L2 of Δ), and the mean |Δ_t| per frame -- the
  time-derivative statistic that exposes flicker (too large) or frozen detail (too small);
* **advection warping error** e_t = RMS(A(G_{t−1}, v_{t−1}) − G_t): frame t−1 moved one
  frame along the ground-truth velocity should land on frame t. Even the ground truth has
  e_t > 0 (sources, diffusion of the solver, sub-steps), so e is reported relative to the
  ground truth's own: a ratio near 1 is as coherent as the simulation itself;
* **flicker** of the added detail: the detail band h_t = G_t − L(G_t) (L keeps the
  wavenumbers the low-res grid can hold, so h is what super-resolution adds) should move
  with the flow, not change on its own: φ_t = RMS(h_t − A(h_{t−1}, v_{t−1})). Reported
  relative to the ground truth's own φ, and as the *detail incoherence* φ / RMS(h), which
  does not grow with the amount of detail (a smooth interpolation has little detail, so
  its flicker is small but its incoherence need not be);
* **smoke detail incoherence**, the same question in the temporal discriminator's view and
  where the smoke is: frame t−1 moved whole along the flow with the solver's own scheme
  (MacCormack), its detail band compared with frame t's, over the cells where the ground
  truth has smoke: ψ = √(Σ_t Σ_{M_t} (h(G_t) − h(A(G_{t−1}, v_{t−1})))² / Σ_t Σ_{M_t} h(G_t)²).
  Warping the band itself (φ) loses the finest detail to the warp's interpolation and
  counts air that decorrelates, so on spread-out plumes the ground truth's own φ grows
  *above* its unwarped change; ψ keeps the truth below it (docs/ABLATION.md).

Velocities are the high-res reference's, cell-centred, (…, *S, d) with components
(x, y[, z]), in high-res cells per frame; the warp is :func:`fluidgan.advection.advect`
(semi-Lagrangian, clamped bi/trilinear sampling; ``order=2`` MacCormack).
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
from scipy import fft


def frame_differences(seq: np.ndarray) -> np.ndarray:
    """Δ_t = G_t − G_{t−1} of a sequence (T, *S) -> (T−1, *S), float64."""
    seq = np.asarray(seq, dtype=np.float64)
    return seq[1:] - seq[:-1]


def frame_difference_error(pred: np.ndarray, ref: np.ndarray) -> float:
    """‖Δpred − Δref‖₂ / ‖Δref‖₂ over all frames and cells (sequences (T, *S), T ≥ 2)."""
    dp, dr = frame_differences(pred), frame_differences(ref)
    num = float(np.linalg.norm((dp - dr).ravel()))
    den = float(np.linalg.norm(dr.ravel()))
    if den == 0:
        return 0.0 if num == 0 else math.inf
    return num / den


def mean_abs_time_derivative(seq: np.ndarray) -> np.ndarray:
    """mean |G_t − G_{t−1}| over the cells of each frame pair: (T−1,), density per frame."""
    d = frame_differences(seq)
    return np.abs(d).reshape(d.shape[0], -1).mean(axis=1)


def advect_frames(
    frames: np.ndarray, velocity: np.ndarray, dt: float = 1.0, order: int = 1
) -> np.ndarray:
    """A(frames, v, dt): frames (B, *S) moved along one velocity (*S, d) or (B, *S, d).

    ``velocity`` in cells of this grid per frame, components (x, y[, z]); returns (B, *S)
    float32. Runs :func:`fluidgan.advection.advect` on the CPU (torch).
    """
    import torch

    from fluidgan.advection import advect

    frames = np.asarray(frames, dtype=np.float32)
    velocity = np.asarray(velocity, dtype=np.float32)
    field = torch.from_numpy(np.ascontiguousarray(frames))[:, None]
    spatial = frames.ndim - 1
    # components go in front of the spatial axes: (*S, d) -> (d, *S), (B, *S, d) -> (B, d, *S)
    vel = torch.from_numpy(np.ascontiguousarray(np.moveaxis(velocity, -1, -1 - spatial)))
    if vel.ndim == field.ndim - 1:  # one velocity for the whole batch
        vel = vel[None]
    with torch.no_grad():
        return advect(field, vel, dt, order)[:, 0].numpy()


def warping_errors(seq: np.ndarray, velocity: np.ndarray, order: int = 1) -> np.ndarray:
    """e_t = RMS(A(G_{t−1}, v_{t−1}) − G_t) for t = 1 … T−1: (T−1,).

    ``seq`` (T, *S); ``velocity`` (T, *S, d) in cells per frame (v_{t−1} moves frame t−1).
    """
    seq = np.asarray(seq, dtype=np.float32)
    warped = advect_frames(seq[:-1], np.asarray(velocity)[:-1], 1.0, order)
    diff = warped.astype(np.float64) - seq[1:]
    return np.sqrt((diff * diff).reshape(diff.shape[0], -1).mean(axis=1))


def relative_warping_error(
    pred: np.ndarray, ref: np.ndarray, velocity: np.ndarray, order: int = 1
) -> float:
    """mean_t e_t(pred) / mean_t e_t(ref), both warped with the ground-truth velocity."""
    own = float(warping_errors(ref, velocity, order).mean())
    theirs = float(warping_errors(pred, velocity, order).mean())
    if own == 0:
        return 1.0 if theirs == 0 else math.inf
    return theirs / own


# --- flicker of the detail band ---------------------------------------------------------


@lru_cache(maxsize=16)
def _detail_mask(shape: tuple[int, ...], cutoff: float) -> np.ndarray:
    """True for the DCT-II bins of a grid ``shape`` whose wavenumber exceeds ``cutoff``.

    Bin m along an axis of n cells is a cosine of m/(2n) cycles per cell, i.e.
    κ = m · max(S) / (2n) cycles per longest box side (the unit of :mod:`.spectra`).
    """
    longest = max(shape)
    axes = [np.arange(n) * longest / (2.0 * n) for n in shape]
    grids = np.meshgrid(*axes, indexing="ij", sparse=True)
    return np.sqrt(sum(g * g for g in grids)) > cutoff


def detail_band(frames: np.ndarray, cutoff: float, dim: int | None = None) -> np.ndarray:
    """h = G − L(G): the part of fields (…, *S) above wavenumber ``cutoff``, float64.

    ``cutoff`` in cycles per longest box side; the low-res Nyquist max(s)/2 makes h the
    detail a super-resolution method adds. The split is a mask on the orthonormal DCT-II
    (an even extension at the walls: no wrap-around jumps as with an FFT), so it is an
    orthogonal projection: L(G) + h = G and ⟨L(G), h⟩ = 0. The last ``dim`` axes
    (default: all) are spatial.
    """
    frames = np.asarray(frames, dtype=np.float64)
    dim = frames.ndim if dim is None else dim
    axes = tuple(range(frames.ndim - dim, frames.ndim))
    mask = _detail_mask(tuple(frames.shape[a] for a in axes), float(cutoff))
    coefficients = fft.dctn(frames, type=2, axes=axes, norm="ortho", workers=-1)
    return fft.idctn(coefficients * mask, type=2, axes=axes, norm="ortho", workers=-1)


def _rms_per_frame(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    return np.sqrt((x * x).reshape(x.shape[0], -1).mean(axis=1))


def detail_changes(
    seq: np.ndarray,
    cutoff: float,
    velocity: np.ndarray | None = None,
    order: int = 1,
) -> np.ndarray:
    """φ_t = RMS(h_t − A(h_{t−1}, v_{t−1})) for t = 1 … T−1: (T−1,), density units per frame.

    ``seq`` (T, *S); h = :func:`detail_band` (``cutoff``); ``velocity`` (T, *S, d) in
    cells per frame moves h_{t−1} (None: no warp, φ_t = RMS(h_t − h_{t−1})).
    """
    h = detail_band(seq, cutoff, np.ndim(seq) - 1)
    previous = h[:-1]
    if velocity is not None:
        previous = advect_frames(previous, np.asarray(velocity)[:-1], 1.0, order)
    return _rms_per_frame(h[1:] - previous)


def relative_flicker(
    pred: np.ndarray,
    ref: np.ndarray,
    cutoff: float,
    velocity: np.ndarray | None = None,
    order: int = 1,
) -> float:
    """mean_t φ_t(pred) / mean_t φ_t(ref): 1 = the detail is as steady as the ground
    truth's; ≫ 1 = it flickers. Both warped with the same (ground-truth) ``velocity``."""
    own = float(detail_changes(ref, cutoff, velocity, order).mean())
    theirs = float(detail_changes(pred, cutoff, velocity, order).mean())
    if own == 0:
        return 1.0 if theirs == 0 else math.inf
    return theirs / own


SMOKE_WARP_ORDER = 2  # MacCormack, the solver's own density advection


def smoke_detail_sums(
    seq: np.ndarray,
    ref: np.ndarray,
    cutoff: float,
    velocity: np.ndarray,
    threshold: float,
    order: int = SMOKE_WARP_ORDER,
) -> tuple[float, float]:
    """(Σ change², Σ detail²) of ψ over frames 1 … T−1 of ``seq`` (T, *S): change =
    h(G_t) − h(A(G_{t−1}, v_{t−1})), detail = h(G_t), summed over the cells where ``ref``
    (the ground truth, (T, *S)) exceeds ``threshold``."""
    from fluidgan.evaluation.fields import smoke_mask

    seq = np.asarray(seq, dtype=np.float64)
    spatial = seq.ndim - 1
    h = detail_band(seq[1:], cutoff, spatial)
    moved = advect_frames(seq[:-1], np.asarray(velocity)[:-1], 1.0, order)
    mask = smoke_mask(np.asarray(ref)[1:], threshold)
    change = h - detail_band(moved, cutoff, spatial)
    return float(np.sum(change[mask] ** 2)), float(np.sum(h[mask] ** 2))


def smoke_detail_incoherence(
    seq: np.ndarray,
    ref: np.ndarray,
    cutoff: float,
    velocity: np.ndarray,
    threshold: float = 0.01,
    order: int = SMOKE_WARP_ORDER,
) -> float:
    """ψ of ``seq``: the fraction of its detail, inside the ground truth's smoke, that does
    not follow the flow from one frame to the next (0: carried exactly; √2 for detail that
    is fresh and uncorrelated every frame). NaN without detail in the smoke."""
    change, detail = smoke_detail_sums(seq, ref, cutoff, velocity, threshold, order)
    return math.sqrt(change / detail) if detail else math.nan


def detail_incoherence(
    seq: np.ndarray,
    cutoff: float,
    velocity: np.ndarray | None = None,
    order: int = 1,
) -> float:
    """mean_t φ_t / mean_t RMS(h_t) over t = 1 … T−1: the fraction of the detail that
    changes against the flow per frame (0: detail carried along exactly; 2: detail
    that flips sign every frame, unwarped). NaN for a sequence without detail."""
    h_rms = float(_rms_per_frame(detail_band(seq, cutoff, np.ndim(seq) - 1)[1:]).mean())
    if h_rms == 0:
        return math.nan
    return float(detail_changes(seq, cutoff, velocity, order).mean()) / h_rms
