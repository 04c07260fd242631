"""Overlapping tiles of a low-res frame, and their seamless reassembly (docs/METHOD.md).

A tile is a window of ``tile`` low-res cells per axis (the overlap included). Adjacent
windows overlap by at least ``2·overlap`` cells; the seam between two windows lies in the
middle of their overlap, so every kept cell is at least ``overlap`` low-res cells
(``overlap·factor`` high-res cells) away from an interior face of its window. The generator
is a stack of "same"-padded convolutions: a high-res cell depends on the cells within its
receptive radius only. When ``overlap`` >= :func:`receptive_halo`, the zero padding at an
interior face never reaches a kept cell, and the tiled output equals the whole-frame output
up to floating-point reassociation. Faces on the domain boundary are padded exactly as in
the whole frame.

All windows have the same size (the last one per axis is shifted back to end at the
border), so the tiles of a frame go through the generator in batches.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import torch
from torch import nn


@dataclass(frozen=True)
class Tile:
    """One window: ``window`` slices the low-res input; ``keep`` slices the window's
    high-res output; ``place`` is where that kept part goes in the high-res frame."""

    window: tuple[slice, ...]
    keep: tuple[slice, ...]
    place: tuple[slice, ...]


def receptive_halo(generator: nn.Module) -> int:
    """Low-res cells of context a high-res cell needs on each side (its receptive radius):
    the smallest seamless overlap. Each generator computes its own (``receptive_halo()``)."""
    return int(generator.receptive_halo())


def axis_windows(n: int, tile: int, overlap: int) -> list[tuple[int, int, int]]:
    """Windows along one axis of ``n`` cells: (start, keep_from, keep_to) in low-res cells.

    ``keep_*`` are absolute positions; windows are ``min(tile, n)`` cells long.
    """
    if tile >= n:
        return [(0, 0, n)]
    step = tile - 2 * overlap
    if step < 1:
        raise ValueError(f"tile {tile} must exceed twice the overlap {overlap}")
    starts = sorted({*range(0, n - tile, step), n - tile})
    # the seam between two windows: the middle of their overlap
    middles = [(nxt + prev + tile) // 2 for prev, nxt in itertools.pairwise(starts)]
    seams = [0, *middles, n]
    return [(s, seams[i], seams[i + 1]) for i, s in enumerate(starts)]


def plan_tiles(shape: tuple[int, ...], tile: int, overlap: int, factor: int) -> list[Tile]:
    """The tiles covering a low-res grid ``shape`` ((z,) y, x); their kept parts partition
    the high-res grid ``factor · shape`` exactly once."""
    per_axis = [axis_windows(n, tile, overlap) for n in shape]
    tiles = []
    for combo in itertools.product(*per_axis):
        window, keep, place = [], [], []
        for (start, lo, hi), n in zip(combo, shape, strict=True):
            size = min(tile, n)
            window.append(slice(start, start + size))
            keep.append(slice((lo - start) * factor, (hi - start) * factor))
            place.append(slice(lo * factor, hi * factor))
        tiles.append(Tile(tuple(window), tuple(keep), tuple(place)))
    return tiles


@torch.no_grad()
def upscale_tiled(
    generator: nn.Module,
    inputs: torch.Tensor,
    tile: int,
    overlap: int,
    batch: int = 1,
) -> torch.Tensor:
    """The generator over one frame in overlapping tiles.

    inputs (C, *s) on the generator's device -> high-res density (*factor·s), float32.
    ``batch`` tiles go through the generator at once.
    """
    factor = generator.factor
    spatial = tuple(inputs.shape[1:])
    out = torch.empty(tuple(n * factor for n in spatial), device=inputs.device)
    tiles = plan_tiles(spatial, tile, overlap, factor)
    for i in range(0, len(tiles), batch):
        group = tiles[i : i + batch]
        stack = torch.stack([inputs[(slice(None), *t.window)] for t in group])
        result = generator(stack)[:, 0].float()
        for t, r in zip(group, result, strict=True):
            out[t.place] = r[t.keep]
    return out
