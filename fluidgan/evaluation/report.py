"""The evaluation report: ``metrics.json``, ``report.md`` and its plots, written atomically.

``metrics.json`` holds every number (non-finite values: NaN -> null, ±inf -> "inf"/"-inf",
since JSON has neither); ``report.md`` the tables a reader wants first, the settings that
make the numbers reproducible, and the figures ``spectra.png``, ``temporal.png`` and
``preview.png``.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from fluidgan.io.atomic import atomic_path, write_text
from fluidgan.registry import Registry

# (key, header, better): the columns of the main table; ↑ higher is better, ↓ lower,
# → 1 closer to one is better
COLUMNS = (
    ("psnr", "PSNR dB", "↑"),
    ("psnr_smoke", "PSNR smoke dB", "↑"),
    ("ssim", "SSIM", "↑"),
    ("rel_l2", "rel. L2", "↓"),
    ("hf_energy_fraction", "HF energy", "→1"),
    ("lsd", "LSD dB", "↓"),
    ("lsd_high", "LSD high dB", "↓"),
    ("density_emd", "density EMD", "↓"),
    ("frame_difference_error", "Δt error", "↓"),
    ("warping_error_ratio", "warp ratio", "→1"),
    ("mean_abs_dt_ratio", "Δt size ratio", "→1"),
    ("flicker_ratio", "flicker", "→1"),
    ("detail_incoherence_ratio", "detail incoherence", "→1"),
    ("smoke_detail_incoherence_ratio", "detail incoherence in smoke", "→1"),
    ("fid", "FID", "↓"),
    ("kid", "KID", "↓"),
)
#: Line styles of the curves in the plots, by the method or field they show; a curve of
#: any other name gets matplotlib's next colour.
STYLES: Registry[dict[str, Any]] = Registry("curve style", ordered=True)
STYLES.register("reference")({"color": "black", "lw": 2.2})
STYLES.register("low")({"color": "0.55", "ls": "--"})
STYLES.register("model")({"color": "tab:red", "lw": 1.8})
STYLES.register("nearest")({"color": "tab:blue", "ls": ":"})
STYLES.register("linear")({"color": "tab:green", "ls": "-."})
STYLES.register("cubic")({"color": "tab:purple", "ls": "--"})


def json_safe(value: Any) -> Any:
    """Plain JSON data: numpy scalars/arrays converted, NaN -> None, ±inf -> "inf"/"-inf"."""
    if isinstance(value, Mapping):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    if isinstance(value, np.ndarray):
        return json_safe(value.tolist())
    if isinstance(value, (np.floating, float)):
        v = float(value)
        if math.isnan(v):
            return None
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        return v
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, Path):
        return str(value)
    return value


def write_json(path: str | os.PathLike, data: Any) -> Path:
    text = json.dumps(json_safe(data), indent=1, allow_nan=False)
    return write_text(path, text)


def fmt(value: Any) -> str:
    """A table cell: 4 significant digits, '–' for missing, '∞' for infinite."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if isinstance(value, str):
        return value
    if math.isinf(value):
        return "∞" if value > 0 else "−∞"
    return f"{value:.4g}"


def _style(name: str) -> dict[str, Any]:
    return STYLES.get(name, {})


# --------------------------------------------------------------------------- plots


