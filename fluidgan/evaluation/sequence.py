"""All metrics of a sequence, accumulated frame by frame (a 3D sequence need not fit in memory).

:class:`SequenceEvaluator` takes one frame at a time -- the ground truth, each method's
prediction on the high-res grid, the low-res input and the velocities -- and keeps running
sums, so the pooled numbers equal those of :mod:`.fields`, :mod:`.spectra` and
:mod:`.temporal` applied to the whole sequences (tested). Methods are the model and the
baselines alike: anything predicting the high-res density.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from fluidgan.evaluation.fid import density_slices
from fluidgan.evaluation.fields import SSIM_SIGMA, local_moments, psnr_from_mse, smoke_mask, ssim
from fluidgan.evaluation.histogram import bin_edges, density_histogram, histogram_emd
from fluidgan.evaluation.spectra import (
    band_energy,
    energy_fraction_above,
    kinetic_energy_spectrum,
    log_spectral_distance,
    nyquist,
    radial_power_spectrum,
)
from fluidgan.evaluation.temporal import SMOKE_WARP_ORDER, advect_frames, detail_band

REFERENCE = "reference"


@dataclass(frozen=True)
class MetricSettings:
    """Fixed constants of the metrics (stated in every report).

    ``data_range`` L of PSNR/SSIM/FID quantisation (density units); ``smoke_threshold``:
    ground-truth density above which a cell counts as smoke; ``ssim_sigma`` of the
    Gaussian SSIM window (cells); ``warp_order`` of the advection (1 semi-Lagrangian,
    2 MacCormack); ``smoke_warp_order`` of the smoke detail incoherence's warp.
    """

    data_range: float = 1.0
    smoke_threshold: float = 0.01
    ssim_sigma: float = SSIM_SIGMA
    warp_order: int = 1
    smoke_warp_order: int = SMOKE_WARP_ORDER


@dataclass
class Track:
    """Running sums of one density sequence (a method, or the reference itself)."""

    sse: float = 0.0
    sse_smoke: float = 0.0
    ssim: list[float] = field(default_factory=list)
    spectrum: np.ndarray | None = None
    diff_sse: float = 0.0  # Σ ‖Δpred − Δref‖²
    mean_abs_dt: list[float] = field(default_factory=list)
    warp: list[float] = field(default_factory=list)
    slices: list[np.ndarray] = field(default_factory=list)
    prev: np.ndarray | None = None
    histogram: np.ndarray | None = None  # density values, fixed bins on [0, L]
    flicker: list[float] = field(default_factory=list)  # RMS(h_t − A(h_{t−1})), detail band h
    detail: list[float] = field(default_factory=list)  # RMS(h_t), the same frames
    prev_detail: np.ndarray | None = None
    smoke_change: float = 0.0  # Σ_M (h(G_t) − h(A(G_{t−1})))², M = the truth's smoke
    smoke_detail: float = 0.0  # Σ_M h(G_t)², the same cells and frames

    def add_spectrum(self, spectrum: np.ndarray) -> None:
        self.spectrum = spectrum if self.spectrum is None else self.spectrum + spectrum


def _rms(x: np.ndarray) -> float:
    x = np.asarray(x, dtype=np.float64)
    return float(np.sqrt(np.mean(x * x)))


def _mean(values: Sequence[float]) -> float:
    return float(np.mean(values)) if len(values) else math.nan


def smoke_incoherence(track: Track) -> float:
    """ψ of a track: √(Σ change² / Σ detail²) over the smoke cells (NaN without detail)."""
    return _ratio(track.smoke_change, track.smoke_detail) ** 0.5


def _ratio(a: float, b: float) -> float:
    if b == 0 or math.isnan(b):
        return math.nan
    return a / b


class SequenceEvaluator:
    """Feed frames with :meth:`add`; :meth:`result` gives every metric.

    ``methods``: names of the predictions given to each :meth:`add`; ``factor`` f;
    ``fid_slices``: z slices per frame to keep as 8-bit images for FID (None: none).
    """

    def __init__(
        self,
        methods: Sequence[str],
        factor: int,
        settings: MetricSettings | None = None,
        fid_slices: int | None = None,
    ):
        self.settings = settings or MetricSettings()
        self.factor = factor
        self.fid_slices = fid_slices
        self.ref = Track()
        self.methods = {name: Track() for name in methods}
        self.frames = 0
        self.cells = 0
        self.smoke_cells = 0
        self.ref_sq = 0.0
        self.ref_diff_sq = 0.0
        self.times: list[float] = []
        self.temporal_times: list[float] = []
        self.low_spectrum: np.ndarray | None = None
        self.ke: dict[str, np.ndarray] = {}
        self.prev_velocity: np.ndarray | None = None
        self.high_shape: tuple[int, ...] | None = None
        self.low_shape: tuple[int, ...] | None = None

    # ------------------------------------------------------------------ per frame

    def add(
        self,
        time: float,
        ref: np.ndarray,
        preds: Mapping[str, np.ndarray],
        low: np.ndarray,
        velocity: np.ndarray,
        low_velocity: np.ndarray | None = None,
        pred_velocity: Mapping[str, np.ndarray] | None = None,
        follows: bool = True,
    ) -> None:
        """One frame. ``ref`` (*S) ground-truth density; ``preds`` name -> (*S); ``low`` (*s);
        ``velocity`` (*S, d) ground truth in high-res cells per frame; ``low_velocity``
        (*s, d) in low-res cells per frame; ``pred_velocity`` name -> (*S, d) for methods
        that predict one; ``follows``: this frame directly follows the previous one (else
        the temporal metrics restart here)."""
        s = self.settings
        ref = np.asarray(ref, dtype=np.float32)
        if set(preds) != set(self.methods):
            raise ValueError(f"predictions {sorted(preds)} != methods {sorted(self.methods)}")
        self.high_shape, self.low_shape = ref.shape, np.shape(low)
        mask = smoke_mask(ref, s.smoke_threshold)
        self.frames += 1
        self.cells += ref.size
        self.smoke_cells += int(mask.sum())
        self.ref_sq += float(np.dot(ref.ravel().astype(np.float64), ref.ravel()))
        self.times.append(float(time))

        current = {REFERENCE: ref, **{n: np.asarray(p, dtype=np.float32) for n, p in preds.items()}}
        tracks = {REFERENCE: self.ref, **self.methods}
        moments = local_moments(ref, s.ssim_sigma)  # shared by every method's SSIM
        for name, pred in current.items():
            track = tracks[name]
            track.add_spectrum(radial_power_spectrum(pred))
            counts = density_histogram(pred, s.data_range)
            track.histogram = counts if track.histogram is None else track.histogram + counts
            if self.fid_slices:
                track.slices.append(density_slices(pred, s.data_range, self.fid_slices))
            if name == REFERENCE:
                continue
            squared = np.square(pred.astype(np.float64) - ref)
            track.sse += float(squared.sum())
            track.sse_smoke += float(squared[mask].sum())
            track.ssim.append(ssim(pred, ref, s.data_range, s.ssim_sigma, ref_moments=moments))

        low_spectrum = radial_power_spectrum(low)
        self.low_spectrum = (
            low_spectrum if self.low_spectrum is None else self.low_spectrum + low_spectrum
        )
        velocities = {REFERENCE: velocity}
        if low_velocity is not None:  # low-res cells/frame -> high-res cells/frame
            velocities["low"] = np.asarray(low_velocity, dtype=np.float64) * self.factor
        velocities.update(pred_velocity or {})
        for name, v in velocities.items():
            e = kinetic_energy_spectrum(v)
            self.ke[name] = e if name not in self.ke else self.ke[name] + e

        bands = detail_band(np.stack(list(current.values())), nyquist(self.low_shape), ref.ndim)
        details = dict(zip(current, bands, strict=True))
        if follows and self.prev_velocity is not None and self.ref.prev is not None:
            self._add_temporal(current, tracks, details, mask)
        for name, track in tracks.items():
            track.prev = current[name]
            track.prev_detail = details[name]
        self.prev_velocity = np.asarray(velocity, dtype=np.float32)

    def _add_temporal(
        self,
        current: dict[str, np.ndarray],
        tracks: dict[str, Track],
        details: dict[str, np.ndarray],
        mask: np.ndarray,
    ) -> None:
        s = self.settings
        names = list(current)
        previous = np.stack([tracks[n].prev for n in names])
        warped = advect_frames(previous, self.prev_velocity, 1.0, s.warp_order)
        moved = (
            warped
            if s.smoke_warp_order == s.warp_order
            else advect_frames(previous, self.prev_velocity, 1.0, s.smoke_warp_order)
        )
        moved_details = detail_band(moved, nyquist(self.low_shape), moved.ndim - 1)
        ref_delta = current[REFERENCE].astype(np.float64) - tracks[REFERENCE].prev
        previous_details = np.stack([tracks[n].prev_detail for n in names])
        warped_details = advect_frames(previous_details, self.prev_velocity, 1.0, s.warp_order)
        self.ref_diff_sq += float(np.sum(ref_delta * ref_delta))
        for i, name in enumerate(names):
            track = tracks[name]
            delta = current[name].astype(np.float64) - track.prev
            track.mean_abs_dt.append(float(np.abs(delta).mean()))
            track.warp.append(_rms(warped[i] - current[name]))
            track.detail.append(_rms(details[name]))
            track.flicker.append(_rms(details[name] - warped_details[i]))
            track.smoke_change += float(np.sum((details[name] - moved_details[i])[mask] ** 2))
            track.smoke_detail += float(np.sum(details[name][mask] ** 2))
            if name != REFERENCE:
                track.diff_sse += float(np.sum((delta - ref_delta) ** 2))
        self.temporal_times.append(self.times[-1])

    # ------------------------------------------------------------------ results

    def cutoffs(self) -> tuple[float, float]:
        """(low-res Nyquist, high-res Nyquist) in cycles per longest box side."""
        return nyquist(self.low_shape), nyquist(self.high_shape)

    def spectra(self) -> dict[str, dict[str, np.ndarray]]:
        """Time-averaged spectra: ``density`` (reference, low, methods), ``kinetic_energy``."""
        n = max(self.frames, 1)
        density = {REFERENCE: self.ref.spectrum / n, "low": self.low_spectrum / n}
        density.update({name: t.spectrum / n for name, t in self.methods.items()})
        return {"density": density, "kinetic_energy": {k: v / n for k, v in self.ke.items()}}

    def method_metrics(self, name: str, spectra: Mapping[str, np.ndarray]) -> dict[str, float]:
        s = self.settings
        t = self.methods[name]
        k_low, k_high = self.cutoffs()
        ref_spectrum = spectra[REFERENCE]
        return {
            "psnr": psnr_from_mse(t.sse / self.cells, s.data_range),
            "psnr_smoke": psnr_from_mse(
                t.sse_smoke / self.smoke_cells if self.smoke_cells else math.nan, s.data_range
            ),
            "ssim": _mean(t.ssim),
            "rel_l2": math.sqrt(t.sse / self.ref_sq) if self.ref_sq else math.nan,
            "hf_energy_fraction": energy_fraction_above(spectra[name], ref_spectrum, k_low),
            "lsd": log_spectral_distance(spectra[name], ref_spectrum, 0.5, k_high),
            "lsd_high": log_spectral_distance(spectra[name], ref_spectrum, k_low, k_high),
            "density_emd": histogram_emd(
                t.histogram, self.ref.histogram, bin_edges(s.data_range)
            ),
            "frame_difference_error": (
                math.sqrt(t.diff_sse / self.ref_diff_sq) if self.ref_diff_sq else math.nan
            ),
            "warping_error": _mean(t.warp),
            "warping_error_ratio": _ratio(_mean(t.warp), _mean(self.ref.warp)),
            "mean_abs_dt_ratio": _ratio(_mean(t.mean_abs_dt), _mean(self.ref.mean_abs_dt)),
            "flicker_ratio": _ratio(_mean(t.flicker), _mean(self.ref.flicker)),
            "detail_incoherence_ratio": _ratio(
                _ratio(_mean(t.flicker), _mean(t.detail)),
                _ratio(_mean(self.ref.flicker), _mean(self.ref.detail)),
            ),
            "smoke_detail_incoherence_ratio": _ratio(
                smoke_incoherence(t), smoke_incoherence(self.ref)
            ),
        }

    def result(self) -> dict[str, Any]:
        """Every metric: per method, the reference's own, spectra and temporal curves."""
        if not self.frames:
            raise ValueError("no frames were added")
        k_low, k_high = self.cutoffs()
        spectra = self.spectra()
        density = spectra["density"]
        temporal = {
            "times": list(self.temporal_times),
            "warping_error": {REFERENCE: list(self.ref.warp)},
            "mean_abs_dt": {REFERENCE: list(self.ref.mean_abs_dt)},
            "flicker": {REFERENCE: list(self.ref.flicker)},
        }
        for name, t in self.methods.items():
            temporal["warping_error"][name] = list(t.warp)
            temporal["flicker"][name] = list(t.flicker)
            temporal["mean_abs_dt"][name] = list(t.mean_abs_dt)
        return {
            "frames": self.frames,
            "temporal_pairs": len(self.temporal_times),
            "high_shape": list(self.high_shape),
            "low_shape": list(self.low_shape),
            "smoke_fraction": self.smoke_cells / self.cells,
            "methods": {name: self.method_metrics(name, density) for name in self.methods},
            "ground_truth": {
                "warping_error": _mean(self.ref.warp),
                "mean_abs_dt": _mean(self.ref.mean_abs_dt),
                "flicker": _mean(self.ref.flicker),
                "smoke_detail_incoherence": smoke_incoherence(self.ref),
                "hf_energy": band_energy(density[REFERENCE], k_low),
            },
            "spectra": {
                "k_low_nyquist": k_low,
                "k_nyquist": k_high,
                **{kind: {n: v.tolist() for n, v in d.items()} for kind, d in spectra.items()},
            },
            "temporal": temporal,
        }

    def fid_images(self) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """(reference images, {method: images}), each (N, H, W, 1) uint8, for FID."""
        real = np.concatenate(self.ref.slices)
        return real, {n: np.concatenate(t.slices) for n, t in self.methods.items()}
