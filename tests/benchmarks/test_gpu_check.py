"""``benchmarks/gpu_check.py``: the batches it feeds the trainer, the cells it charges an
upscaled frame, its extrapolation, its failure rows, and (slow) the whole ``--quick`` run."""

from __future__ import annotations

import importlib.util
import json
import math
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
import torch

from fluidgan.train import distributed
from fluidgan.train.loop import ModelSpec, Trainer

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "benchmarks" / "gpu_check.py"
TRAINING = ["paper2d", "paper3d", "fast2d", "fast3d", "fast3d_paper_size"]
UPSCALING = ["paper", "paper_default_budget", "fast"]
CPU = torch.device("cpu")


def load_script():
    spec = importlib.util.spec_from_file_location("gpu_check", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules["gpu_check"] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


gpu_check = load_script()


def test_paper3d_case_is_the_papers_size():
    cfg = gpu_check.train_config(gpu_check.CASES["paper3d"], quick=False)
    assert (cfg.batch_size, cfg.data.tile * gpu_check.FACTOR) == (16, 64)
    assert (cfg.optim.k_ds, cfg.optim.k_dt, cfg.optim.k_g) == (2, 2, 2)
    assert cfg.model.generator == "tempogan"
    for name in ("fast2d", "fast3d", "fast3d_paper_size"):
        assert gpu_check.train_config(gpu_check.CASES[name], quick=False).model.generator == "fast"


def test_iteration_batches_are_what_one_iteration_consumes():
    # paper2d: 2 D_s + 2 G spatial batches of 16 tiles; 2 D_t + 2 G batches of 5 triplets.
    cfg = gpu_check.train_config(gpu_check.CASES["paper2d"], quick=False)
    spec = ModelSpec(2, 4, 4, "rho+v+w")
    batches = gpu_check.iteration_batches(spec, cfg, CPU)
    assert len(batches.spatial) == 4 and len(batches.temporal) == 4
    spatial, temporal = batches.spatial[0], batches.temporal[0]
    assert spatial["low"].shape == (16, 4, 16, 16)
    assert spatial["high"].shape == (16, 1, 64, 64)
    assert spatial["low_velocity"].shape == (16, 2, 16, 16)
    assert temporal["low"].shape == (5, 3, 4, 16, 16)
    assert temporal["high"].shape == (5, 3, 1, 64, 64)
    assert temporal["low_velocity"].shape == (5, 3, 2, 16, 16)
    # With the L2 temporal loss there is no D_t: the G updates' triplets only.
    l2 = replace(cfg, ablation=replace(cfg.ablation, temporal="l2"))
    assert len(gpu_check.iteration_batches(spec, l2, CPU).temporal) == 2
    off = replace(cfg, ablation=replace(cfg.ablation, temporal="off"))
    assert gpu_check.iteration_batches(spec, off, CPU).temporal == []


def test_trainer_takes_the_synthetic_batches():
    cfg = gpu_check.train_config(gpu_check.CASES["fast2d"], quick=True)
    spec = ModelSpec(2, 4, 4, cfg.data.channels)
    trainer = Trainer(cfg, spec, distributed.setup("cpu"))
    losses = trainer.iteration(gpu_check.iteration_batches(spec, cfg, CPU))
    assert {"d_s/loss", "d_t/loss", "g/loss", "g/adv_t"} <= set(losses)
    assert all(math.isfinite(float(v)) for v in losses.values())


def test_processed_cells_count_the_tile_overlap():
    generator, _ = gpu_check.upscale_generator("paper3d")
    low = (64, 64, 64)
    # 60 GB: the whole 256³ frame would hold more than 2³¹ values per activation, so the
    # plan caps the pass at 8 GiB: tiles of 40 (windows at 0 and 24 on each axis)
    capped = gpu_check.plan_passes(low, generator, 60 * 1024)
    assert (capped.mode, capped.tile, capped.overlap) == ("tiled", 40, 4)
    assert gpu_check.processed_cells(capped, low) == 8 * 40**3 * 4**3
    fast, _ = gpu_check.upscale_generator("fast3d")
    whole = gpu_check.plan_passes(low, fast, 60 * 1024)
    assert whole.mode == "whole"
    assert gpu_check.processed_cells(whole, low) == 256**3
    # 4 GB: tiles of 31 cells, overlap 4 (the receptive halo); windows start at 0, 23 and
    # 33 on each axis: 27 tiles of 31³ low-res cells, each 4³ high-res cells per cell.
    tiled = gpu_check.plan_passes(low, generator, 4 * 1024)
    assert (tiled.mode, tiled.tile, tiled.overlap) == ("tiled", 31, 4)
    assert gpu_check.processed_cells(tiled, low) == 27 * 31**3 * 4**3


def test_slow_frames_are_extrapolated_from_one_batch_of_tiles():
    # 0.1 GB fits tiles of 9 low-res cells of the paper generator (2076 B per high-res
    # cell), one per pass; a 12³ frame takes 4 windows per axis, 64 tiles. A limit of
    # 1 µs forces the extrapolation: the frame itself is never run.
    settings = replace(gpu_check.QUICK, low_res=12, upscale_limit=1e-6)
    row = gpu_check.measure_upscaling("paper", "paper3d", 0.1, CPU, settings)
    assert row["status"] == "ok", row
    assert row["plan"] == "tiles of 9 low-res cells, overlap 4, 1 per pass"
    assert row["timing"] == "extrapolated from 1 tile(s) of 9³ low-res cells"
    assert row["frame"] == "12³ -> 48³"
    assert row["seconds_per_frame"] > 0 and math.isfinite(row["gflops_per_second"])
    assert row["mflop_per_cell"] == pytest.approx(7.22, rel=1e-3)


def test_failures_become_rows_not_crashes():
    def oom():
        raise torch.cuda.OutOfMemoryError("CUDA out of memory")

    def broken():
        raise ValueError("bad shape\nsecond line")

    assert gpu_check.guarded(CPU, oom) == {"status": "OOM"}
    assert gpu_check.guarded(CPU, broken) == {
        "status": "error",
        "note": "ValueError: bad shape",
    }
    assert gpu_check.guarded(CPU, lambda: {"x": 1.0}) == {"status": "ok", "x": 1.0}
    assert gpu_check.value({"status": "OOM"}, "iterations_per_second") == "OOM"
    assert gpu_check.value({"status": "ok", "x": 0.012345}, "x") == "0.0123"


@pytest.mark.parametrize(
    "argv",
    [["--cases", "paper2d,nope"], ["--iterations", "0"], ["--memory-gb", "-1"]],
)
def test_bad_options_exit_2_naming_the_option(tmp_path, argv, capsys):
    assert gpu_check.main(["--quick", "--out", str(tmp_path), *argv]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and argv[0] in err
    assert not (tmp_path / "gpu_check.json").exists()


def positive(x) -> bool:
    return isinstance(x, (int, float)) and math.isfinite(x) and x > 0


@pytest.mark.slow
def test_quick_run_reports_every_case(tmp_path):
    out = tmp_path / "check"
    subprocess.run(
        [sys.executable, str(SCRIPT), "--quick", "--out", str(out)],
        check=True,
        cwd=tmp_path,
        capture_output=True,
        timeout=300,
    )
    report = json.loads((out / "gpu_check.json").read_text())
    assert report["quick"] is True and report["device"]["device"] == "cpu"
    training = {r["case"]: r for r in report["training"]}
    assert list(training) == TRAINING
    for r in training.values():
        assert r["status"] == "ok", r
        assert positive(r["iterations_per_second"]) and positive(r["seconds_per_iteration"])
        assert r["iterations_per_second"] * r["seconds_per_iteration"] == pytest.approx(1.0)
        assert r["peak_memory_bytes"] >= 0  # RSS growth on a CPU: 0 when below an earlier peak
    upscaling = {r["case"]: r for r in report["upscaling"]}
    assert list(upscaling) == UPSCALING
    for r in upscaling.values():
        assert r["status"] == "ok", r
        assert positive(r["seconds_per_frame"]) and positive(r["gflops_per_second"])
        assert positive(r["mflop_per_cell"]) and r["timing"] == "measured"
    # The fast generator's reason to exist: far fewer FLOPs per output cell in 3D.
    assert upscaling["paper"]["mflop_per_cell"] > 30 * upscaling["fast"]["mflop_per_cell"]
    inception = report["inception"]
    assert inception["status"] in ("ok", "missing", "skipped"), inception
    if inception["status"] == "ok":
        assert positive(inception["images_per_second"]) and inception["images"] == 8
    assert positive(report["seconds"])

    table = (out / "gpu_check.md").read_text()
    rows = [line for line in table.splitlines() if line.startswith("| ")]
    for name in TRAINING + UPSCALING + ["inception"]:
        assert any(row.startswith(f"| {name} |") for row in rows), name
    assert "not a measurement" in table
