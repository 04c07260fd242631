"""The shared training-loop skeleton (fluidgan.loop) on a scripted trainer: cadence, stop
requests, the time budget, the finite check, resume and the atomic checkpoint write."""

from __future__ import annotations

import math
import signal

import pytest
import torch

from fluidgan import loop
from fluidgan.io.faults import FileFault
from fluidgan.loop import Loop, Task, TrainingDiverged


class Script:
    """A trainer whose 'loss' after iteration k is k, recording every call in order."""

    def __init__(self, poison: dict[int, float] | None = None):
        self.done = 0
        self.poison = poison or {}
        self.calls: list[tuple[str, int]] = []

    def step(self) -> dict[str, float]:
        self.done += 1
        return {"loss": self.poison.get(self.done, float(self.done))}

    def save(self, done, metrics):
        self.calls.append(("save", done))
        return f"ckpt_{done}"

    def task(self, name, values=None):
        def run(done, metrics):
            self.calls.append((name, done))
            return values

        return run

    def at(self, name: str) -> list[int]:
        return [done for what, done in self.calls if what == name]


def loop_of(script: Script, **kw) -> Loop:
    kw.setdefault("checkpoint_every", 3)
    return Loop(step=script.step, save=script.save, **kw)


def test_cadence_of_tasks_and_checkpoints():
    s = Script()
    tasks = [
        Task(3, s.task("every3")),
        Task(3, s.task("every3_end"), at_end=True),
        Task(0, s.task("end_only"), at_end=True),
        Task(0, s.task("never")),
        Task(1, s.task("each")),
    ]
    result = loop.run(loop_of(s, tasks=tasks), 0, 7)
    assert s.at("every3") == [3, 6]
    assert s.at("every3_end") == [3, 6, 7]
    assert s.at("end_only") == [7] and s.at("never") == []
    assert s.at("each") == [1, 2, 3, 4, 5, 6, 7]
    assert s.at("save") == [3, 6, 7]
    assert result.status == "completed" and result.iterations == 7 and result.signal is None
    assert result.checkpoint == "ckpt_7" and result.metrics["loss"] == 7.0


def test_tasks_run_in_order_then_the_checkpoint_and_their_values_join_the_metrics():
    s = Script()
    seen = {}

    def save(done, metrics):
        seen[done] = dict(metrics)
        s.calls.append(("save", done))

    tasks = [Task(2, s.task("preview", {"val": 0.5})), Task(1, s.task("log"))]
    result = loop.run(Loop(step=s.step, save=save, checkpoint_every=2, tasks=tasks), 0, 2)
    assert s.calls == [("log", 1), ("preview", 2), ("log", 2), ("save", 2)]
    assert seen[2] == {"loss": 2.0, "val": 0.5} and result.metrics == seen[2]


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_during_the_updates_stops_after_that_iteration_with_its_end_tasks(sig):
    s = Script()

    def after(done, metrics):
        s.calls.append(("after", done))
        if done == 4:
            signal.raise_signal(sig)

    tasks = [Task(0, s.task("end"), at_end=True), Task(1, s.task("log"))]
    before = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)
    result = loop.run(loop_of(s, tasks=tasks, after_iteration=after, checkpoint_every=100), 0, 10)
    assert result.status == "interrupted" and result.signal == signal.Signals(sig).name
    assert result.iterations == 4 and s.done == 4
    assert s.at("end") == [4] and s.at("save") == [4] and s.at("log") == [1, 2, 3, 4]
    assert s.calls[-3:] == [("end", 4), ("log", 4), ("save", 4)]
    assert result.checkpoint == "ckpt_4"
    # restored (to whatever the test process had: SIG_IGN when started in the background)
    assert (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)) == before


def test_a_signal_during_the_tasks_stops_after_the_next_iteration():
    s = Script()

    def preview(done, metrics):
        if done == 2:
            signal.raise_signal(signal.SIGINT)

    result = loop.run(loop_of(s, tasks=[Task(2, preview)], checkpoint_every=100), 0, 10)
    assert result.status == "interrupted" and result.iterations == 3 and s.at("save") == [3]


def test_a_stop_on_the_last_iteration_completes_the_run():
    s = Script()
    after = lambda done, m: done == 3 and signal.raise_signal(signal.SIGINT)  # noqa: E731
    result = loop.run(loop_of(s, after_iteration=after), 0, 3)
    assert result.status == "completed" and result.signal == "SIGINT" and s.at("save") == [3]


def test_another_rank_asking_to_stop_stops_this_one_at_the_same_iteration():
    s = Script()
    agree = lambda flag: flag or s.done == 5  # noqa: E731 (rank 1's signal, seen via all-reduce)
    result = loop.run(loop_of(s, agree=agree), 0, 10)
    assert result.status == "interrupted" and result.signal is None
    assert result.iterations == 5 and s.at("save") == [3, 5]


def test_the_time_budget_stops_with_a_checkpoint():
    s = Script()
    end = Task(0, s.task("end"), at_end=True)
    result = loop.run(loop_of(s, tasks=[end], over_budget=lambda: s.done >= 2), 0, 10)
    assert result.status == "budget" and result.iterations == 2
    assert s.at("end") == [2] and s.at("save") == [2]


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf")])
def test_a_non_finite_metric_stops_naming_it_and_the_last_good_checkpoint(bad):
    s = Script(poison={5: bad})
    logged = []
    with pytest.raises(TrainingDiverged) as info:
        loop.run(loop_of(s, diverged=lambda done, m: logged.append((done, m["loss"]))), 0, 10)
    message = str(info.value)
    assert "\n" not in message
    assert f"loss = {bad} at iteration 5" in message and "ckpt_3" in message, message
    assert "--resume" in message
    assert s.at("save") == [3]  # the diverged state is not saved
    assert len(logged) == 1 and logged[0][0] == 5 and not math.isfinite(logged[0][1])
    assert isinstance(info.value, FloatingPointError)


def test_a_divergence_before_the_first_save_says_so_or_names_the_resumed_checkpoint():
    s = Script(poison={1: float("nan")})
    with pytest.raises(TrainingDiverged, match="none was written yet"):
        loop.run(loop_of(s), 0, 10)
    s = Script(poison={5: float("nan")})
    s.done = 3
    with pytest.raises(TrainingDiverged, match=r"at iteration 5; .* runs/x/ckpt_3"):
        loop.run(loop_of(s, checkpoint_every=100), 3, 10, checkpoint="runs/x/ckpt_3")


def test_resume_continues_the_count_and_the_cadence():
    s = Script()
    s.done = 4
    every = Task(3, s.task("every3"))
    result = loop.run(loop_of(s, tasks=[every]), 4, 9)
    assert s.at("every3") == [6, 9] and s.at("save") == [6, 9]
    assert result.iterations == 9 and result.start == 4
    assert result.seconds_per_iteration == pytest.approx(result.seconds / 5)
    assert loop.run(loop_of(Script()), 9, 9).iterations == 9  # nothing left to do


def test_save_atomically_keeps_the_old_file_when_writing_fails(tmp_path, monkeypatch):
    path = tmp_path / "checkpoint.pt"
    loop.save_atomically({"iteration": 1}, path)
    assert torch.load(path, weights_only=True) == {"iteration": 1}

    def broken(obj, f):
        f.write(b"half a checkpoint")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(torch, "save", broken)
    with pytest.raises(FileFault, match="checkpoint.pt: disk full"):
        loop.save_atomically({"iteration": 2}, path)
    monkeypatch.undo()
    assert torch.load(path, weights_only=True) == {"iteration": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["checkpoint.pt"]
