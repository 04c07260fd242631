"""The tempoGAN ablation study in 2D: does each part of the method do what the paper says?

    python benchmarks/ablation.py [--preset fast2d] [--iterations N | --minutes M]
                                  [--seeds 2] [--variants full,ds_only,...] [--out runs/ablation]
                                  [--data DIR] [--test DIR] [--device auto] [--set KEY=VALUE]
                                  [--jobs 2]
    python benchmarks/ablation.py --quick --out /tmp/ablation    # every step, tiny, ~1 min

Every variant (:data:`VARIANTS`) is the preset with one switch changed, trained with each
seed at the same budget (``--iterations``, or ``--minutes``: the iterations the full model
does in that time, measured once), then scored on the held-out simulations of
docs/TRAINING.md (``heldout.py``). Rerunning the command continues: a finished run is
skipped, an interrupted one resumed from its newest checkpoint, a score recomputed only
when its checkpoint changed. Variants whose resolved config equals an earlier one's (e.g.
``rho_v`` when the preset's inputs are ρ+v) share its runs.

Writes into ``--out``: ``data/train``, ``data/test`` (unless given), ``runs/<variant>/
seed<k>/`` (the training run and its ``heldout/`` score), ``baselines/``, and
``results/``: ``ablation.json`` (every number), ``table.md`` (the tables and the paper's
findings, ready for docs/ABLATION.md), ``curves.png`` (validation L1 and discriminator
outputs against the iteration), ``spectra.png``, ``time_strips.png`` and
``strips/<variant>.png`` (consecutive frames of the detail band, where flicker shows).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import heldout  # noqa: E402

from fluidgan.config import build, load_toml, merge, parse_set, preset_path, to_dict  # noqa: E402
from fluidgan.errors import UserError  # noqa: E402

DEFAULT_PRESET = "fast2d"
FALLBACK_PRESET = "cpu_small2d"
STUDY = "study.json"
STRIP_FRAMES = 6
TIE = 0.005  # relative difference below which two variants count as equal


# --- the variants ------------------------------------------------------------------------


@dataclass(frozen=True)
class Variant:
    """One arm of the study: a label for the tables and the config keys it changes
    (nested like the TOML; a callable gets the resolved base config and returns them)."""

    label: str
    overrides: Mapping[str, Any] | Callable[[Any], Mapping[str, Any]] = field(default_factory=dict)

    def resolve(self, base) -> Mapping[str, Any]:
        return self.overrides(base) if callable(self.overrides) else self.overrides


def positive_lambda_f(base) -> dict[str, Any]:
    """λ_f > 0 with the full model's magnitudes (the paper's 1e-5 per layer by default)."""
    return {"loss": {"lambda_f": [abs(x) for x in base.loss.lambda_f]}}


VARIANTS: dict[str, Variant] = {
    "full": Variant("full tempoGAN: D_s + D_t (advected) + L_f, λ_f < 0"),
    "ds_only": Variant("D_s only (no temporal term)", {"ablation": {"temporal": "off"}}),
    "ds_l2": Variant("D_s + L2 temporal loss", {"ablation": {"temporal": "l2"}}),
    "dt_raw": Variant("D_t without advection (raw frames)", {"ablation": {"advection": False}}),
    "lambda_f_0": Variant("λ_f = 0 (no feature loss)", {"loss": {"lambda_f": [0.0] * 4}}),
    "lambda_f_pos": Variant("λ_f > 0", positive_lambda_f),
    "rho": Variant("inputs ρ", {"data": {"channels": "rho"}}),
    "rho_v": Variant("inputs ρ+v", {"data": {"channels": "rho+v"}}),
    "rho_v_w": Variant("inputs ρ+v+ω", {"data": {"channels": "rho+v+w"}}),
    "no_augmentation": Variant("augmentation off", {"data": {"augmentation": False}}),
}

# The paper's findings: (claim, metric, variant a, variant b, direction a should have vs b).
# Flicker is judged inside the smoke (ψ), where the ground truth's own detail follows the
# flow; the whole-frame measures (φ) are kept for comparison with earlier tables.
CLAIMS = (
    (
        "D_t removes flicker that D_s alone leaves",
        "smoke_detail_incoherence_ratio",
        "full",
        "ds_only",
        "lower",
    ),
    (
        "D_t removes flicker that D_s alone leaves (whole frame)",
        "detail_incoherence_ratio",
        "full",
        "ds_only",
        "lower",
    ),
    (
        "D_t removes flicker that D_s alone leaves (absolute, whole frame)",
        "flicker_ratio",
        "full",
        "ds_only",
        "closer to 1",
    ),
    ("advection in D_t matters", "smoke_detail_incoherence_ratio", "full", "dt_raw", "lower"),
    (
        "advection in D_t matters (whole frame)",
        "detail_incoherence_ratio",
        "full",
        "dt_raw",
        "lower",
    ),
    ("ρ+v+ω gives more detail than ρ", "hf_energy_fraction", "rho_v_w", "rho", "higher"),
    (
        "λ_f < 0 gives more detail than λ_f > 0",
        "hf_energy_fraction",
        "full",
        "lambda_f_pos",
        "higher",
    ),
)

# A tiny, fast version of every step (the tests run it): small tiles and batches, a
# validation point every iteration, no loader processes.
QUICK_CONFIG = {
    "iterations": 2,
    "batch_size": 6,
    "threads": 1,
    "checkpoint_every": 1,
    "keep_checkpoints": 1,
    "preview_every": 1,
    "preview_samples": 2,
    "validation_samples": 4,
    "tensorboard": False,
    "data": {"tile": 8, "workers": 0, "val_fraction": 0.5},
}
# A study's runs keep every checkpoint they need (resume) and a curve point every 5 %.
STUDY_CONFIG = {"tensorboard": False}


def choose_preset(name: str | None) -> str:
    """``name``, or fast2d when it exists, else cpu_small2d."""
    if name:
        preset_path("train", name)  # UserError listing the presets when unknown
        return name
    try:
        preset_path("train", DEFAULT_PRESET)
        return DEFAULT_PRESET
    except UserError:
        return FALLBACK_PRESET


def base_config(preset: str, quick: bool, sets: tuple[str, ...] = ()) -> dict[str, Any]:
    """The preset (+ the quick settings) + ``--set`` overrides, as plain data."""
    data = merge(load_toml(preset_path("train", preset)), STUDY_CONFIG)
    if quick:
        data = merge(data, QUICK_CONFIG)
    for item in sets:
        data = merge(data, parse_set(item))
    return data


def variant_configs(
    base: dict[str, Any], names: list[str], seeds: list[int], iterations: int
) -> dict[tuple[str, int], Any]:
    """The resolved TrainConfig of every (variant, seed)."""
    from fluidgan.train.config import TrainConfig

    resolved_base = build(TrainConfig, merge(base, {"iterations": iterations}))
    if not all(x < 0 for x in resolved_base.loss.lambda_f):
        raise UserError(
            f"loss.lambda_f = {list(resolved_base.loss.lambda_f)}: the full variant needs "
            "λ_f < 0 (e.g. --set 'loss.lambda_f=[-1e-5,-1e-5,-1e-5,-1e-5]')"
        )
    configs = {}
    for name in names:
        overrides = VARIANTS[name].resolve(resolved_base)
        for seed in seeds:
            data = merge(merge(base, overrides), {"iterations": iterations, "seed": seed})
            try:
                configs[name, seed] = build(TrainConfig, data)
            except (ValueError, UserError) as e:
                raise UserError(f"variant {name}: {e}") from None
    return configs


def config_key(cfg) -> str:
    return json.dumps(to_dict(cfg), sort_keys=True)


def run_plan(configs: dict[tuple[str, int], Any]) -> dict[tuple[str, int], tuple[str, int]]:
    """(variant, seed) -> the (variant, seed) whose run it uses: itself, or the first
    earlier variant with an identical config."""
    first: dict[str, tuple[str, int]] = {}
    plan = {}
    for key, cfg in configs.items():
        plan[key] = first.setdefault(config_key(cfg), key)
    return plan


def parse_variants(text: str | None) -> list[str]:
    if not text:
        return list(VARIANTS)
    names = [n.strip() for n in text.split(",") if n.strip()]
    unknown = [n for n in names if n not in VARIANTS]
    if unknown:
        raise UserError(f"--variants: unknown {unknown}; valid: {', '.join(VARIANTS)}")
    return names


# --- budget ------------------------------------------------------------------------------


def calibrate_iterations(cfg, data_dir: Path, minutes: float, device: str) -> dict[str, Any]:
    """Iterations the full variant does in ``minutes``: a short probe run timed per
    iteration after the first (warm-up)."""
    import dataclasses

    from fluidgan.train.logging import read_metrics
    from pipelines.train import train

    probe = 6
    cfg = dataclasses.replace(cfg, iterations=probe, preview_every=0, checkpoint_every=probe)
    with tempfile.TemporaryDirectory() as tmp:
        train(cfg, data_dir, Path(tmp) / "probe", device=device)
        times = [row["time"] for row in read_metrics(Path(tmp) / "probe")]
    per_iteration = (times[-1] - times[0]) / (len(times) - 1)
    return {
        "iterations": max(1, int(minutes * 60 / per_iteration)),
        "minutes": minutes,
        "seconds_per_iteration": per_iteration,
    }


# --- training ----------------------------------------------------------------------------


def train_run(cfg, data_dir: Path, run_dir: Path, device: str) -> dict[str, Any]:
    """Train ``run_dir`` to ``cfg.iterations``: skip when done, resume when started."""
    from fluidgan.train import checkpoint as ckpt
    from pipelines.train import train

    latest = ckpt.latest_checkpoint(run_dir)
    if latest is not None:
        # resolved: a run saved before a config key existed has that key's default
        saved = to_dict(build(type(cfg), load_toml(run_dir / "config.toml")))
        expected = to_dict(cfg)
        if {**saved, "iterations": 0} != {**expected, "iterations": 0}:
            raise UserError(
                f"{run_dir}: holds a run with another config; use another --out "
                "(or delete that run directory)"
            )
        state = ckpt.load_checkpoint(latest)
        if state["iteration"] >= cfg.iterations:
            return {"status": "done", "iterations": state["iteration"], "checkpoint": str(latest)}
    start = time.perf_counter()
    result = train(
        cfg,
        data_dir,
        run_dir,
        device=device,
        resume=latest is not None,
        progress=sys.stderr.isatty(),
    )
    if result["status"] != "completed":
        raise KeyboardInterrupt  # a signal stopped the run; its checkpoint is saved
    return {**result, "wall_seconds": time.perf_counter() - start}


def train_and_score(cfg, data_dir: Path, run_dir: Path, test_dir: Path, device: str, keep):
    """One run of the study: trained (or resumed, or found done), then scored held-out."""
    print(f"[ablation] train {run_dir}", flush=True)
    try:
        trained = train_run(cfg, data_dir, run_dir, device)
        score = heldout.score_checkpoint(
            trained["checkpoint"], test_dir, run_dir / "heldout", device, keep_frames=keep
        )
    except BaseException as e:  # shown now, not when the pool is drained
        print(f"[ablation] {run_dir}: {type(e).__name__}: {e}", flush=True)
        raise
    print(f"[ablation] scored {run_dir}", flush=True)
    return trained, score


def run_all(
    todo: Mapping[tuple[str, int], tuple[Any, Path]],
    data_dir: Path,
    test_dir: Path,
    device: str,
    keep: Mapping[tuple[str, int], Any],
    jobs: int = 1,
) -> dict[tuple[str, int], tuple[dict[str, Any], dict[str, Any]]]:
    """Train and score every run, ``jobs`` at a time (separate processes: each run keeps
    its config's thread count, so ``--jobs 2`` fills two cores with one-thread runs)."""
    if jobs <= 1:
        return {
            o: train_and_score(cfg, data_dir, run_dir, test_dir, device, keep[o])
            for o, (cfg, run_dir) in todo.items()
        }
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=jobs, mp_context=context) as pool:
        futures = {
            o: pool.submit(train_and_score, cfg, data_dir, run_dir, test_dir, device, keep[o])
            for o, (cfg, run_dir) in todo.items()
        }
        return {o: f.result() for o, f in futures.items()}


