"""Writing upscaled frames: a resumable simulation file with ``/low`` (copied), ``/sr``
and, when the input has it, ``/high`` (see :mod:`fluidgan.io.partial`).

After every batch the partial file records the frames done, so after Ctrl-C, ``kill -9``
or a full disk the same command goes on from there and writes the same file an
uninterrupted run writes. A lock file ``OUT.lock`` keeps a second run off the same
output; after the first batch, the bytes per frame so far are the estimate with which a
run stops before the free space runs out.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from fluidgan.errors import Interrupted
from fluidgan.inference.frames import Frames
from fluidgan.inference.upscaler import Upscaler
from fluidgan.inference.velocity import SR_VELOCITY
from fluidgan.io.faults import check_free_space, faults_named
from fluidgan.io.lock import run_lock
from fluidgan.io.partial import ResumableWriter


def write_batches(
    batches: Iterable[Frames],
    upscaler: Upscaler,
    writer: ResumableWriter,
    sr_velocity: str,
    on_frames: Callable[[int], None],
    source: str | os.PathLike,
) -> float:
    """Upscale and store every batch, recording it done in the partial file (the first
    one also measures the bytes per frame: stop if the rest cannot fit); return the
    seconds spent in the generator. ``sr_velocity``: a name in ``SR_VELOCITY``."""
    seconds = 0.0
    velocity_of = SR_VELOCITY[sr_velocity]
    for n, b in enumerate(batches):
        b.check_finite(source)
        start = time.perf_counter()
        sr = upscaler(b.density, b.velocity)
        seconds += time.perf_counter() - start
        velocity = b.velocity_or_zeros()
        sr_vel = velocity_of(velocity, upscaler.factor)
        for i, t in enumerate(b.time):
            fields = {
                "low/density": b.density[i],
                "low/velocity": velocity[i],
                "sr/density": sr[i],
                "sr/velocity": sr_vel[i],
            }
            if b.high is not None:
                fields.update({f"high/{k}": v[i] for k, v in b.high.items()})
            writer.write_frame(float(t), **fields)
        writer.checkpoint()
        if n == 0:
            check_space(writer)
        on_frames(len(b.time))
    return seconds


def check_space(writer: ResumableWriter) -> None:
    """The frames left, at the bytes per frame of this run's frames so far, must fit."""
    left, written = writer.frames - writer.count, range(writer.resumed, writer.count)
    if left and written:
        needed = writer.frame_bytes(written) * left
        check_free_space(writer.tmp, needed, f"{left} more frames", progress_note(writer))


def progress_note(writer: ResumableWriter) -> str:
    return f"{writer.recorded} of {writer.frames} frames done in {writer.tmp}"


def file_identity(path: str | os.PathLike) -> dict[str, Any]:
    """What tells a file's content apart cheaply: resolved path, size, modification time."""
    from fluidgan.train.checkpoint import latest_checkpoint

    path = Path(path)
    if path.is_dir():  # a run directory stands for its newest checkpoint
        path = latest_checkpoint(path) or path
    if not path.exists():  # e.g. pretrained:NAME, verified by its hash when loaded
        return {"name": str(path)}
    st = path.stat()
    return {"path": str(path.resolve()), "size": st.st_size, "mtime_ns": st.st_mtime_ns}


@contextmanager
def resumable_output(out: Path, writer_box: list) -> Iterator[None]:
    """Hold ``OUT.lock``; turn Ctrl-C into a one-line note of the frames kept for the
    next run, and a full disk into a fault that says the same (``writer_box``: the
    writer once there is one)."""

    def completed() -> str:
        return progress_note(writer_box[0]) if writer_box else ""

    with run_lock(out.with_name(out.name + ".lock"), "upscale"), faults_named(out, completed):
        try:
            yield
        except KeyboardInterrupt:
            raise Interrupted(
                f"interrupted: {completed() or 'nothing done'}; rerun the same command to resume"
            ) from None
