"""Temporal coherence of a sequence of density frames (T, *S).

Two views (SPEC §7):

* **frame differences** Δ_t = G_t − G_{t−1}: how well the prediction's change per frame
  matches the ground truth's (relative L2 of Δ), and the mean |Δ_t| per frame -- the
  time-derivative statistic that exposes flicker (too large) or frozen detail (too small);
* **advection warping error** e_t = RMS(A(G_{t−1}, v_{t−1}) − G_t): frame t−1 moved one
  frame along the ground-truth velocity should land on frame t. Even the ground truth has
  e_t > 0 (sources, diffusion of the solver, sub-steps), so e is reported relative to the
  ground truth's own: a ratio near 1 is as coherent as the simulation itself.

Velocities are the high-res reference's, cell-centred, (…, *S, d) with components
(x, y[, z]), in high-res cells per frame; the warp is :func:`fluidgan.advection.advect`
(semi-Lagrangian, clamped bi/trilinear sampling; ``order=2`` MacCormack).
"""

from __future__ import annotations

import math

import numpy as np


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
