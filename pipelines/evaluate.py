"""Stage ``evaluate``: a super-resolved simulation against its high-res ground truth.

``prediction`` is a simulation file with an ``/sr`` group (written by ``fluidgan upscale``)
and the ``/low`` input it was made from; ``reference`` the simulation with the ground
truth ``/high``. Frames are paired by their time (a prediction of a frame range is
fine). The baselines upsample the prediction file's ``/low`` density -- the model's own
input. Without an ``/sr`` group only the baselines are evaluated (``prediction`` may then
be the reference file itself).

Writes into ``out_dir``: ``metrics.json``, ``report.md``, ``spectra.png``, ``temporal.png``,
``preview.png`` and the resolved ``config.toml``.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from fluidgan import __version__
from fluidgan.config import save_toml, to_dict
from fluidgan.errors import UserError
from fluidgan.evaluation.baselines import BASELINES, check_baselines, upsample
from fluidgan.evaluation.fid import fid_scores, slices_per_frame
from fluidgan.evaluation.report import write_report
from fluidgan.evaluation.sequence import MetricSettings, SequenceEvaluator
from fluidgan.evaluation.spectra import band_energy, nyquist, radial_power_spectrum
from fluidgan.evaluation.temporal import SMOKE_WARP_ORDER
from fluidgan.io.faults import faults_named
from fluidgan.io.simfile import open_sim

MODEL = "model"
CONFIG = "config.toml"


@dataclass
class EvaluateConfig:
    """``fluidgan evaluate``: which methods, which constants (all stated in the report).

    ``data_range``: L of PSNR/SSIM and of the 8-bit quantisation for FID (density units);
    ``smoke_threshold``: ground-truth density above which a cell is smoke (masked PSNR);
    ``ssim_sigma``: Gaussian SSIM window in cells; ``warp_order``: 1 semi-Lagrangian,
    2 MacCormack; ``smoke_warp_order``: the same for the detail incoherence in smoke
    (default 2, the solver's own scheme); ``fid_features``: ``inception`` or
    ``domain:NAME``; ``fid_max_images``: about this many density slices per method.
    """

    baselines: list[str] = field(default_factory=lambda: list(BASELINES))
    data_range: float = 1.0
    smoke_threshold: float = 0.01
    ssim_sigma: float = 1.5
    warp_order: int = 1
    smoke_warp_order: int = SMOKE_WARP_ORDER
    fid: bool = True
    fid_features: str = "inception"
    fid_max_images: int = 1000
    device: str = "cpu"

    def __post_init__(self):
        if self.data_range <= 0:
            raise ValueError(f"data_range must be > 0, got {self.data_range}")
        if self.ssim_sigma <= 0:
            raise ValueError(f"ssim_sigma must be > 0, got {self.ssim_sigma}")
        for key in ("warp_order", "smoke_warp_order"):
            if getattr(self, key) not in (1, 2):
                raise ValueError(f"{key} must be 1 or 2, got {getattr(self, key)}")
        if self.fid_max_images < 2:
            raise ValueError(f"fid_max_images must be >= 2, got {self.fid_max_images}")
        check_baselines(self.baselines)

    def metric_settings(self) -> MetricSettings:
        return MetricSettings(
            data_range=self.data_range,
            smoke_threshold=self.smoke_threshold,
            ssim_sigma=self.ssim_sigma,
            warp_order=self.warp_order,
            smoke_warp_order=self.smoke_warp_order,
        )


def pair_frames(
    pred_time: np.ndarray, ref_time: np.ndarray, prediction: Path
) -> list[tuple[int, int]]:
    """(prediction index, reference index) of every prediction frame, matched by time."""
    pairs = []
    for i, t in enumerate(pred_time):
        match = np.flatnonzero(np.isclose(ref_time, t, rtol=1e-9, atol=1e-9))
        if match.size == 0:
            raise UserError(f"{prediction}: frame {i} at time {t:g} is not in the reference")
        pairs.append((i, int(match[0])))
    return pairs


def check_pairing(fp, fr, prediction: Path, reference: Path, first: tuple[int, int]) -> None:
    """Same dimension, factor and grids; the same low-res input (else the files are unrelated)."""
    for key in ("dim", "factor"):
        if int(fp.attrs[key]) != int(fr.attrs[key]):
            raise UserError(
                f"{prediction}: {key} {int(fp.attrs[key])} differs from the reference's "
                f"{int(fr.attrs[key])} ({reference})"
            )
    low_p, low_r = fp["low/density"].shape[1:], fr["low/density"].shape[1:]
    if low_p != low_r:
        raise UserError(f"{prediction}: /low grid {low_p} differs from the reference's {low_r}")
    high = fr["high/density"].shape[1:]
    if "sr" in fp and fp["sr/density"].shape[1:] != high:
        raise UserError(
            f"{prediction}: /sr grid {fp['sr/density'].shape[1:]} differs from the reference's "
            f"/high grid {high}"
        )
    a, b = fp["low/density"][first[0]], fr["low/density"][first[1]]
    if not np.allclose(a, b, rtol=1e-4, atol=1e-5):
        raise UserError(
            f"{prediction}: /low density differs from the reference's at time "
            f"{fr['time'][first[1]]:g}; was it upscaled from {reference.name}?"
        )


def evaluate(
    prediction: str | os.PathLike,
    reference: str | os.PathLike,
    out_dir: str | os.PathLike,
    baselines: list[str] | None = None,
    fid: bool | None = None,
    *,
    config: EvaluateConfig | None = None,
    progress: bool = False,
) -> dict[str, Any]:
    """Evaluate, write the report into ``out_dir``, return the metrics (as in metrics.json).

    ``baselines`` and ``fid`` override ``config`` when given.
    """
    config = config or EvaluateConfig()
    overrides = {k: v for k, v in (("baselines", baselines), ("fid", fid)) if v is not None}
    config = dataclasses.replace(config, **overrides)
    prediction, reference, out = Path(prediction), Path(reference), Path(out_dir)
    with open_sim(prediction) as fp, open_sim(reference) as fr:
        pairs = pair_frames(fp["time"][:], fr["time"][:], prediction)
        check_pairing(fp, fr, prediction, reference, pairs[0])
        dim, factor = int(fr.attrs["dim"]), int(fr.attrs["factor"])
        methods = ([MODEL] if "sr" in fp else []) + list(config.baselines)
        if not methods:
            raise UserError(f"{prediction}: has no /sr group and no baselines were asked for")
        evaluator = SequenceEvaluator(
            methods, factor, config.metric_settings(), fid_slices(fr, len(pairs), config)
        )
        add_frames(evaluator, fp, fr, pairs, methods, factor, progress)
        result = evaluator.result()
        out.mkdir(parents=True, exist_ok=True)
        shown = most_detailed(fr, pairs, factor)
        preview = write_preview(fp, fr, shown, methods, factor, out / "preview.png")
    metrics = {
        **report_header(prediction, reference, dim, factor, config),
        **result,
        "fid": run_fid(evaluator, config) if config.fid else {"status": "disabled"},
    }
    with faults_named(out, lambda: "the report is incomplete", "rerun the same command"):
        save_toml(to_dict(config), out / CONFIG)
        write_report(out, metrics, [("preview", preview)])
    return metrics


def report_header(
    prediction: Path, reference: Path, dim: int, factor: int, config: EvaluateConfig
) -> dict[str, Any]:
    """What metrics.json starts with: its format, the files compared, the settings."""
    return {
        "format": "fluidgan.evaluation",
        "format_version": 1,
        "fluidgan_version": __version__,
        "prediction": str(prediction),
        "reference": str(reference),
        "dim": dim,
        "factor": factor,
        "settings": to_dict(config),
    }


def fid_slices(fr, frames: int, config: EvaluateConfig) -> int | None:
    """Density slices per frame for FID (about ``fid_max_images`` in all); None: no FID."""
    if not config.fid:
        return None
    depth = fr["high/density"].shape[1] if int(fr.attrs["dim"]) == 3 else 1
    return slices_per_frame(frames, depth, config.fid_max_images)


def add_frames(
    evaluator: SequenceEvaluator, fp, fr, pairs, methods: list[str], factor: int, progress: bool
) -> None:
    """Every paired frame into ``evaluator``: each method's prediction, the ground truth,
    the low-res input, and the model's velocity when it predicts one (not all zeros)."""
    from tqdm.auto import tqdm

    sr_velocity = "sr" in fp and bool(np.any(fp["sr/velocity"][pairs[0][0]]))
    previous = None
    for i, j in tqdm(pairs, desc="evaluate", unit="frame", disable=not progress, leave=False):
        evaluator.add(
            float(fr["time"][j]),
            fr["high/density"][j],
            frame_predictions(fp, i, methods, factor),
            fp["low/density"][i],
            fr["high/velocity"][j],
            low_velocity=fp["low/velocity"][i],
            pred_velocity={MODEL: fp["sr/velocity"][i]} if sr_velocity else None,
            follows=previous is not None and j == previous + 1,
        )
        previous = j


def frame_predictions(fp, index: int, methods: list[str], factor: int) -> dict[str, np.ndarray]:
    """Every method's high-res density of prediction frame ``index``."""
    low = fp["low/density"][index]
    return {
        name: fp["sr/density"][index] if name == MODEL else upsample(low, factor, name)
        for name in methods
    }


def most_detailed(fr, pairs: list[tuple[int, int]], factor: int, candidates: int = 16):
    """The pair whose ground-truth frame has the most density energy above the low-res
    Nyquist wavenumber, among ``candidates`` evenly spread pairs: the frame where the
    detail a model should add is there to see (a rising plume: late, once it has left
    the inflow; a decaying one: early)."""
    picks = sorted({round(float(p)) for p in np.linspace(0, len(pairs) - 1, candidates)})
    cutoff = nyquist(tuple(fr["high/density"].shape[1:])) / factor

    def detail(k: int) -> float:
        return band_energy(radial_power_spectrum(fr["high/density"][pairs[k][1]]), cutoff)

    return pairs[max(picks, key=detail)]


def write_preview(
    fp, fr, pair: tuple[int, int], methods: list[str], factor: int, path: Path
) -> Path:
    """low | baselines | model | high density of one frame, side by side."""
    from fluidgan.io.preview import column, preview_png

    i, j = pair
    predictions = frame_predictions(fp, i, methods, factor)
    order = [m for m in methods if m != MODEL] + [m for m in methods if m == MODEL]
    columns = [column("low", [fp["low/density"][i]])]
    columns += [column(name, [predictions[name]]) for name in order]
    columns.append(column("high", [fr["high/density"][j]]))
    return preview_png(columns, [float(fr["time"][j])], path)


def run_fid(evaluator: SequenceEvaluator, config: EvaluateConfig) -> dict[str, Any]:
    """FID/KID of every method on density slices, or why it was skipped (never a fake value)."""
    real, fakes = evaluator.fid_images()
    if real.shape[0] < 2:
        return {
            "status": "skipped",
            "reason": f"only {real.shape[0]} density slice(s); FID needs >= 2",
        }
    try:
        scores = fid_scores(real, fakes, config.fid_features, config.device)
    except UserError as e:
        return {"status": "skipped", "reason": str(e)}
    return {"status": "ok", **scores}