def plot_spectra(spectra: Mapping[str, Any], path: str | os.PathLike) -> Path:
    """Log-log density power spectra and kinetic-energy spectra, the low-res Nyquist marked."""
    k_low, k_high = spectra["k_low_nyquist"], spectra["k_nyquist"]
    panels = [("density", "density power P(k)")]
    if spectra.get("kinetic_energy"):
        panels.append(("kinetic_energy", "kinetic energy E(k) (high-res cells/frame)²"))
    fig, axes = plt.subplots(1, len(panels), figsize=(6 * len(panels), 4.4), squeeze=False)
    for ax, (kind, ylabel) in zip(axes[0], panels):
        for name, values in spectra[kind].items():
            p = np.asarray(values, dtype=np.float64)
            top = k_low if name == "low" else k_high
            k = np.arange(len(p))
            keep = (k >= 1) & (k <= top) & (p > 0)
            if keep.any():
                ax.loglog(k[keep], p[keep], label=name, **_style(name))
        ax.axvline(k_low, color="0.3", ls=":", lw=1)
        ax.annotate(
            "low-res Nyquist",
            (k_low, 0.98),
            xycoords=("data", "axes fraction"),
            rotation=90,
            va="top",
            ha="right",
            fontsize=8,
            color="0.3",
        )
        ax.set_xlabel("wavenumber k (cycles per longest box side)")
        ax.set_ylabel(ylabel)
        ax.grid(True, which="both", alpha=0.25)
        ax.legend(fontsize=8)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=110)
    plt.close(fig)
    return Path(path)


def plot_temporal(temporal: Mapping[str, Any], path: str | os.PathLike) -> Path:
    """Warping error and mean |Δρ| per frame, every method and the reference."""
    times = temporal["times"]
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.2))
    panels = (
        ("warping_error", "warping error RMS(A(ρ_{t−1}, v) − ρ_t)"),
        ("mean_abs_dt", "mean |ρ_t − ρ_{t−1}|"),
    )
    for ax, (key, ylabel) in zip(axes, panels):
        for name, values in temporal[key].items():
            if len(values):
                ax.plot(times[: len(values)], values, label=name, **_style(name))
        ax.set_xlabel("time")
        ax.set_ylabel(ylabel)
        ax.grid(True, alpha=0.25)
        ax.legend(fontsize=8)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=110)
    plt.close(fig)
    return Path(path)


# --------------------------------------------------------------------------- markdown


def metrics_table(metrics: Mapping[str, Any]) -> str:
    """The main table: one row per method, the columns of :data:`COLUMNS` that have values."""
    rows = metrics["methods"]
    fid = metrics.get("fid", {}).get("methods", {})
    merged = {name: {**values, **fid.get(name, {})} for name, values in rows.items()}
    used = [c for c in COLUMNS if any(m.get(c[0]) is not None for m in merged.values())]
    lines = [
        "| method | " + " | ".join(f"{h} {b}" for _, h, b in used) + " |",
        "|---|" + "---:|" * len(used),
    ]
    for name, values in merged.items():
        lines.append(f"| {name} | " + " | ".join(fmt(values.get(k)) for k, _, _ in used) + " |")
    return "\n".join(lines)


