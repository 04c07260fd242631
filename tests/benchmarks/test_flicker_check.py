"""``benchmarks/flicker_check.py``: the jittered truth, and the check on a sequence whose
detail the flow carries exactly."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
from scripts import load_script

from fluidgan.evaluation.temporal import detail_band
from fluidgan.io.simfile import SimMeta, SimWriter

check = load_script("flicker_check")

N, FACTOR, FRAMES, SPEED = 64, 4, 8, 2  # SPEED whole cells per frame along x: exact warps
Y, X = np.meshgrid(np.arange(N) + 0.5, np.arange(N) + 0.5, indexing="ij")


def frame(t: int) -> np.ndarray:
    """Smoke (a smooth blob) with fine detail inside it, all moving +x by SPEED cells."""
    x = X - SPEED * t
    blob = np.exp(-((x - 24) ** 2 + (Y - 30) ** 2) / (2 * 9.0**2))
    texture = np.cos(2 * np.pi * x / 3.0) * np.cos(2 * np.pi * Y / 3.5)
    return (blob * (0.6 + 0.2 * texture)).astype(np.float32)


def write_sim(root: Path) -> Path:
    root.mkdir()
    high, low = (N, N), (N // FACTOR, N // FACTOR)
    velocity = np.zeros((*high, 2), np.float32)
    velocity[..., 0] = SPEED
    with SimWriter(
        root / "sim_00000.h5", SimMeta(dim=2, factor=FACTOR, dt=1.0, seed=0), FRAMES, high, low
    ) as w:
        for t in range(FRAMES):
            density = frame(t)
            w.write_frame(
                float(t),
                **{
                    "high/density": density,
                    "high/velocity": velocity,
                    "low/density": density.reshape(low[0], FACTOR, low[1], FACTOR).mean((1, 3)),
                    "low/velocity": velocity[::FACTOR, ::FACTOR] / FACTOR,
                },
            )
    (root / "manifest.json").write_text(
        json.dumps({"sims": [{"file": "sim_00000.h5", "status": "complete"}]})
    )
    return root


def test_jitter_rolls_each_frames_detail_by_its_own_nonzero_shift():
    seq = np.stack([frame(t) for t in range(4)]).astype(np.float64)
    cutoff = N / (2 * FACTOR)
    out = check.jittered(seq, cutoff, reach=2, seed=5)
    band = detail_band(seq, cutoff, 2)
    found = []
    for t in range(len(seq)):
        moved = out[t] - (seq[t] - band[t])
        shifts = [
            (dy, dx)
            for dy in range(-2, 3)
            for dx in range(-2, 3)
            if np.allclose(moved, np.roll(band[t], (dy, dx), (0, 1)), atol=1e-9)
        ]
        assert len(shifts) == 1 and 0 not in shifts[0], (t, shifts)
        found.append(shifts[0])
    assert len(set(found)) > 1  # drawn per frame


def test_the_truth_passes_and_jitter_fails_on_carried_detail(tmp_path, capsys):
    data = write_sim(tmp_path / "test")
    assert check.main(["--test", str(data), "--split", "4"]) == 0
    rows = {}
    out = capsys.readouterr().out
    for line in out.splitlines():
        cells = [c.strip() for c in line.strip("|").split("|")]
        if len(cells) == 4 and cells[0] in check.MEASURES:
            rows[(cells[0], cells[1])] = cells[2:]
    for measure in check.MEASURES:
        for part in rows[(measure, "truth: raw → warped")]:
            raw, warped = map(float, re.findall(r"[\d.]+", part))
            assert warped < 0.05 and raw > 0.5  # the flow carries the truth's detail exactly
        assert all(float(r) > 10 for r in rows[(measure, "jitter1 / truth")])
    # the speed table: the truth's detail is carried by the whole flow, not half of it
    truth_speeds = next(line for line in out.splitlines() if line.startswith("| truth |"))
    for cell in truth_speeds.strip("|").split("|")[1:]:
        still, half, whole = map(float, cell.split("·"))
        assert whole < 0.05 and min(half, still) > 0.5


def test_a_missing_dataset_is_one_line_and_exit_2(tmp_path, capsys):
    assert check.main(["--test", str(tmp_path / "none")]) == 2
    err = capsys.readouterr().err.strip()
    assert err == f"error: {tmp_path / 'none'}: no such dataset directory"
