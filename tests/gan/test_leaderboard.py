"""The leaderboard's convergence protocol: the plateau rule by hand, and a --quick run
that writes curves, the table and its samples."""

from __future__ import annotations

import importlib.util
import json
import sys

import pytest

from fluidgan.config import CONFIG_DIR


@pytest.fixture
def board(monkeypatch):
    path = CONFIG_DIR.parent / "benchmarks" / "gan_leaderboard.py"
    spec = importlib.util.spec_from_file_location("gan_leaderboard", path)
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "gan_leaderboard", module)  # dataclasses look it up
    spec.loader.exec_module(module)
    return module


def test_plateau_rule(board):
    falling = [400.0, 200.0, 100.0, 60.0]
    assert not board.plateaued(falling, patience=2, tol=0.05)  # 60 < 0.95 * 200
    flat = [400.0, 100.0, 98.0, 97.0]  # best of the last 2 (97) vs best before (100): 3 %
    assert board.plateaued(flat, patience=2, tol=0.05)
    assert not board.plateaued(flat, patience=2, tol=0.02)
    assert not board.plateaued([100.0, 101.0], patience=2, tol=0.05)  # too few points
    worse = [100.0, 120.0, 130.0]
    assert board.plateaued(worse, patience=2, tol=0.0)


def test_quick_convergence_run_writes_curves_and_the_table(board, tmp_path):
    docs = tmp_path / "docs"
    args = ["--converge", "--quick", "--variants", "mmgan", "--seeds", "0,1"]
    board.main([*args, "--runs", str(tmp_path / "runs"), "--docs", str(docs)])
    saved = json.loads((docs / "gan" / "convergence.json").read_text())
    curves = saved["curves"]
    assert [c["seed"] for c in curves] == [0, 1]
    for c in curves:
        assert c["iterations"][0] == 2 and c["iterations"][-1] <= 6
        assert len(c["fid"]) == len(c["iterations"]) and all(f > 0 for f in c["fid"])
        assert c["status"] in ("plateau", "max_iterations")
        stopped_early = c["iterations"][-1] < 6
        assert stopped_early == (c["status"] == "plateau")
    assert (docs / "gan" / "converged" / "curves.png").is_file()
    assert (docs / "gan" / "converged" / "mmgan.png").is_file()
    lines = board.convergence_lines(saved)
    row = next(line for line in lines if line.startswith("| mmgan |"))
    assert "| 2 |" in row and "±" in row