def _settings_lines(metrics: Mapping[str, Any]) -> list[str]:
    s = metrics["settings"]
    sp = metrics["spectra"]
    return [
        f"- prediction: `{metrics['prediction']}`; reference: `{metrics['reference']}`",
        f"- {metrics['dim']}D, factor {metrics['factor']}, high-res grid "
        f"{'×'.join(map(str, metrics['high_shape']))}, low-res "
        f"{'×'.join(map(str, metrics['low_shape']))}, {metrics['frames']} frames "
        f"({metrics['temporal_pairs']} consecutive pairs)",
        f"- data range L = {s['data_range']:g} (PSNR = 10 log₁₀(L²/MSE), MSE pooled over all "
        f"frames; SSIM with a Gaussian window σ = {s['ssim_sigma']:g} cells, "
        f"C₁ = (0.01 L)², C₂ = (0.03 L)²)",
        f"- smoke mask: ground-truth density > {s['smoke_threshold']:g} "
        f"({100 * metrics['smoke_fraction']:.1f} % of the cells)",
        f"- wavenumbers in cycles per longest box side; low-res Nyquist k = "
        f"{sp['k_low_nyquist']:g}, high-res Nyquist k = {sp['k_nyquist']:g}. HF energy = "
        "energy above the low-res Nyquist relative to the ground truth's; LSD over "
        "0 < k ≤ high-res Nyquist, LSD high over the band above the low-res Nyquist",
        "- density EMD = 1-D Wasserstein (earth mover's) distance between the histograms of "
        "predicted and ground-truth density values over all cells and frames (256 bins on "
        "[0, L]), in density units",
        "- Δt error = ‖Δρ − Δρ_ref‖/‖Δρ_ref‖ of frame differences; warp ratio = mean "
        "RMS(A(ρ_{t−1}, v_{t−1}) − ρ_t) relative to the ground truth's own "
        f"({fmt(metrics['ground_truth']['warping_error'])}), v = ground-truth velocity, "
        f"advection order {s['warp_order']}",
        "- flicker = mean RMS(h_t − A(h_{t−1}, v_{t−1})) of the detail band h (density above "
        "the low-res Nyquist) relative to the ground truth's own "
        f"({fmt(metrics['ground_truth'].get('flicker'))}); detail incoherence = the same "
        "divided by RMS(h), relative to the ground truth's (independent of the amount of detail)",
        "- detail incoherence in smoke = √(Σ (h(ρ_t) − h(A₂(ρ_{t−1}, v_{t−1})))² / Σ h(ρ_t)²) "
        "over the ground truth's smoke cells, A₂ = MacCormack warp of the whole frame "
        f"(order {s.get('smoke_warp_order', 2)}), relative to the ground truth's own "
        f"({fmt(metrics['ground_truth'].get('smoke_detail_incoherence'))}): the share of "
        "the added detail that does not move with the flow",
    ]


def _fid_lines(fid: Mapping[str, Any] | None) -> list[str]:
    if not fid or fid.get("status") == "disabled":
        return ["FID: not computed (disabled)."]
    if fid.get("status") != "ok":
        return [f"FID: skipped -- {fid.get('reason', 'no reason recorded')}."]
    features = fid["features"]
    canonical = (
        "canonical" if features.get("canonical") else "not canonical: compare only with itself"
    )
    return [
        f"FID/KID on density slices quantised to 8 bits on [0, L]: features "
        f"`{features.get('name')}` ({canonical}), N = {fid['n_real']} ground-truth images "
        f"and as many per method (FID is biased in N: compare only at equal N)."
    ]


def write_markdown(
    path: str | os.PathLike, metrics: Mapping[str, Any], figures: Mapping[str, str]
) -> Path:
    """``report.md``: settings, the metrics table, FID notes and the figures."""
    lines = [
        f"# Evaluation of `{Path(metrics['prediction']).name}`",
        "",
        *_settings_lines(metrics),
        "",
        "## Metrics (model and baselines against the high-res ground truth)",
        "",
        "↑ higher is better, ↓ lower is better, →1 closest to 1 is best.",
        "",
        metrics_table(metrics),
        "",
        *_fid_lines(metrics.get("fid")),
        "",
    ]
    titles = {
        "spectra": "Spectra",
        "temporal": "Temporal coherence",
        "preview": "Preview (low | baselines | model | high)",
    }
    for key, name in figures.items():
        lines += [f"## {titles.get(key, key)}", "", f"![{key}]({name})", ""]
    return write_text(path, "\n".join(lines))


def write_report(
    out_dir: str | os.PathLike,
    metrics: Mapping[str, Any],
    extra_figures: Sequence[tuple[str, Path]] = (),
) -> list[Path]:
    """``metrics.json``, ``spectra.png``, ``temporal.png`` and ``report.md`` in ``out_dir``.

    ``extra_figures``: (key, path) of figures already written there (e.g. the preview).
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    figures = {"spectra": plot_spectra(metrics["spectra"], out / "spectra.png")}
    if metrics["temporal_pairs"]:
        figures["temporal"] = plot_temporal(metrics["temporal"], out / "temporal.png")
    figures.update(dict(extra_figures))
    written = [write_json(out / "metrics.json", metrics), *figures.values()]
    written.append(
        write_markdown(out / "report.md", metrics, {k: p.name for k, p in figures.items()})
    )
    return written