def training_summary(run_dir: Path) -> dict[str, float]:
    """From a run's metrics: the last validation L1 (and interpolation's), and the mean
    discriminator outputs and feature term over the last 10 % of the iterations."""
    from fluidgan.train.logging import read_metrics

    rows = read_metrics(run_dir)
    out: dict[str, float] = {}
    if not rows:
        return out
    validated = [r for r in rows if "val/l1" in r]
    if validated:
        out["val_l1"] = float(validated[-1]["val/l1"])
        out["val_l1_interp"] = float(validated[-1]["val/l1_interp"])
    tail = rows[-max(1, len(rows) // 10) :]
    for key in ("d_s/real", "d_s/fake", "d_t/real", "d_t/fake", "g/l1", "g/feature"):
        values = [float(r[key]) for r in tail if isinstance(r.get(key), (int, float))]
        if values:
            out[key] = float(np.mean(values))
    out["train_seconds"] = float(rows[-1].get("time", math.nan))
    return out


# --- aggregation -------------------------------------------------------------------------


def aggregate(values: list[float]) -> dict[str, Any]:
    """Mean, sample standard deviation (0 for one value) and the values; NaNs ignored."""
    finite = [float(v) for v in values if v is not None and math.isfinite(float(v))]
    if not finite:
        return {"mean": math.nan, "std": math.nan, "n": 0, "values": list(values)}
    std = float(np.std(finite, ddof=1)) if len(finite) > 1 else 0.0
    return {"mean": float(np.mean(finite)), "std": std, "n": len(finite), "values": finite}


def aggregate_variant(runs: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Per metric over the seeds' runs: each run holds ``heldout`` (mean over sims) and
    ``training`` (summary) dicts."""
    keys = [k for k, _, _ in heldout.METRICS]
    out = {k: aggregate([r["heldout"].get(k, math.nan) for r in runs]) for k in keys}
    training_keys = sorted({k for r in runs for k in r.get("training", {})})
    for key in training_keys:
        out[key] = aggregate([r["training"].get(key, math.nan) for r in runs])
    return out


def cell(stat: Mapping[str, Any] | float | None, digits: int = 3) -> str:
    """``mean ± std`` (± only with two or more seeds); '–' when missing."""
    if stat is None:
        return "–"
    if not isinstance(stat, Mapping):
        stat = {"mean": stat, "std": 0.0, "n": 1}
    mean = stat.get("mean")
    if mean is None or not math.isfinite(mean):
        return "–"
    text = f"{mean:.{digits}g}"
    if stat.get("n", 1) > 1:
        text += f" ± {stat['std']:.2g}"
    return text


def verdict(table: Mapping[str, Any], metric: str, a: str, b: str, direction: str) -> dict:
    """Whether variant ``a`` beats ``b`` on ``metric`` in ``direction`` beyond the seeds'
    spread (√(s_a² + s_b²))."""
    if a not in table or b not in table:
        return {"verdict": "not run"}
    sa, sb = table[a][metric], table[b][metric]
    ma, mb = sa["mean"], sb["mean"]
    if not (math.isfinite(ma) and math.isfinite(mb)):
        return {"verdict": "no value", "a": ma, "b": mb}
    if direction == "lower":
        margin = mb - ma
    elif direction == "higher":
        margin = ma - mb
    else:  # closer to 1
        margin = abs(mb - 1) - abs(ma - 1)
    spread = math.hypot(sa["std"], sb["std"])
    seeds = min(sa["n"], sb["n"])
    if abs(margin) <= TIE * max(abs(ma), abs(mb)):
        return {"verdict": f"no difference (< {TIE:.1%})", "a": ma, "b": mb, "margin": margin}
    if seeds < 2:
        word = "reproduced" if margin > 0 else "not reproduced"
        return {"verdict": f"{word} (one seed: no spread)", "a": ma, "b": mb, "margin": margin}
    if margin > spread:
        word = "reproduced"
    elif margin > 0:
        word = "same direction, within the seed spread"
    elif -margin > spread:
        word = "not reproduced (the opposite, beyond the seed spread)"
    else:
        word = "not reproduced (the opposite, within the seed spread)"
    return {"verdict": word, "a": ma, "b": mb, "margin": margin, "spread": spread}


def markdown_tables(results: Mapping[str, Any]) -> str:
    """The held-out table, the training table and the findings, as markdown."""
    table, study = results["table"], results["study"]
    head = [h + " " + b for _, h, b in heldout.METRICS]
    lines = [
        f"Preset `{study['preset']}`, {study['iterations']} iterations per run, seeds "
        f"{study['seeds']}; held-out: {study['test_command']}. Cells: mean ± sample standard "
        "deviation over the seeds of the mean over the held-out simulations.",
        "",
        "| variant | " + " | ".join(head) + " |",
        "|---|" + "---:|" * len(head),
    ]
    for name, stats in table.items():
        label = results["variants"][name]["label"]
        alias = results["variants"][name].get("same_runs_as")
        label += f" (= {alias})" if alias else ""
        lines.append(
            f"| {label} | " + " | ".join(cell(stats[k]) for k, _, _ in heldout.METRICS) + " |"
        )
    for name, stats in results["baselines"].items():
        lines.append(
            f"| {name} interpolation | "
            + " | ".join(cell(stats.get(k)) for k, _, _ in heldout.METRICS)
            + " |"
        )
    training_cols = (
        ("val_l1", "val L1"),
        ("val_l1_interp", "val L1 bilinear"),
        ("d_s/real", "D_s P(real|real)"),
        ("d_s/fake", "D_s P(real|fake)"),
        ("d_t/real", "D_t P(real|real)"),
        ("d_t/fake", "D_t P(real|fake)"),
        ("g/feature", "feature term"),
        ("train_seconds", "train s"),
    )
    lines += [
        "",
        "Training (last validation point; discriminator outputs and feature term averaged "
        "over the last 10 % of the iterations):",
        "",
        "| variant | " + " | ".join(h for _, h in training_cols) + " |",
        "|---|" + "---:|" * len(training_cols),
    ]
    for name, stats in table.items():
        lines.append(
            f"| {name} | " + " | ".join(cell(stats.get(k)) for k, _ in training_cols) + " |"
        )
    lines += [
        "",
        "| the paper's finding | metric | a vs b | a | b | verdict |",
        "|---|---|---|---:|---:|---|",
    ]
    for claim in results["claims"]:
        lines.append(
            f"| {claim['claim']} | {claim['metric']} ({claim['direction']}) | "
            f"{claim['a_variant']} vs {claim['b_variant']} | {cell(claim.get('a'))} | "
            f"{cell(claim.get('b'))} | {claim['verdict']} |"
        )
    return "\n".join(lines) + "\n"


# --- figures -----------------------------------------------------------------------------


def plot_curves(runs: Mapping[str, list[Path]], path: Path) -> Path:
    """Validation L1 and the discriminators' mean outputs against the iteration: one
    colour per variant, one line per seed."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from fluidgan.io.atomic import atomic_path
    from fluidgan.train.logging import read_metrics

    panels = (
        ("val/l1", "validation L1 / bilinear interpolation's (same tiles)"),
        ("d_s/real", "D_s P(real) on real (solid) / generated (dotted)"),
        ("d_t/real", "D_t P(real) on real (solid) / generated (dotted)"),
    )
    fig, axes = plt.subplots(1, 3, figsize=(17, 4.6))
    colours = plt.get_cmap("tab10")
    for i, (name, dirs) in enumerate(runs.items()):
        colour = colours(i % 10)
        for j, run in enumerate(dirs):
            rows = read_metrics(run)
            label = name if j == 0 else None
            for ax, (key, _) in zip(axes, panels):
                pts = [(r["iteration"], r[key]) for r in rows if isinstance(r.get(key), float)]
                if not pts:
                    continue
                x, y = zip(*pts)
                if key == "val/l1":
                    ratio = [r["val/l1"] / r["val/l1_interp"] for r in rows if key in r]
                    marker = "." if len(x) < 30 else None
                    ax.plot(x, ratio, color=colour, lw=1.2, label=label, marker=marker)
                else:
                    smooth = running_mean(np.asarray(y), max(1, len(y) // 40))
                    ax.plot(x, smooth, color=colour, lw=1.1, label=label)
                    fake = [
                        r.get(key.replace("real", "fake"))
                        for r in rows
                        if isinstance(r.get(key), float)
                    ]
                    ax.plot(
                        x,
                        running_mean(np.asarray(fake, float), max(1, len(y) // 40)),
                        color=colour,
                        lw=1.1,
                        ls=":",
                    )
    axes[0].axhline(1.0, color="black", ls="--", lw=1)
    for ax, (_, title) in zip(axes, panels):
        ax.set_xlabel("iteration")
        ax.set_title(title, fontsize=10)
        ax.grid(True, alpha=0.25)
    axes[0].legend(fontsize=7, ncol=2)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=100)
    plt.close(fig)
    return path


def running_mean(y: np.ndarray, n: int) -> np.ndarray:
    if n <= 1:
        return y
    kernel = np.ones(n) / n
    padded = np.concatenate([np.full(n - 1, y[0]), y])
    return np.convolve(padded, kernel, mode="valid")


def plot_spectra(spectra: Mapping[str, Mapping[str, Any]], path: Path) -> Path:
    """Held-out density spectra (mean over the simulations): the truth, each variant
    (its first seed) and the interpolations; the low-res Nyquist marked."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from fluidgan.io.atomic import atomic_path

    fig, ax = plt.subplots(figsize=(7.5, 5))
    colours = plt.get_cmap("tab10")
    k_low = None
    for i, (name, entry) in enumerate(spectra.items()):
        p = np.asarray(entry["method"], float)
        k = np.arange(len(p))
        keep = (k >= 1) & (p > 0)
        style = (
            {"color": "black", "lw": 2.2}
            if name == "reference"
            else (
                {"color": "0.5", "ls": "--"}
                if name in heldout.BASELINES
                else {"color": colours(i % 10)}
            )
        )
        ax.loglog(k[keep], p[keep], label=name, **style)
        k_low = entry["k_low_nyquist"]
    if k_low:
        ax.axvline(k_low, color="0.3", ls=":", lw=1)
    ax.set_xlabel("wavenumber k (cycles per longest box side)")
    ax.set_ylabel("density power P(k)")
    ax.grid(True, which="both", alpha=0.25)
    ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=100)
    plt.close(fig)
    return path


def mean_spectrum(per_sim: Mapping[str, Mapping[str, Any]], key: str) -> list[float]:
    arrays = [np.asarray(s[key], float) for s in per_sim.values()]
    n = min(len(a) for a in arrays)
    return np.mean([a[:n] for a in arrays], axis=0).tolist()


def detail_crop(high: np.ndarray, factor: int, size: int) -> tuple[slice, slice]:
    """The ``size``² window of the true frames (T, Y, X) with the most detail energy."""
    from scipy.ndimage import uniform_filter

    from fluidgan.evaluation.spectra import nyquist
    from fluidgan.evaluation.temporal import detail_band

    low_shape = tuple(n // factor for n in high.shape[1:])
    h = detail_band(high, nyquist(low_shape), dim=2)
    energy = uniform_filter((h * h).mean(axis=0), size=size, mode="constant")
    half = size // 2
    inner = energy[half : high.shape[1] - half + 1, half : high.shape[2] - half + 1]
    y, x = np.unravel_index(int(np.argmax(inner)), inner.shape)
    return slice(y, y + size), slice(x, x + size)


def write_time_strips(frames: Mapping[str, Path], factor: int, out_dir: Path) -> list[Path]:
    """Rows of consecutive frames of the detail band h = ρ − L(ρ) in one window: the
    ground truth, then each variant (``frames``: name -> frames.npz of its first seed).
    One PNG per variant (truth above it) and ``time_strips.png`` with all rows; a shared
    colour scale (±99th percentile of the truth's |h|), red positive, blue negative."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from fluidgan.evaluation.spectra import nyquist
    from fluidgan.evaluation.temporal import detail_band
    from fluidgan.io.atomic import atomic_path

    if not frames:
        return []
    first = np.load(next(iter(frames.values())))
    high = first["high"].astype(np.float64)
    size = min(96, *high.shape[1:])
    crop = detail_crop(high, factor, size)
    cutoff = nyquist(tuple(n // factor for n in high.shape[1:]))
    rows = {"ground truth": detail_band(high, cutoff, dim=2)[(slice(None), *crop)]}
    for name, path in frames.items():
        sr = np.load(path)["sr"].astype(np.float64)
        rows[name] = detail_band(sr, cutoff, dim=2)[(slice(None), *crop)]
    scale = float(np.percentile(np.abs(rows["ground truth"]), 99)) or 1.0
    times = first["time"]

    def strip(names: list[str], path: Path) -> Path:
        count = rows["ground truth"].shape[0]
        fig, axes = plt.subplots(
            len(names), count, figsize=(1.5 * count + 1.4, 1.55 * len(names)), squeeze=False
        )
        for r, name in enumerate(names):
            for c in range(count):
                ax = axes[r][c]
                ax.imshow(rows[name][c], cmap="RdBu_r", vmin=-scale, vmax=scale, origin="lower")
                ax.set_xticks([])
                ax.set_yticks([])
                if r == 0:
                    ax.set_title(f"t = {times[c]:g}", fontsize=8)
                if c == 0:
                    ax.set_ylabel(name, fontsize=8)
        fig.tight_layout(pad=0.3)
        with atomic_path(path) as tmp:
            fig.savefig(tmp, dpi=72)
        plt.close(fig)
        return path

    out_dir.mkdir(parents=True, exist_ok=True)
    written = [strip(["ground truth", *frames], out_dir / "time_strips.png")]
    for name in frames:
        written.append(strip(["ground truth", name], out_dir / "strips" / f"{name}.png"))
    return written


# --- the study ---------------------------------------------------------------------------


def study_settings(args, preset: str, train_spec, test_spec) -> dict[str, Any]:
    return {
        "preset": preset,
        "quick": args.quick,
        "sets": list(args.set),
        "seeds": list(range(args.seeds)),
        "train_command": (
            train_spec.command(Path(args.out) / "data" / "train")
            if train_spec
            else f"(given) {args.data}"
        ),
        "test_command": (
            test_spec.command(Path(args.out) / "data" / "test")
            if test_spec
            else f"(given) {args.test}"
        ),
    }


def resolve_budget(args, out: Path, base, data_dir: Path, full_cfg) -> dict[str, Any]:
    """The iterations of every run: ``--iterations``, the preset's, or calibrated from
    ``--minutes`` once (kept in study.json so that reruns keep the same budget)."""
    saved = json.loads((out / STUDY).read_text()) if (out / STUDY).is_file() else {}
    if args.iterations:
        return {"iterations": args.iterations}
    if args.minutes:
        budget = saved.get("budget", {})
        if budget.get("minutes") == args.minutes:
            return budget
        return calibrate_iterations(full_cfg, data_dir, args.minutes, args.device)
    if saved.get("budget"):
        return saved["budget"]
    return {"iterations": int(base.get("iterations", 40000))}


def run_study(args) -> dict[str, Any]:
    from fluidgan.evaluation.report import write_json
    from fluidgan.io.atomic import write_text

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    preset = choose_preset(args.preset)
    names = parse_variants(args.variants)
    if "full" not in names:
        names.insert(0, "full")  # the reference arm of every comparison
    base = base_config(preset, args.quick, tuple(args.set))
    train_spec = test_spec = None
    if args.data:
        data_dir = Path(args.data)
    else:
        train_spec = heldout.QUICK_TRAIN if args.quick else heldout.TRAIN
        data_dir = heldout.ensure_dataset(train_spec, out / "data" / "train", args.workers)
    if args.test:
        test_dir = Path(args.test)
    else:
        test_spec = heldout.QUICK_TEST if args.quick else heldout.TEST
        test_dir = heldout.ensure_dataset(test_spec, out / "data" / "test", args.workers)
    seeds = list(range(args.seeds))

    probe = variant_configs(base, ["full"], [0], 1)[("full", 0)]
    budget = resolve_budget(args, out, base, data_dir, probe)
    settings = {
        **study_settings(args, preset, train_spec, test_spec),
        "budget": budget,
        "iterations": budget["iterations"],
    }
    write_json(out / STUDY, settings)
    configs = variant_configs(base, names, seeds, budget["iterations"])
    plan = run_plan(configs)

    from fluidgan.data.dataset import read_info

    factor = read_info(heldout.test_files(test_dir)[0]).factor
    frames_total = min(read_info(f).frames for f in heldout.test_files(test_dir))
    count = min(STRIP_FRAMES, frames_total)
    first = max(0, min(frames_total - count, (2 * frames_total) // 3))
    keep = (first, count)

    owners = sorted(set(plan.values()), key=lambda o: (names.index(o[0]), o[1]))
    scored = run_all(
        {o: (configs[o], out / "runs" / o[0] / f"seed{o[1]}") for o in owners},
        data_dir,
        test_dir,
        args.device,
        keep={o: keep if o[1] == seeds[0] else None for o in owners},
        jobs=args.jobs,
    )
    runs: dict[str, list[dict[str, Any]]] = {}
    run_dirs: dict[str, list[Path]] = {}
    variants_info: dict[str, dict[str, Any]] = {}
    for name in names:
        variants_info[name] = {
            "label": VARIANTS[name].label,
            "overrides": to_dict(dict(VARIANTS[name].resolve(probe))),
        }
        for seed in seeds:
            owner = plan[name, seed]
            run_dir = out / "runs" / owner[0] / f"seed{owner[1]}"
            if owner != (name, seed):
                variants_info[name]["same_runs_as"] = owner[0]
            trained, score = scored[owner]
            runs.setdefault(name, []).append(
                {
                    "seed": seed,
                    "run_dir": str(run_dir),
                    "checkpoint": trained["checkpoint"],
                    "heldout": score["mean"],
                    "per_sim": score["sims"],
                    "spectra": score["spectra"],
                    "training": training_summary(run_dir),
                }
            )
            if owner == (name, seed):  # a shared run is drawn once, under its owner
                run_dirs.setdefault(name, []).append(run_dir)
    baseline_scores = heldout.score_baselines(test_dir, out / "baselines")

    table = {name: aggregate_variant(rs) for name, rs in runs.items()}
    claims = []
    for claim, metric, a, b, direction in CLAIMS:
        claims.append(
            {
                "claim": claim,
                "metric": metric,
                "a_variant": a,
                "b_variant": b,
                "direction": direction,
                **verdict(table, metric, a, b, direction),
            }
        )
    results = {
        "study": settings,
        "variants": variants_info,
        "table": table,
        "baselines": {b: s["mean"] for b, s in baseline_scores["methods"].items()},
        "claims": claims,
        "runs": {
            name: [{k: v for k, v in r.items() if k != "spectra"} for r in rs]
            for name, rs in runs.items()
        },
    }
    res = out / "results"
    res.mkdir(parents=True, exist_ok=True)
    write_json(res / "ablation.json", results)
    write_text(res / "table.md", markdown_tables(results))
    plot_curves(run_dirs, res / "curves.png")
    spectra = {
        "reference": {
            "method": mean_spectrum(runs["full"][0]["spectra"], "reference"),
            "k_low_nyquist": next(iter(runs["full"][0]["spectra"].values()))["k_low_nyquist"],
        }
    }
    for name, rs in runs.items():
        if "same_runs_as" in variants_info[name]:
            continue
        entry = rs[0]["spectra"]
        spectra[name] = {
            "method": mean_spectrum(entry, "method"),
            "k_low_nyquist": spectra["reference"]["k_low_nyquist"],
        }
    for b in heldout.BASELINES:
        per = {s: v[b] for s, v in baseline_scores["spectra"].items()}
        spectra[b] = {
            "method": mean_spectrum(per, "method"),
            "k_low_nyquist": spectra["reference"]["k_low_nyquist"],
        }
    plot_spectra(spectra, res / "spectra.png")
    frames = {
        name: Path(rs[0]["run_dir"]) / "heldout" / "frames.npz"
        for name, rs in runs.items()
        if "same_runs_as" not in variants_info[name]
    }
    write_time_strips({k: v for k, v in frames.items() if v.is_file()}, factor, res)
    return results


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--preset", help="training preset (default: fast2d, else cpu_small2d)")
    budget = p.add_mutually_exclusive_group()
    budget.add_argument("--iterations", type=int, help="iterations per run (default: the preset's)")
    budget.add_argument(
        "--minutes", type=float, help="per run: the iterations the full variant does in this time"
    )
    p.add_argument("--seeds", type=int, help="seeds 0 … N−1 per variant (default 2; quick: 1)")
    p.add_argument("--variants", help=f"comma-separated subset of {', '.join(VARIANTS)}")
    p.add_argument("--out", default="runs/ablation", help="study directory (default runs/ablation)")
    p.add_argument("--data", help="training dataset (default: simulate the protocol's)")
    p.add_argument("--test", help="held-out dataset (default: simulate the protocol's)")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N")
    p.add_argument("--workers", type=int, default=1, help="simulation processes for the data")
    p.add_argument(
        "--jobs", type=int, default=1, help="runs trained and scored at once (processes)"
    )
    p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a training config key in every variant (repeatable)",
    )
    p.add_argument(
        "--quick",
        action="store_true",
        help="tiny data, 2 iterations, 1 seed: every step in about a minute",
    )
    args = p.parse_args(argv)
    if args.seeds is None:
        args.seeds = 1 if args.quick else 2
    if args.seeds < 1 or (args.iterations is not None and args.iterations < 1):
        p.error("--seeds and --iterations must be >= 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        results = run_study(args)
    except UserError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted: rerun the same command to continue", file=sys.stderr)
        return 130
    print(markdown_tables(results))
    print(f"written: {Path(args.out) / 'results'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
