"""The training-loop skeleton both trainers share (tempoGAN's and the GAN zoo's).

A trainer supplies what one iteration does (``step``), how its state is checkpointed
(``save``) and what else runs on a cadence (``tasks``: logging, previews, metrics); the
skeleton owns everything around that, the same for both:

- **cadence**: a task runs after every ``every``-th iteration, and (``at_end``) after the
  last one of the run, whatever ended it; a checkpoint is written every
  ``checkpoint_every`` iterations and after the last one;
- **stop request**: SIGINT / SIGTERM (Ctrl-C, ``timeout``, a batch scheduler signalling
  the whole process group) finish the iteration under way, which then runs its end-of-run
  tasks and checkpoint, and the loop returns with status ``interrupted``; a second Ctrl-C
  interrupts at once. With several processes, every rank stops after the same iteration
  (``agree``). A time budget (``over_budget``) stops the same way with status ``budget``;
- **finite check**: a NaN or infinite metric stops the run with :class:`TrainingDiverged`,
  one line naming the metric, the iteration and the last good checkpoint (left as it was);
- **progress**: a tqdm bar over the run's iterations with the chosen metrics;
- **result**: the status word (``completed``, ``interrupted``, ``budget``), the iterations
  reached, the signal, the last checkpoint, the last metrics and the seconds spent.

One iteration, in order: ``step``; the finite check; ``after_iteration``; the stop and
budget check; the due tasks in the order given (each may add values to the iteration's
metrics); the checkpoint. A stop requested while the tasks run takes effect after the next
iteration. Resuming is the trainer's: it restores its state from a checkpoint and calls
:func:`run` with ``start`` = the checkpoint's iteration.
"""

from __future__ import annotations

import math
import os
import signal
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from tqdm import tqdm

from fluidgan.interrupt import StopRequest
from fluidgan.io.atomic import atomic_path

Metrics = dict[str, float]


class TrainingDiverged(FloatingPointError):
    """A metric became NaN or infinite; the last good checkpoint is left as it was."""


@dataclass(frozen=True)
class Task:
    """``run(done, metrics)`` after iteration ``done`` when ``every`` > 0 divides it, and,
    with ``at_end``, after the last iteration of the run (its end, a stop request or the
    time budget). ``run`` may return values to add to the iteration's metrics."""

    every: int
    run: Callable[[int, Metrics], Mapping[str, float] | None]
    at_end: bool = False

    def due(self, done: int, last: bool) -> bool:
        return (self.at_end and last) or (self.every > 0 and done % self.every == 0)


def _same(flag: bool) -> bool:
    return flag


@dataclass
class Loop:
    """What a trainer gives the skeleton.

    step(): one iteration's updates; returns its metrics as floats (averaged over the
        processes when there are several).
    save(done, metrics): write the checkpoint of the state after ``done`` iterations;
        returns its path (None where this process writes none, e.g. ranks > 0).
    checkpoint_every: iterations between checkpoints (one is also written at the end).
    tasks: run in this order after the stop check (see :class:`Task`).
    after_iteration(done, metrics): a caller's hook right after the updates (tests raise
        a signal or read the weights in it); a stop it requests takes effect now.
    diverged(done, metrics): runs before :class:`TrainingDiverged` is raised (e.g. to
        log the bad row).
    agree(flag): True on every process when any passes True (stop together).
    over_budget(): True once the run's time budget is spent.
    resume_hint: how to go on after a divergence, appended to its message.
    progress / desc / postfix: the bar, its label and the metrics it shows.
    """

    step: Callable[[], Metrics]
    save: Callable[[int, Metrics], Path | None]
    checkpoint_every: int
    tasks: Sequence[Task] = ()
    after_iteration: Callable[[int, Metrics], None] | None = None
    diverged: Callable[[int, Metrics], None] | None = None
    agree: Callable[[bool], bool] = _same
    over_budget: Callable[[], bool] | None = None
    resume_hint: str = "resume from it with --resume"
    progress: bool = False
    desc: str | None = None
    postfix: tuple[str, ...] = ()


@dataclass
class LoopResult:
    status: str  # "completed" | "interrupted" | "budget"
    iterations: int  # completed iterations, the resumed ones included
    start: int  # the iteration this process began at
    signal: str | None  # "SIGINT" / "SIGTERM" when one was received
    checkpoint: Path | None  # the last checkpoint written (or the one resumed from)
    metrics: Metrics = field(default_factory=dict)  # of the last iteration
    seconds: float = 0.0  # wall-clock seconds of this process's iterations

    @property
    def iterations_per_second(self) -> float:
        done = self.iterations - self.start
        return done / self.seconds if self.seconds > 0 else 0.0

    @property
    def seconds_per_iteration(self) -> float | None:
        done = self.iterations - self.start
        return self.seconds / done if done else None


def check_finite(metrics: Metrics, done: int, checkpoint: Path | None, hint: str) -> None:
    """Raise :class:`TrainingDiverged` naming the first NaN / infinite metric."""
    for key, value in metrics.items():
        if not math.isfinite(value):
            raise TrainingDiverged(
                f"training diverged: {key} = {value} at iteration {done}; the last good "
                f"checkpoint is {checkpoint or 'none (none was written yet)'} — {hint}"
            )


def run(loop: Loop, start: int, stop: int, checkpoint: Path | None = None) -> LoopResult:
    """Run the iterations after the first ``start`` up to ``stop`` (``done``, the count
    of completed iterations, goes ``start+1 .. stop``).

    ``checkpoint``: the one the run resumed from (named if it diverges before the next).
    """
    result = LoopResult("completed", start, start, None, checkpoint)
    bar = tqdm(
        total=stop,
        initial=start,
        disable=not loop.progress,
        desc=loop.desc,
        unit="it",
        dynamic_ncols=True,
        leave=False,
    )
    t0 = time.perf_counter()
    with StopRequest() as request, bar:
        for done in range(start + 1, stop + 1):
            metrics = loop.step()
            result.iterations, result.metrics = done, metrics
            if not all(map(math.isfinite, metrics.values())):
                if loop.diverged is not None:
                    loop.diverged(done, metrics)
                check_finite(metrics, done, result.checkpoint, loop.resume_hint)
            if loop.after_iteration is not None:
                loop.after_iteration(done, metrics)
            over = loop.over_budget is not None and loop.over_budget()
            stopping = loop.agree(request.signal is not None or over)
            last = done == stop or stopping
            for task in loop.tasks:
                if task.due(done, last):
                    metrics.update(task.run(done, metrics) or {})
            if last or done % loop.checkpoint_every == 0:
                result.checkpoint = loop.save(done, metrics) or result.checkpoint
            if loop.progress:
                bar.update(1)
                bar.set_postfix({k: f"{metrics[k]:.3g}" for k in loop.postfix if k in metrics})
            if stopping:
                if done < stop:
                    result.status = "budget" if over and request.signal is None else "interrupted"
                break
    result.seconds = time.perf_counter() - t0
    if request.signal is not None:
        result.signal = signal.Signals(request.signal).name
    return result


def save_atomically(state: Mapping[str, Any], path: str | os.PathLike) -> Path:
    """``torch.save(state)`` to ``path`` atomically: a temporary name beside it, flushed
    to the disk, then renamed over it; a reader sees the old file or the new one."""
    path = Path(path)
    with atomic_path(path) as tmp, tmp.open("wb") as f:
        torch.save(state, f)
        f.flush()
        os.fsync(f.fileno())
    return path
