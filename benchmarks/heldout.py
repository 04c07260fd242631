"""The held-out protocol of docs/TRAINING.md, shared by ``ablation.py`` and ``make_pretrained.py``.

Data: the randomised 2D training scene at 256² high res / 64² low res, 120 frames per
simulation; training set ``--sims 10 --seed 1``, held-out test set ``--sims 2 --seed 1001``
(other seeds: scenes the model never saw). A checkpoint is scored by upscaling every frame
of each held-out simulation (whole frames) and ``fluidgan evaluate --no-fid`` against the
ground truth; the numbers of the ``model`` row are kept, averaged over the simulations.

Each dataset is written once and reused (``fluidgan simulate`` resumes and skips complete
files); each score is cached beside its checkpoint, keyed by the checkpoint's sha256.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from fluidgan.errors import UserError


@dataclass(frozen=True)
class DataSpec:
    """A ``fluidgan simulate`` call: scene preset, dimension, high-res edge, sims, frames, seed."""

    scene: str = "training"
    dim: int = 2
    res: int = 256
    sims: int = 10
    frames: int = 120
    seed: int = 1

    def command(self, out: str | os.PathLike) -> str:
        return (
            f"fluidgan simulate --scene {self.scene} --dim {self.dim} --res {self.res} "
            f"--sims {self.sims} --frames {self.frames} --seed {self.seed} --out {out}"
        )


TRAIN = DataSpec(sims=10, seed=1)
TEST = DataSpec(sims=2, seed=1001)
QUICK_TRAIN = DataSpec(res=64, sims=2, frames=8, seed=1)
QUICK_TEST = DataSpec(res=64, sims=1, frames=6, seed=1001)

# (key of the evaluation's method metrics, column header, better): the study's columns
METRICS = (
    ("hf_energy_fraction", "HF energy", "→1"),
    ("lsd", "LSD dB", "↓"),
    ("psnr", "PSNR dB", "↑"),
    ("ssim", "SSIM", "↑"),
    ("warping_error_ratio", "warp ratio", "→1"),
    ("frame_difference_error", "Δt error", "↓"),
    ("flicker_ratio", "flicker", "→1"),
    ("detail_incoherence_ratio", "detail incoherence", "→1"),
    ("smoke_detail_incoherence_ratio", "incoherence in smoke", "→1"),
)
BASELINES = ("cubic", "linear")
SCORE = "score.json"


def ensure_dataset(spec: DataSpec, out: str | os.PathLike, workers: int = 1) -> Path:
    """Simulate ``spec`` into ``out`` unless it is complete there already; returns ``out``."""
    from pipelines.simulate import resolve_config, simulate

    config = resolve_config(
        scene=spec.scene,
        dim=spec.dim,
        res=[spec.res],
        sims=spec.sims,
        frames=spec.frames,
        seed=spec.seed,
    )
    simulate(config, out, workers=workers, progress=False)
    return Path(out)


def test_files(test_dir: str | os.PathLike) -> list[Path]:
    from fluidgan.data import list_sims

    files = list_sims(test_dir)
    if not files:
        raise UserError(f"{test_dir}: no held-out simulation files")
    return files


def file_sha256(path: str | os.PathLike) -> str:
    from fluidgan.pretrained import sha256_of

    return sha256_of(path)


def mean_metrics(per_sim: dict[str, dict[str, Any]]) -> dict[str, float]:
    """The mean over simulations of every numeric metric (NaN when one is missing)."""
    keys = sorted({k for m in per_sim.values() for k in m})
    out = {}
    for key in keys:
        values = [m.get(key) for m in per_sim.values()]
        numbers = [float(v) if isinstance(v, (int, float)) else np.nan for v in values]
        out[key] = float(np.mean(numbers))
    return out


def score_checkpoint(
    checkpoint: str | os.PathLike,
    test_dir: str | os.PathLike,
    out_dir: str | os.PathLike,
    device: str = "auto",
    keep_frames: tuple[int, int] | None = None,
    weights: str = "ema",
) -> dict[str, Any]:
    """Upscale and evaluate every held-out simulation with ``checkpoint`` (``weights``:
    its EMA generator when it has one, or ``raw``: G itself).

    Writes ``out_dir/<sim>/`` (the evaluation report) and ``out_dir/score.json``; the
    upscaled files are deleted once evaluated (120 frames of 256² are ~190 MB each), but
    frames ``keep_frames = (first, count)`` of the first simulation's generated density
    are kept as ``out_dir/frames.npz`` (for time strips). A rerun with an unchanged
    checkpoint (same sha256) returns the cached score, unless the score lacks a column
    of :data:`METRICS` (written before the evaluation gained it).

    Returns ``{"checkpoint", "sha256", "sims": {name: model metrics}, "mean": {...},
    "spectra": {name: {"reference", "model", "k_low_nyquist"}}}``.
    """
    from pipelines.evaluate import EvaluateConfig, evaluate
    from pipelines.upscale import UpscaleConfig, upscale

    out = Path(out_dir)
    digest = file_sha256(checkpoint)
    cached = read_score(out)
    if (
        cached
        and has_every_metric(cached.get("mean", {}))
        and cached.get("sha256") == digest
        and cached.get("keep_frames") == (list(keep_frames) if keep_frames else None)
        and cached.get("weights", "ema") == weights
    ):
        return cached
    result: dict[str, Any] = {
        "checkpoint": str(checkpoint),
        "sha256": digest,
        "weights": weights,
        "sims": {},
    }
    spectra = {}
    files = test_files(test_dir)
    for index, sim in enumerate(files):
        name = sim.stem
        predicted = out / f"{name}.sr.h5"
        upscale(checkpoint, sim, predicted, UpscaleConfig(device=device, weights=weights))
        if index == 0 and keep_frames is not None:
            save_frames(predicted, sim, keep_frames, out / "frames.npz")
        metrics = evaluate(
            predicted, sim, out / name, baselines=[], fid=False, config=EvaluateConfig()
        )
        predicted.unlink()
        for extra in out.glob(f"{name}.sr*"):  # the upscale config beside it
            extra.unlink()
        result["sims"][name] = metrics["methods"]["model"]
        spectra[name] = density_spectra(metrics, "model")
    result["mean"] = mean_metrics(result["sims"])
    result["spectra"] = spectra
    result["keep_frames"] = list(keep_frames) if keep_frames else None
    write_score(out, result)
    return result


def score_baselines(test_dir: str | os.PathLike, out_dir: str | os.PathLike) -> dict[str, Any]:
    """Interpolation baselines on the held-out simulations: {baseline: {"sims", "mean"}}
    and the reference spectra; cached in ``out_dir/score.json``."""
    from pipelines.evaluate import evaluate

    out = Path(out_dir)
    cached = read_score(out)
    files = test_files(test_dir)
    if (
        cached
        and cached.get("files") == [f.name for f in files]
        and all(has_every_metric(m["mean"]) for m in cached["methods"].values())
    ):
        return cached
    per: dict[str, dict[str, Any]] = {b: {} for b in BASELINES}
    spectra = {}
    for sim in files:
        metrics = evaluate(sim, sim, out / sim.stem, baselines=list(BASELINES), fid=False)
        for b in BASELINES:
            per[b][sim.stem] = metrics["methods"][b]
        spectra[sim.stem] = {b: density_spectra(metrics, b) for b in BASELINES}
    result = {
        "files": [f.name for f in files],
        "methods": {b: {"sims": per[b], "mean": mean_metrics(per[b])} for b in BASELINES},
        "spectra": spectra,
    }
    write_score(out, result)
    return result


def density_spectra(metrics: dict[str, Any], method: str) -> dict[str, Any]:
    spectra = metrics["spectra"]
    return {
        "reference": spectra["density"]["reference"],
        "method": spectra["density"][method],
        "k_low_nyquist": spectra["k_low_nyquist"],
    }


def save_frames(predicted: Path, reference: Path, keep: tuple[int, int], path: Path) -> None:
    """Frames ``keep = (first, count)`` of the generated and true density, and the low-res
    input, as ``path`` (npz: sr, high, low, time)."""
    from fluidgan.io.simfile import open_sim

    first, count = keep
    with open_sim(predicted) as fp, open_sim(reference) as fr:
        frames = slice(first, first + count)
        np.savez_compressed(
            path,
            sr=fp["sr/density"][frames],
            high=fr["high/density"][frames],
            low=fr["low/density"][frames],
            time=fr["time"][frames],
        )


def has_every_metric(mean: dict[str, Any]) -> bool:
    """A cached score holds every column of the study (else it predates one: rescore)."""
    return all(key in mean for key, _, _ in METRICS)


def read_score(out: Path) -> dict[str, Any] | None:
    path = out / SCORE
    return json.loads(path.read_text()) if path.is_file() else None


def write_score(out: Path, result: dict[str, Any]) -> None:
    from fluidgan.evaluation.report import write_json

    out.mkdir(parents=True, exist_ok=True)
    write_json(out / SCORE, result)
