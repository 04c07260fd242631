"""A small, honest GAN leaderboard: every preset in configs/gan trained for the same CPU
budget on the same data, scored with the same metrics at the same N.

    python benchmarks/gan_leaderboard.py            # all presets
    python benchmarks/gan_leaderboard.py --cpu-seconds 60 --variants dcgan,wgan_gp

Data: scikit-learn's 8x8 digits (1797 images) upsampled bilinearly to 16x16, one channel
(the presets' default). Budget: ``--cpu-seconds`` of process CPU time per variant on one
torch thread (time.process_time, so a loaded machine slows the run down but does not
change how much computation each variant gets; wall time is reported too). Metrics:
N = ``--n`` samples (seed 1, the preset's truncation) against all 1797 training images
at 16x16 through the same feature pipeline:

* FID_domain, IS_domain: the domain:digits classifier of fluidgan.metrics (a small CNN
  trained on the digits; images are resized to 8x8). Comparable only with each other.
* FID, IS: canonical Inception-2015-12-05, only when its weights are found offline;
  otherwise the columns say n/a.

Cycle models (cyclegan, dualgan, discogan) translate digits (A) to inverted digits (B);
their samples are G_ab(a) for the domain-A images (N = 800 fits the 898 of them), scored
against domain B: same features and N, a different target, so they get their own table.
Reference rows score N real images (at most half the reference set) against the rest of it.

Writes docs/GAN_RESULTS.md, docs/gan/<variant>.png (64-sample grids; cycle models show
a | G_ab(a) | G_ba(G_ab(a))) and the runs under --runs.

The convergence protocol (``--converge``) trains each variant in chunks until its
FID_domain curve plateaus or a cap, on ``--data digits`` or ``--data smoke`` (the 32²
plume frames of the domain:smoke classifier), for every seed of ``--seeds``:

    python benchmarks/gan_leaderboard.py --converge --variants dcgan,wgan_gp --seeds 0,1 \
        --chunk 150 --patience 2 --tol 0.05 --max-iterations 1500,wgan_gp=3000
    python benchmarks/gan_leaderboard.py --converge --extend ... --max-iterations 1500,wgan_gp=6000
    python benchmarks/gan_leaderboard.py --canonical 1000 --variants dcgan,wgan_gp

Several batches may run at once (each merges its curves into the results file after
every evaluation, under a lock); ``--extend`` continues curves stopped by a lower cap
from their checkpoints (the same curve a fresh run gives) and keeps the others;
``--canonical N`` adds canonical Inception FID (fp32, pool3) of N samples of each
converged digits model (first seed). Every batch also scores N real images of the data
set's reference sets (the table's 'real' rows, as above); ``--references``
does only that, for results written before the rows existed.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import json
import platform
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from fluidgan.errors import UserError  # noqa: E402
from fluidgan.gan import trainer  # noqa: E402
from fluidgan.gan.config import image_size, load_config, preset_names  # noqa: E402
from fluidgan.gan.data import load_dataset, two_domains  # noqa: E402
from fluidgan.gan.metrics import metric_fn  # noqa: E402
from fluidgan.gan.sample import generate, reference_images, save_grid, to_uint8  # noqa: E402
from fluidgan.io.atomic import write_text  # noqa: E402
from fluidgan.metrics.cache import write_atomic  # noqa: E402
from fluidgan.metrics.images import as_nhwc  # noqa: E402
from fluidgan.registry import Registry  # noqa: E402

SETTINGS = [  # no metric or grid inside the budget; evaluation happens after it
    "eval.metrics=[]",
    "train.iterations=1000000",
    "train.sample_every=1000000",
    "train.checkpoint_every=1000000",
    "train.log_every=25",
]
CYCLE = "cycle"


def target(game: str) -> str:
    """What the samples imitate: digits, or domain B for the two-mapping models."""
    return CYCLE if game == CYCLE else "digits"


@dataclass
class Row:
    name: str
    game: str
    iterations: int
    cpu_seconds: float
    wall_seconds: float
    metrics: dict[str, float] = field(default_factory=dict)
    grid: str = ""


def evaluators(
    name: str, n: int, inception: bool, data_sets: tuple[str, ...] = ()
) -> dict[str, object]:
    """Metric functions (fake, real) -> metrics for the data set's domain classifier
    (``data_sets``: the preset options selecting it; digits by default) and, with
    ``inception``, canonical Inception (FID only when the weights found lack logits)."""
    out = {}
    choices = [("auto", "['fid', 'is']")]
    if inception:
        choices += [("inception", "['fid', 'is']"), ("inception", "['fid']")]
    for features, metrics in choices:
        if features in out:
            continue
        sets = [
            *data_sets,
            f"eval.metrics={metrics}",
            f'eval.features="{features}"',
            f"eval.samples={n}",
        ]
        try:
            fn, _ = metric_fn(load_config(name, sets=sets))
        except UserError as e:
            print(f"  {features} {metrics}: n/a ({e})", flush=True)
            continue
        out[features] = fn
    return out


#: Per target and data set: reference statistics computed once.
EVALUATORS: dict[tuple[str, str], dict[str, object]] = {}


def evaluators_for(game: str, name: str, args: argparse.Namespace) -> dict[str, object]:
    key = (game, args.data_name)
    if key not in EVALUATORS:
        EVALUATORS[key] = evaluators(name, args.n, args.inception, args.data.sets)
    return EVALUATORS[key]


def score(images: np.ndarray, real: np.ndarray, fns: dict[str, object]) -> dict[str, float]:
    metrics: dict[str, float] = {}
    for fn in fns.values():
        metrics.update(fn(images, real))
    return metrics


def run_variant(name: str, args: argparse.Namespace, docs: Path) -> Row:
    cfg = load_config(name, sets=[*SETTINGS, f"train.seed={args.seed}"])
    out = Path(args.runs) / name
    t0 = time.perf_counter()
    result = trainer.train(cfg, out, max_seconds=args.cpu_seconds, clock=time.process_time)
    row = Row(
        name,
        cfg.model.game,
        result["iterations"],
        result["budget_seconds"],
        time.perf_counter() - t0,
    )
    run = trainer.restore(out)
    images = to_uint8(generate(run, args.n, seed=1, truncation=cfg.train.truncation))
    fns = evaluators_for(target(cfg.model.game), name, args)
    row.metrics = score(images, reference_images(run), fns)
    grid = docs / "gan" / f"{name}.png"
    save_grid(to_uint8(generate(run, 64, seed=1, preview=True)), grid, columns=8)
    row.grid = grid.relative_to(docs).as_posix()
    return row


def reference_rows(args: argparse.Namespace, data: ProtocolData | None = None) -> list[Row]:
    """N real images of each of ``data``'s reference sets (default: digits; at most half
    of a set) scored like samples against the rest of that set: the floor a generator
    can reach at this N (the same images on both sides would score exactly 0)."""
    data = data or PROTOCOL_DATA.get("digits")
    rows = []
    for name, label in data.references:
        run = trainer.build_run(load_config(name, sets=[*SETTINGS, *data.sets]))
        real = reference_images(run)
        order = np.random.default_rng(args.seed).permutation(len(real))
        n = min(args.n, len(real) // 2)
        row = Row(label, "reference", 0, 0.0, 0.0)
        fns = evaluators(name, n, args.inception, data.sets)
        row.metrics = {**score(real[order[:n]], real[order[n:]], fns), "n": n}
        rows.append(row)
    return rows


# --- convergence protocol ---------------------------------------------------------------


def plateaued(fids: list[float], patience: int, tol: float) -> bool:
    """The plateau rule: the best FID of the last ``patience`` evaluations is no more than
    ``tol`` (relative) below the best of all evaluations before them."""
    if len(fids) <= patience:
        return False
    return min(fids[-patience:]) > (1.0 - tol) * min(fids[:-patience])


RUNNING = "running"


def stops(curve: Curve, args: argparse.Namespace) -> bool:
    """Whether the protocol stops ``curve`` by its plateau rule: never before
    ``--min-iterations`` (models whose FID rises for their first chunks before it falls,
    as the MLP games on smoke frames do, are not stopped on that rise)."""
    return (
        bool(curve.iterations)
        and curve.iterations[-1] >= curve.min_iterations
        and plateaued(curve.fid, args.patience, args.tol)
    )


@dataclass
class Curve:
    """One variant and seed trained until its FID_domain curve plateaus."""

    name: str
    game: str
    seed: int
    iterations: list[int] = field(default_factory=list)
    fid: list[float] = field(default_factory=list)
    inception_score: list[float] = field(default_factory=list)
    cpu_seconds: float = 0.0
    status: str = ""  # plateau | max_iterations | running (its batch has not finished it)
    max_iterations: int = 0  # this variant's cap (0: the saved settings' one)
    min_iterations: int = 0  # no plateau stop before it
    n: int = 0  # samples per evaluation, where fewer than --n exist (0: --n)
    classifier: str = ""  # the domain classifier's identity at the last evaluation


@dataclass(frozen=True)
class ProtocolData:
    """A data set of the convergence protocol: the preset options that select it, how the
    report names it, and where its curves, grids and runs go."""

    sets: tuple[str, ...]
    label: str
    suffix: str  # of convergence<suffix>.json and the runs folder converge<suffix>
    folder: str  # under docs/gan/
    note: str = ""  # what a reader of this data set's table should know
    domain: str = "digits"  # the domain classifier that scores it (domain:<name>)
    # (preset, label) of the real-image rows: N real images of the set that preset's
    # samples are scored against
    references: tuple[tuple[str, str], ...] = (
        ("dcgan", "real digits"),
        ("cyclegan", "real domain B"),
    )

    def json_path(self, docs: Path) -> Path:
        return docs / "gan" / f"convergence{self.suffix}.json"

    def grids(self, docs: Path) -> Path:
        return docs / "gan" / self.folder


PROTOCOL_DATA: Registry[ProtocolData] = Registry("protocol data set", ordered=True)
PROTOCOL_DATA.register("digits")(
    ProtocolData((), "digits, 16×16 (domain:digits features)", "", "converged")
)
PROTOCOL_DATA.register("smoke")(
    ProtocolData(
        ('data.name="smoke_frames"', "data.size=32"),
        "smoke frames, 32×32 (domain:smoke features)",
        "_smoke",
        "converged/smoke",
        " Two-mapping models (cyclegan, discogan, dualgan): domain B is the inverted "
        "frames, which the smoke classifier puts in one class (IS_domain 1); their "
        "FID_domain is against those, where inverting domain A exactly scores near 0 "
        "(two halves of one set).",
        references=(("dcgan", "real frames"), ("cyclegan", "real inverted frames")),
        domain="smoke",
    )
)


def parse_caps(text: str, option: str = "--max-iterations") -> dict[str, int]:
    """``--max-iterations`` / ``--min-iterations``: '1500' or '1500,cgan=6000,mmgan=6000'
    -> {'': 1500, 'cgan': ...} (the key '' is every other variant's value)."""
    caps: dict[str, int] = {}
    for part in str(text).split(","):
        name, _, value = part.rpartition("=")
        try:
            caps[name.strip()] = int(value)
        except ValueError:
            raise UserError(f"{option}: {part!r} is not N or VARIANT=N") from None
    if "" not in caps:
        raise UserError(f"{option} needs a default (a plain number)")
    return caps


def caps_text(caps: dict[str, int]) -> str:
    return ",".join([str(caps[""]), *(f"{k}={v}" for k, v in sorted(caps.items()) if k)])


def converge_variant(
    name: str,
    seed: int,
    args: argparse.Namespace,
    start: Curve | None = None,
    publish: Callable[[Curve], None] = lambda curve: None,
) -> Curve:
    """Train ``name`` in chunks of ``--chunk`` iterations (resuming its checkpoint),
    scoring FID_domain / IS_domain of ``--n`` samples after each, until
    :func:`stops` or its cap; ``publish`` gets the curve after every evaluation (status
    'running') and at the end. ``start``: a saved curve that was interrupted, or stopped
    by its cap (or by the plateau rule before a now higher ``--min-iterations``), whose
    checkpoint is still there, continued instead of retrained (training resumes exactly,
    so the curve is the one an uninterrupted run with these settings gives)."""
    cfg = load_config(name, sets=[*SETTINGS, *args.data.sets, f"train.seed={seed}"])
    out = Path(args.runs) / f"converge{args.data.suffix}" / f"{name}_seed{seed}"
    cap = args.caps.get(name, args.caps[""])
    curve = start or Curve(name, cfg.model.game, seed)
    curve.status, curve.max_iterations = "", cap
    curve.min_iterations = args.mins.get(name, args.mins[""])
    fns = evaluators_for(target(cfg.model.game), name, args)
    total = curve.iterations[-1] if curve.iterations else 0
    cpu0 = time.process_time() - curve.cpu_seconds
    while total < cap and not stops(curve, args):
        total = min(total + args.chunk, cap)
        trainer.train(cfg, out, iterations=total, resume=total > args.chunk)
        run = trainer.restore(out)  # a two-mapping model translates at most its domain A
        curve.n = min(args.n, run.game.capacity(run.sources) or args.n)
        images = to_uint8(generate(run, curve.n, seed=1, truncation=cfg.train.truncation))
        m = score(images, reference_images(run), fns)
        curve.iterations.append(total)
        curve.fid.append(m["fid_domain"])
        curve.inception_score.append(m["is_domain"])
        curve.status, curve.cpu_seconds = RUNNING, time.process_time() - cpu0
        curve.classifier = classifier_identity(args.data.domain)
        publish(curve)
        print(f"  {name} seed {seed}: {total} it  FID_domain {m['fid_domain']:.2f}", flush=True)
    curve.status = "plateau" if stops(curve, args) else "max_iterations"
    if seed == (0 if 0 in args.seeds else args.seeds[0]):  # the grid shows seed 0
        grid = args.data.grids(Path(args.docs)) / f"{name}.png"
        grid.parent.mkdir(parents=True, exist_ok=True)
        run = trainer.restore(out)
        save_grid(to_uint8(generate(run, 64, seed=1, preview=True)), grid, columns=8)
    curve.cpu_seconds = time.process_time() - cpu0
    publish(curve)
    return curve


def resumable(saved: dict | None, name: str, seed: int, args: argparse.Namespace) -> Curve | None:
    """The saved curve of (name, seed) under the same protocol that continues instead of
    being retrained: one whose batch was interrupted ('running'; its checkpoint is at
    most one chunk past the curve's last evaluation); with ``--extend`` also one whose
    checkpoint is at its last iteration and that was stopped by a cap no higher than
    the new one, or by the plateau rule before ``--min-iterations``; one that plateaued
    after it is kept (rerunning it would give the same curve)."""
    curve = saved_curve_of(saved, name, seed, args)
    if curve is None:
        return None
    out = Path(args.runs) / f"converge{args.data.suffix}" / f"{name}_seed{seed}"
    at, last = saved_iteration(out), curve.iterations[-1]
    if curve.status == RUNNING:
        return curve if at is not None and last <= at <= last + args.chunk else None
    continues = curve.status == "plateau" or curve.max_iterations <= args.caps.get(
        name, args.caps[""]
    )
    return curve if args.extend and continues and at == last else None


def saved_curve_of(
    saved: dict | None, name: str, seed: int, args: argparse.Namespace
) -> Curve | None:
    """The saved curve of (name, seed), where the results were measured under the same
    protocol and it has at least one evaluation; else None."""
    if not (saved and same_protocol(saved["settings"], args)):
        return None
    for curve in saved_curves(saved):
        if (curve.name, curve.seed) == (name, seed) and curve.iterations:
            return curve
    return None


def saved_iteration(out: Path) -> int | None:
    """The iteration of the checkpoint in ``out``; None when there is none."""
    try:
        return trainer.restore(out).iteration
    except UserError:
        return None


def saved_curves(saved: dict) -> list[Curve]:
    """The curves of a results file; a curve without its own cap or minimum has the
    default one."""
    info = saved["settings"]
    defaults = {
        "max_iterations": info["max_iterations"],
        "min_iterations": info.get("min_iterations", 0),
    }
    return [Curve(**{**defaults, **c}) for c in saved["curves"]]


def same_protocol(settings: dict, args: argparse.Namespace) -> bool:
    return all(settings.get(k) == getattr(args, k) for k in ("chunk", "patience", "tol", "n"))


def plot_curves(curves: list[Curve], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = sorted({c.name for c in curves})
    cols = min(len(names), 6)
    rows = -(-len(names) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(2.6 * cols, 2.2 * rows), squeeze=False)
    for ax in axes.flat[len(names) :]:
        ax.set_visible(False)
    for ax, name in zip(axes.flat, names, strict=False):
        for c in (c for c in curves if c.name == name):
            ax.plot(c.iterations, c.fid, marker=".", label=f"seed {c.seed}")
        ax.set_title(name, fontsize=9)
        ax.set_yscale("log")
        ax.set_xlabel("iteration", fontsize=8)
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel("FID_domain")
    axes[0][0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def convergence_lines(
    saved: dict, data_name: str = "digits", canonical_rows: dict | None = None
) -> list[str]:
    """The convergence table of one data set: a row per variant, mean ± half the spread
    over the seeds; with ``canonical_rows`` (docs/gan/canonical.json) a column of
    canonical Inception FID of the first seed's final model."""
    info, data = saved["settings"], PROTOCOL_DATA.get(data_name)
    curves = saved_curves(saved)
    caps = {"": info["max_iterations"]}
    caps.update({c.name: c.max_iterations for c in curves if c.max_iterations != caps[""]})
    mins = {"": info.get("min_iterations", 0)}
    mins.update({c.name: c.min_iterations for c in curves if c.min_iterations != mins[""]})
    folder = f"gan/{data.folder}"
    lines = [
        f"## Convergence protocol: {data.label}",
        "",
        f"Reproduce: `python benchmarks/gan_leaderboard.py --converge --data {data_name} "
        f"--variants {','.join(sorted({c.name for c in curves}))} --seeds "
        f"{','.join(map(str, sorted({c.seed for c in curves})))} --chunk {info['chunk']} "
        f"--patience "
        f"{info['patience']} --tol {info['tol']:g} --max-iterations {caps_text(caps)} "
        f"--n {info['n']}{min_option(mins)}` ({info['wall_minutes']:g} min of wall time "
        f"summed over the batches it was run in; {info['machine']}; last written "
        f"{info['written']}). "
        "Continue curves stopped by a cap with a higher cap and `--extend` (training "
        "resumes exactly, so the curve is the one a fresh run gives).",
        "",
        f"Each variant trains in chunks of {info['chunk']} iterations; after each chunk "
        f"FID_domain / IS_domain of N = {info['n']} samples are measured (same features "
        "and references as above). **Plateau rule**: stop when the best FID_domain of the "
        f"last {info['patience']} evaluations is no more than {info['tol']:.0%} below the "
        f"best before them{min_text(mins)}; otherwise stop at the variant's cap (column "
        "'cap'; status 'max_iterations': not converged). Values are mean ± half the "
        "spread over the seeds, at the last evaluation; CPU s is the training + "
        "evaluation cost per seed.",
        "",
        "| variant | seeds | iterations | cap | status | CPU s / seed | FID_domain ↓ "
        "| best FID_domain (iteration) | IS_domain ↑ |"
        + (" FID (Inception) ↓ |" if canonical_rows else "")
        + " samples |",
        "|---|---:|---:|---:|---|---:|---:|---:|---:|"
        + ("---:|" if canonical_rows else "")
        + "---|",
    ]

    def pm(values: list[float]) -> str:
        mid = float(np.mean(values))
        return f"{mid:.2f} ± {(max(values) - min(values)) / 2:.2f}"

    for name in sorted({c.name for c in curves}):
        cs = [c for c in curves if c.name == name]
        its = "/".join(str(c.iterations[-1]) for c in cs)
        status = "/".join(c.status for c in cs)  # per seed, like the iterations
        caps = [str(c.max_iterations) for c in cs]  # per seed where a seed was extended
        cap = "/".join(caps) if len(set(caps)) > 1 else caps[0]
        cpu = float(np.mean([c.cpu_seconds for c in cs]))
        lines.append(
            f"| {name} | {len(cs)} | {its} | {cap} | {status} | {cpu:.0f} "
            f"| {pm([c.fid[-1] for c in cs])} | {best(cs)} "
            f"| {pm([c.inception_score[-1] for c in cs])} "
            + (f"| {canonical_cell(canonical_rows, cs[0])} " if canonical_rows else "")
            + f"| {samples_cell(cs, name, folder)} |"
        )
    for ref in saved.get("references", []):
        m = ref["metrics"]
        lines.append(
            f"| {ref['name']} (N = {m['n']}) | — | — | — | reference | — "
            f"| {m['fid_domain']:.2f} | — | {m['is_domain']:.2f} "
            + ("| — " if canonical_rows else "")
            + "| — |"
        )
    if canonical_rows:
        lines[lines.index("") + 1 : lines.index("") + 1] = canonical_note(canonical_rows)
    missing = sorted(set(preset_names()) - {c.name for c in curves})
    capped = sorted({c.name for c in curves if c.status == "max_iterations"})
    running = sorted({c.name for c in curves if c.status == RUNNING})
    fewer = sorted({(c.name, c.n) for c in curves if c.n and c.n != info["n"]})
    lines += [
        "",
        f"![FID_domain curves, {data_name}]({folder}/curves.png)",
        "",
        "**Not run through this protocol on this data set:** "
        + (", ".join(missing) if missing else "none")
        + ". **Stopped by their cap (not converged):** "
        + (", ".join(capped) if capped else "none")
        + "."
        + (
            f" **Still training (status 'running': not finished yet):** {', '.join(running)}."
            if running
            else ""
        ),
        "",
        "Reading it: FID_domain is the last evaluation's, so a noisy curve can stop on an"
        " upswing; 'best' is each seed's lowest value and its iteration (selected on the "
        "metric itself, so optimistic); the curves show the whole run. fgan is the "
        "Jensen–Shannon f-GAN, the same game as the non-saturating GAN up to constants, "
        "with dcgan's networks and seeds: scored with the same classifier weights the two "
        "curves are the same, evaluation for evaluation (training repeats exactly); "
        "under other weights they are not (a note below lists them where curves differ "
        "in their weights). Class-"
        "conditional models sample balanced labels, so their IS_domain can exceed that of"
        " N real images."
        + data.note
        + (
            " Fewer samples per evaluation (a two-mapping model translates its domain-A "
            "images, against its domain B; here fewer than N): "
            + ", ".join(f"{name} N = {n}" for name, n in fewer)
            + "."
            if fewer
            else ""
        ),
        "",
        *classifier_note(curves, data.domain, saved.get("references", [])),
    ]
    return lines


def classifier_note(curves: list[Curve], domain: str, references: list[dict] = ()) -> list[str]:
    """A paragraph naming which curves (and real rows) were scored with which domain
    classifier, when they were not all scored with the same one (nothing otherwise)."""
    groups: dict[str, set[str]] = {}
    for c in curves:
        groups.setdefault(c.classifier or "not recorded", set()).add(f"{c.name} {c.seed}")
    for r in references:
        groups.setdefault(r.get("classifier") or "not recorded", set()).add(r["name"])
    if len(groups) < 2:
        return []
    return [
        f"**Not all curves were scored with the same `domain:{domain}` weights.** The "
        "classifier was trained on first use on each machine, and training is not bitwise "
        "reproducible across machines (nor across processes on one), so FID_domain under "
        "other weights is not strictly comparable. The weights now ship with the package "
        "(`fluidgan/metrics/classifiers/`, the ones most curves here used); per classifier "
        "(variant seed): "
        + "; ".join(f"{k}: {', '.join(sorted(v))}" for k, v in sorted(groups.items()))
        + ".",
        "",
    ]


def samples_cell(curves: list[Curve], name: str, folder: str) -> str:
    """The grid of the first seed's final model; none while a seed is still training
    (a grid on disk may be an earlier run's)."""
    if any(c.status == RUNNING for c in curves):
        return "still training"
    return f"![{name}]({folder}/{name}.png)"


def min_option(mins: dict[str, int]) -> str:
    return f" --min-iterations {caps_text(mins)}" if any(mins.values()) else ""


def min_text(mins: dict[str, int]) -> str:
    """The plateau rule's minimum, in words: 'not before iteration 900 (cgan: 1500; why: …)'."""
    if not any(mins.values()):
        return ""
    own = "".join(f"{k}: {v}; " for k, v in sorted(mins.items()) if k)
    return (
        f", but not before iteration {mins['']} ({own}why: "
        "[gan/DYNAMICS.md](gan/DYNAMICS.md#smoke-frames-the-mlp-games-get-worse-before-they-learn))"
    )


def best(curves: list[Curve]) -> str:
    """Each seed's lowest FID_domain and where it was reached: a noisy curve's last value
    can sit on an upswing; the best one is selected on the metric itself (optimistic)."""
    cells = []
    for c in curves:
        k = int(np.argmin(c.fid))
        cells.append(f"{c.fid[k]:.1f} ({c.iterations[k]})")
    return " / ".join(cells)


def canonical_cell(rows: dict, curve: Curve) -> str:
    """The canonical FID of the variant's first-seed model; n/a when not measured or
    measured on an older checkpoint than the curve's last."""
    row = rows.get(curve.name)
    return f"{row['fid']:.1f}" if row and row["iteration"] == curve.iterations[-1] else "n/a"


def canonical_note(rows: dict) -> list[str]:
    rates = [r["images_per_cpu_second"] for r in rows.values()]
    n = sorted({r["n"] for r in rows.values()})
    return [
        f"Canonical Inception FID (column 'FID (Inception)'): N = {'/'.join(map(str, n))} "
        "samples of the first seed's final model against all 1797 training digits (the "
        "two-mapping models translate the first N digits as domain A shows them, half "
        "of them held out, against all 1797 through the domain-B transform: their "
        "domain A alone has 898), Inception-2015-12-05 pool3 in fp32 on the CPU at "
        f"{min(rates):.1f}–{max(rates):.1f} images per CPU-second (one thread); "
        "`python benchmarks/gan_leaderboard.py --canonical 1000 --variants …`. "
        "Comparable with published FIDs in definition only: these are 16×16 digits "
        "upsampled to 299×299, and FID at N = 1000 is biased upwards.",
        "",
    ]


def converge(args: argparse.Namespace, names: list[str], docs: Path) -> Path:
    """Run the protocol for ``names`` on ``--data``, each curve merged into the saved
    results after every evaluation (an interrupted batch keeps what it measured, and
    the same command resumes it)."""
    path = args.data.json_path(docs)
    references = reference_rows(args, args.data)
    saved = json.loads(path.read_text()) if path.exists() else None
    since = time.perf_counter()

    def publish(curve: Curve) -> None:
        nonlocal since
        now = time.perf_counter()
        merge_curve(args, docs, curve, (now - since) / 60, references)
        since = now

    for name in names:
        for seed in args.seeds:
            start = resumable(saved, name, seed, args)
            if start is None and (done := finished(saved, name, seed, args)):
                print(f"  {name} seed {seed}: {done.status} at {done.iterations[-1]} it, kept")
                continue
            converge_variant(name, seed, args, start, publish)
    return path


def finished(saved: dict | None, name: str, seed: int, args: argparse.Namespace) -> Curve | None:
    """With ``--extend``, the saved curve of (name, seed) under the same protocol that is
    complete for these settings — plateaued at or after ``--min-iterations``, or stopped
    by a cap no lower than the new one — kept as it is even where its checkpoint is gone
    (a fresh checkout): training is exactly repeatable, so rerunning it would only
    redraw the same curve."""
    curve = saved_curve_of(saved, name, seed, args)
    if not (args.extend and curve):
        return None
    cap, least = args.caps.get(name, args.caps[""]), args.mins.get(name, args.mins[""])
    plateau = curve.status == "plateau" and curve.iterations[-1] >= least
    capped = curve.status == "max_iterations" and curve.max_iterations >= cap
    return curve if plateau or capped else None


def merge_curve(
    args: argparse.Namespace, docs: Path, curve: Curve, minutes: float, references: list[Row]
) -> None:
    """Put ``curve`` into the data set's results, keeping the other curves measured under
    the same protocol (same chunk, patience, tol and N; other batches may write
    meanwhile: under the lock), add ``minutes`` of wall time, redraw the curves; the
    real-image rows are ``references`` (scored at this N)."""
    path = args.data.json_path(docs)
    info = settings(args, minutes)
    info.update(
        chunk=args.chunk,
        patience=args.patience,
        tol=args.tol,
        max_iterations=args.caps[""],
        min_iterations=args.mins[""],
        seeds=args.seeds,
        data=args.data_name,
    )
    with locked(Path(args.runs)):
        saved = json.loads(path.read_text()) if path.exists() else None
        curves = [curve]
        if saved and same_protocol(saved["settings"], args):
            curves = saved_curves(saved)
            keys = [(c.name, c.seed) for c in curves]
            if (curve.name, curve.seed) in keys:
                curves[keys.index((curve.name, curve.seed))] = curve
            else:
                curves.append(curve)
            minutes += saved["settings"].get("wall_minutes", 0.0)
            info["wall_minutes"] = round(minutes, 1)
        args.data.grids(docs).mkdir(parents=True, exist_ok=True)
        plot_curves(curves, args.data.grids(docs) / "curves.png")
        records = [saved_curve(c, info) for c in curves]
        refs = [reference_record(r, args) for r in references]
        write_json(path, {"settings": info, "curves": records, "references": refs})


def merge_references(args: argparse.Namespace, docs: Path, refs: list[Row]) -> None:
    """Put the real-image rows of the data set into its saved results (a protocol batch
    writes them with its curves; this fills in results written before it did)."""
    path = args.data.json_path(docs)
    with locked(Path(args.runs)):
        if not path.exists():
            raise UserError(f"{path}: no results yet (a protocol batch scores the real rows)")
        saved = json.loads(path.read_text())
        if not same_protocol(saved["settings"], args):
            keys = ", ".join(
                f"--{k} {saved['settings'][k]}" for k in ("chunk", "patience", "tol", "n")
            )
            raise UserError(f"{path}: measured with {keys}; give the same options")
        saved["references"] = [reference_record(r, args) for r in refs]
        write_json(path, saved)


def reference_record(row: Row, args: argparse.Namespace) -> dict:
    """A real-image row as saved: with the identity of the classifier that scored it."""
    return {**row.__dict__, "classifier": classifier_identity(args.data.domain)}


@contextlib.contextmanager
def locked(folder: Path):
    """An exclusive lock (a file in ``folder``, the runs) around a read-modify-write of
    the results: several protocol batches may run at once."""
    import fcntl

    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "results.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def write_json(path: Path, data: object) -> None:
    """Write ``data`` to ``path`` atomically (a reader never sees half a file)."""
    write_text(path, json.dumps(data, indent=1))


def saved_curve(curve: Curve, info: dict) -> dict:
    """A curve as saved: its cap and minimum only where they differ from the defaults."""
    record = dict(curve.__dict__)
    for key in ("max_iterations", "min_iterations"):
        if record[key] == info.get(key, 0):
            del record[key]
    if record["n"] in (0, info["n"]):
        del record["n"]
    return record


# --- canonical Inception FID of the converged digits models ------------------------------


def sample_view(run: trainer.Run, n: int) -> tuple[trainer.Run, str]:
    """The run as canonical FID draws and scores ``n`` samples, and its reference's cache
    key.

    Noise models: the run itself (its samples imitate the training images). Two-mapping
    models translate their domain-A images (half the data set); where those are fewer
    than ``n`` (digits: 898 < 1000), they translate every image of the data set — the
    half they trained on and the held-out half, as domain A shows them — against every
    image through the domain-B transform (``two_domains(..., paired=True)``)."""
    limit = run.game.capacity(run.sources)
    if limit is None or limit >= n:
        return run, target(run.cfg.model.game)
    d = run.cfg.data
    data = load_dataset(d.name, size=image_size(d), channels=d.channels, path=d.path, **d.options)
    a, b = two_domains(data, d.domain_b, True, run.cfg.train.seed)
    return replace(run, sources=[{"a": a}, {"b": b}]), f"{target(run.cfg.model.game)}_all"


def inception_reference(run: trainer.Run, key: str, extractor, cache: Path):
    """Gaussian statistics of the real images ``run`` imitates (:func:`sample_view`)
    under the Inception pool3 features, cached in ``cache`` under ``key`` with the
    weights' identity."""
    from fluidgan.metrics.fid import GaussianStats, gaussian_stats

    ident = json.dumps(extractor.identity(), sort_keys=True, default=str)
    path = cache / f"inception_reference_{key}.npz"
    if path.exists():
        with np.load(path) as z:
            if str(z["identity"]) == ident:
                return GaussianStats(z["mu"], z["sigma"], int(z["n"]))
    real = reference_images(run)
    stats = gaussian_stats(extractor.extract(as_nhwc(real, "reference"), 50, progress=True).pool)
    cache.mkdir(parents=True, exist_ok=True)
    write_atomic(
        path, lambda f: np.savez(f, mu=stats.mu, sigma=stats.sigma, n=stats.n, identity=ident)
    )
    return stats


def canonical(args: argparse.Namespace, names: list[str], docs: Path) -> Path:
    """Canonical Inception FID (pool3, fp32) of ``--canonical`` samples from the
    first seed's converged checkpoint of each variant of the digits protocol; results
    (and the measured extractor rate) go to docs/gan/canonical.json, one variant at a
    time, so an interrupted run keeps what it finished."""
    from fluidgan.metrics.features import ExtractorOptions, get_extractor
    from fluidgan.metrics.fid import fid_to_features

    saved = json.loads(PROTOCOL_DATA.get("digits").json_path(docs).read_text())
    extractor = get_extractor("inception", ExtractorOptions(device="cpu"))
    path = docs / "gan" / "canonical.json"
    seed = min(c["seed"] for c in saved["curves"])
    for c in saved["curves"]:
        if c["name"] not in names or c["seed"] != seed:
            continue
        out = Path(args.runs) / "converge" / f"{c['name']}_seed{seed}"
        run = trainer.restore(out)
        if run.iteration != c["iterations"][-1]:
            raise UserError(f"{out}: checkpoint at {run.iteration}, curve at {c['iterations'][-1]}")
        run, key = sample_view(run, args.canonical)
        ref = inception_reference(run, key, extractor, Path(args.runs))
        t0, cpu0 = time.perf_counter(), time.process_time()
        images = to_uint8(
            generate(run, args.canonical, seed=1, truncation=run.cfg.train.truncation)
        )
        fid = fid_to_features(ref, extractor.extract(as_nhwc(images, "samples"), 50).pool)
        rate = args.canonical / (time.process_time() - cpu0)
        print(f"  {c['name']}: Inception FID {fid:.2f} ({rate:.2f} images/CPU-s)", flush=True)
        record(
            path,
            c["name"],
            {
                "iteration": run.iteration,
                "seed": seed,
                "fid": fid,
                "n": args.canonical,
                "images_per_cpu_second": rate,
                "wall_seconds": time.perf_counter() - t0,
            },
            Path(args.runs),
        )
    return path


def record(path: Path, name: str, row: dict, runs: Path) -> None:
    """Add ``row`` under ``name`` in the JSON file at ``path`` (locked: several processes
    may score different variants at once)."""
    with locked(runs):
        rows = json.loads(path.read_text()) if path.exists() else {}
        rows[name] = {**row, "machine": settings_machine(), "written": now()}
        write_json(path, rows)


def canonical_rows(docs: Path) -> dict | None:
    path = docs / "gan" / "canonical.json"
    return json.loads(path.read_text()) if path.exists() else None


def settings_machine() -> str:
    return f"{platform.machine()}, Python {platform.python_version()}, torch {torch.__version__}"


def now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def fmt(value: float | None, digits: int = 2) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def table(rows: list[Row], reference: Row) -> list[str]:
    lines = [
        "| variant | iterations | CPU s | wall s | FID_domain ↓ | IS_domain ↑ | FID ↓ | IS ↑ "
        "| samples |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    ordered = sorted(rows, key=lambda r: r.metrics.get("fid_domain", float("inf")))
    for r in [*ordered, reference]:
        m = r.metrics
        grid = f"![{r.name}]({r.grid})" if r.grid else "—"
        its = str(r.iterations) if r.game != "reference" else "—"
        cpu = fmt(r.cpu_seconds, 0) if r.game != "reference" else "—"
        wall = fmt(r.wall_seconds, 0) if r.game != "reference" else "—"
        lines.append(
            f"| {r.name} | {its} | {cpu} | {wall} | {fmt(m.get('fid_domain'))} "
            f"| {fmt(m.get('is_domain'))} | {fmt(m.get('fid'))} | {fmt(m.get('is'))} | {grid} |"
        )
    return lines


def settings(args: argparse.Namespace, wall_minutes: float) -> dict:
    """What the report states about the run, saved with the results."""
    return {
        "cpu_seconds": args.cpu_seconds,
        "n": args.n,
        "seed": args.seed,
        "inception": args.inception,
        "wall_minutes": round(wall_minutes, 1),
        "machine": settings_machine(),
        "written": now(),
        "classifier": classifier_identity(args.data.domain),
    }


@functools.lru_cache
def classifier_identity(domain: str = "digits") -> str:
    """The domain:``domain`` classifier's weights digest and test accuracy (FID_domain and
    IS_domain are only comparable under the same weights: they ship with the package, and
    a machine without them for its torch version trains its own)."""
    from fluidgan.metrics.features import get_extractor

    net = get_extractor(f"domain:{domain}")
    return f"weights sha1 {net.weights_digest[:12]}, test accuracy {net.info['test_accuracy']:.1%}"


def write_report(rows: list[Row], refs: list[Row], info: dict, docs: Path) -> Path:
    """docs/GAN_RESULTS.md from the rows, and docs/gan/results.json to rebuild it from."""
    args = argparse.Namespace(**info)
    command = "python benchmarks/gan_leaderboard.py" + (
        f" --cpu-seconds {args.cpu_seconds:g} --n {args.n} --seed {args.seed}"
        + (" --inception" if args.inception else "")
    )
    inception = any("fid" in r.metrics for r in rows)
    lines = [
        "# GAN variants: a small leaderboard",
        "",
        f"Reproduce: `{command}` ({len(rows)} variants; this run took "
        f"{args.wall_minutes:g} min of wall time on a shared 2-core machine).",
        "",
        "* Data: scikit-learn digits, 1797 images of 8×8 upsampled to **16×16**, 1 channel.",
        f"* Budget: **{args.cpu_seconds:g} CPU-seconds** of training per variant (process CPU "
        "time, one torch thread; every preset with its own settings: batch size, networks, "
        "D steps, learning rates). Iterations are what fit in the budget, so cheap models "
        "get many more updates than BigGAN: this ranks *quality per CPU budget* at this tiny "
        "scale, not the methods at their intended scale.",
        f"* Metrics at **N = {args.n}** samples (seed 1; BigGAN with its truncation 1.0) "
        "against all 1797 training images at 16×16. **FID_domain / IS_domain** use the "
        "`domain:digits` classifier of `fluidgan.metrics` (a small CNN trained on these "
        f"digits, inputs resized to 8×8; {args.classifier}): comparable with each other "
        "only, never with "
        "published FID/IS. "
        + (
            "**FID / IS** are the canonical Inception-2015-12-05 metrics at the same N "
            "(IS n/a when the weights found are pool3-only)."
            if inception
            else "**FID / IS** (canonical Inception) were not computed: on this CPU the "
            "Inception network runs at 2–5 images/s per thread, hours for all variants; "
            "add `--inception` to compute them (FID needs the pool3 weights, IS the "
            "full classifier; see `fluidgan gan evaluate --help`)."
        ),
        "* IS_domain of 10 is the ceiling (10 equally frequent, confidently classified "
        "digits); FID depends on N, so compare only at equal N. One seed: differences of "
        "a few FID_domain points are within run-to-run noise.",
        f"* Machine: {args.machine}, shared with other jobs; written {args.written}.",
        *[f"* **Note:** {note}" for note in info.get("notes", [])],
        "* Why BEGAN, DualGAN and EBGAN did not train with their first presets, what their "
        "presets now change and short runs with the new ones: "
        "[gan/DYNAMICS.md](gan/DYNAMICS.md).",
        "",
        "## Unconditional and class-conditional generators (target: digits)",
        "",
        *table([r for r in rows if r.game != CYCLE], refs[0]),
        "",
        "## Two-mapping models (digits → inverted digits; samples are G_ab(a))",
        "",
        "Scored against domain B (inverted training digits) with the same features; the "
        "digits classifier has not seen inverted digits, so these numbers are comparable "
        "among the three models only. Grids show a | G_ab(a) | G_ba(G_ab(a)).",
        "",
        *table([r for r in rows if r.game == CYCLE], refs[1]),
        "",
        "## Reading the table",
        "",
        "* Budget, not method: at equal CPU time the fully connected models (mmgan, nsgan, "
        "cgan) make 10–100× more updates than the convolutional ones, which is why they "
        "lead here; the ranking would change with a larger budget or larger images.",
        "* Class-conditional generators (cgan, acgan, icgan, biggan) sample exactly "
        "balanced labels, so their IS_domain can exceed that of N real images.",
        "* Variants that need many iterations (BEGAN's k_t control, BigGAN, WGAN-GP with 5 "
        "critic steps, EBGAN's autoencoder critic) are far from converged after this "
        "budget: their grids show what the budget buys, not what the method can do.",
        "* Per-variant losses are in each run's `log.jsonl` under `data/gan_leaderboard/`; "
        "`--report-only` rebuilds this page from `docs/gan/results.json`.",
        "",
    ]
    for data_name, data in PROTOCOL_DATA.items():
        converged = data.json_path(docs)
        if converged.exists() and json.loads(converged.read_text())["curves"]:
            scored = canonical_rows(docs) if data_name == "digits" else None
            protocol = json.loads(converged.read_text())
            lines += convergence_lines(protocol, data_name, scored)
            curves = saved_curves(protocol)
            data.grids(docs).mkdir(parents=True, exist_ok=True)
            plot_curves(curves, data.grids(docs) / "curves.png")
    path = docs / "GAN_RESULTS.md"
    path.write_text("\n".join(lines))
    saved = {"settings": info, "rows": [r.__dict__ for r in rows]}
    saved["references"] = [r.__dict__ for r in refs]
    (docs / "gan" / "results.json").write_text(json.dumps(saved, indent=1))
    return path


#: --quick: a seconds-long protocol run (for the tests).
QUICK = {"chunk": 2, "max_iterations": "6", "n": 40, "patience": 1}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cpu-seconds", type=float, default=20.0, help="per variant [20]")
    parser.add_argument("--n", type=int, default=800, help="samples per variant [800]")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--inception",
        action="store_true",
        help="also canonical Inception FID/IS (slow on CPU: a few images/s per thread)",
    )
    parser.add_argument("--variants", help="comma-separated presets [all]")
    parser.add_argument("--runs", default=str(ROOT / "data" / "gan_leaderboard"))
    parser.add_argument("--docs", default=str(ROOT / "docs"))
    parser.add_argument(
        "--report-only", action="store_true", help="rebuild the page from results.json"
    )
    parser.add_argument(
        "--merge", action="store_true", help="keep the saved rows of variants not rerun"
    )
    parser.add_argument(
        "--converge",
        action="store_true",
        help="the convergence protocol instead of the fixed budget (see --chunk ...)",
    )
    parser.add_argument("--seeds", default="0,1", help="convergence: seeds [0,1]")
    parser.add_argument("--chunk", type=int, default=250, help="iterations per evaluation")
    parser.add_argument("--patience", type=int, default=3, help="evaluations without gain")
    parser.add_argument("--tol", type=float, default=0.05, help="relative FID gain that counts")
    parser.add_argument(
        "--max-iterations",
        default="5000",
        help="convergence: the cap, and per-variant caps: 1500,cgan=6000 [5000]",
    )
    parser.add_argument(
        "--min-iterations",
        default="0",
        help="convergence: no plateau stop before it, and per-variant: 900,cgan=1500 [0]",
    )
    parser.add_argument(
        "--data",
        default="digits",
        help=f"convergence: data set ({', '.join(PROTOCOL_DATA)}) [digits]",
    )
    parser.add_argument(
        "--extend",
        action="store_true",
        help="convergence: continue saved curves stopped by a lower cap from their checkpoints",
    )
    parser.add_argument(
        "--canonical",
        type=int,
        metavar="N",
        help="canonical Inception FID of N samples of each converged digits model (seed 0)",
    )
    parser.add_argument(
        "--references",
        action="store_true",
        help="convergence: only score N real images of --data's reference sets (the "
        "table's real rows; a protocol batch does it too)",
    )
    parser.add_argument(
        "--quick", action="store_true", help="a seconds-long protocol run for tests"
    )
    args = parser.parse_args(argv)
    args.seeds = [int(v) for v in str(args.seeds).split(",")]
    if args.quick:  # tiny settings, except those given explicitly
        for key, value in QUICK.items():
            if getattr(args, key) == parser.get_default(key):
                setattr(args, key, value)
    args.caps = parse_caps(args.max_iterations)
    args.mins = parse_caps(args.min_iterations, "--min-iterations")
    args.data_name, args.data = args.data, PROTOCOL_DATA.get(args.data)
    torch.set_num_threads(1)
    docs = Path(args.docs)
    (docs / "gan").mkdir(parents=True, exist_ok=True)
    if args.report_only:
        saved = json.loads((docs / "gan" / "results.json").read_text())
        rows = [Row(**r) for r in saved["rows"]]
        refs = [Row(**r) for r in saved["references"]]
        print(f"wrote {write_report(rows, refs, saved['settings'], docs)}")
        return
    if args.references:
        merge_references(args, docs, reference_rows(args, args.data))
        print(f"wrote {args.data.json_path(docs)}")
        if (docs / "gan" / "results.json").exists():
            main(["--report-only", "--docs", str(docs)])
        return
    names = args.variants.split(",") if args.variants else preset_names()
    if args.canonical or args.converge:
        step = canonical if args.canonical else converge
        print(f"wrote {step(args, names, docs)}")
        if (docs / "gan" / "results.json").exists():  # the page holds both kinds of table
            main(["--report-only", "--docs", str(docs)])
        return
    t0 = time.perf_counter()
    rows = []
    for name in names:
        row = run_variant(name, args, docs)
        rows.append(row)
        print(
            f"{name:14s} {row.iterations:6d} it  {row.cpu_seconds:5.1f} CPU s  "
            f"{row.wall_seconds:5.1f} wall s  {row.metrics}",
            flush=True,
        )
    refs = reference_rows(args)
    info = settings(args, (time.perf_counter() - t0) / 60)
    saved_path = docs / "gan" / "results.json"
    if args.merge and saved_path.exists():  # keep the other variants' rows
        saved = json.loads(saved_path.read_text())
        fresh = {r.name for r in rows}
        rows = [Row(**r) for r in saved["rows"] if r["name"] not in fresh] + rows
        info["notes"] = [
            f"rows of {', '.join(sorted(fresh))} rerun on {info['written']}; the others "
            f"are from the run of {saved['settings']['written']}"
        ]
    path = write_report(rows, refs, info, docs)
    print(f"wrote {path}")


if __name__ == "__main__":
    try:
        main()
    except UserError as e:  # one line, no traceback
        print(f"error: {e}", file=sys.stderr)
        sys.exit(2)
