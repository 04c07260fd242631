"""Low-res frames in batches for the generator: read from a sequence, or grouped as a
coarse simulation produces them."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import numpy as np

from fluidgan.errors import UserError
from fluidgan.inference.sources import LowSequence


@dataclass
class Frames:
    """A batch of low-res frames: time (B,), density (B, *s), velocity (B, *s, d) or None,
    and the matching ground truth (B, *S[, d]) when there is one."""

    time: np.ndarray
    density: np.ndarray
    velocity: np.ndarray | None
    high: dict[str, np.ndarray] | None = None

    def check_finite(self, source: object) -> None:
        """A UserError naming ``source`` and the times when a value is NaN or infinite."""
        velocity_ok = self.velocity is None or np.isfinite(self.velocity).all()
        if not (np.isfinite(self.density).all() and velocity_ok):
            raise UserError(
                f"{source}: a frame between times {self.time[0]:g} and {self.time[-1]:g} "
                "is not finite"
            )

    def velocity_or_zeros(self) -> np.ndarray:
        """The low-res velocity, zeros (B, *s, d) when the input has none."""
        if self.velocity is not None:
            return self.velocity
        return np.zeros((*self.density.shape, self.density.ndim - 1), np.float32)


def sequence_batches(
    seq: LowSequence, selected: range, batch: int, copy_high: bool
) -> Iterator[Frames]:
    """Frames of ``selected`` read ``batch`` at a time (h5py reads only what is asked for)."""
    indices = list(selected)
    for i in range(0, len(indices), batch):
        idx = indices[i : i + batch]
        # h5py fancy indexing needs increasing indices: the selection is a range with step 1
        sl = slice(idx[0], idx[-1] + 1)
        yield Frames(
            seq.time[sl],
            np.asarray(seq.density[sl], np.float32),
            None if seq.velocity is None else np.asarray(seq.velocity[sl], np.float32),
            {k: np.asarray(v[sl], np.float32) for k, v in seq.high.items()} if copy_high else None,
        )


def stacked_batches(
    frames: Iterable[tuple[float, np.ndarray, np.ndarray]], batch: int
) -> Iterator[Frames]:
    """(time, density, velocity) frames stacked ``batch`` at a time (the last one shorter)."""
    pending: list[tuple[float, np.ndarray, np.ndarray]] = []
    for frame in frames:
        pending.append(frame)
        if len(pending) == batch:
            yield stack_frames(pending)
            pending = []
    if pending:
        yield stack_frames(pending)


def stack_frames(frames: list[tuple[float, np.ndarray, np.ndarray]]) -> Frames:
    times, density, velocity = zip(*frames, strict=True)
    return Frames(np.asarray(times), np.stack(density), np.stack(velocity))
