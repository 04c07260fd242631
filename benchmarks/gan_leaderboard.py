"""A small, honest GAN leaderboard: every preset in configs/gan trained for the same CPU
budget on the same data, scored with the same metrics at the same N.

    /work/venv/bin/python benchmarks/gan_leaderboard.py            # all presets
    /work/venv/bin/python benchmarks/gan_leaderboard.py --cpu-seconds 60 --variants dcgan,wgan_gp

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
Reference rows score N real images drawn from the reference set itself (optimistic).

Writes docs/GAN_RESULTS.md, docs/gan/<variant>.png (64-sample grids; cycle models show
a | G_ab(a) | G_ba(G_ab(a))) and the runs under --runs.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from fluidgan.errors import UserError  # noqa: E402
from fluidgan.gan import trainer  # noqa: E402
from fluidgan.gan.config import load_config, preset_names  # noqa: E402
from fluidgan.gan.metrics import metric_fn  # noqa: E402
from fluidgan.gan.sample import generate, reference_images, save_grid, to_uint8  # noqa: E402

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


def evaluators(name: str, n: int, inception: bool) -> dict[str, object]:
    """Metric functions (fake, real) -> metrics for the domain classifier and, with
    ``inception``, canonical Inception (FID only when the weights found lack logits)."""
    out = {}
    choices = [("domain:digits", "['fid', 'is']")]
    if inception:
        choices += [("inception", "['fid', 'is']"), ("inception", "['fid']")]
    for features, metrics in choices:
        if features in out:
            continue
        sets = [f"eval.metrics={metrics}", f'eval.features="{features}"', f"eval.samples={n}"]
        try:
            fn, _ = metric_fn(load_config(name, sets=sets))
        except UserError as e:
            print(f"  {features} {metrics}: n/a ({e})", flush=True)
            continue
        out[features] = fn
    return out


EVALUATORS: dict[str, dict[str, object]] = {}  # per target: reference statistics computed once


def evaluators_for(game: str, name: str, args: argparse.Namespace) -> dict[str, object]:
    if game not in EVALUATORS:
        EVALUATORS[game] = evaluators(name, args.n, args.inception)
    return EVALUATORS[game]


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


def reference_rows(args: argparse.Namespace) -> list[Row]:
    """N real images scored like samples: the best a generator can do at this N."""
    rows = []
    for name, label in (("dcgan", "real digits"), ("cyclegan", "real domain B")):
        run = trainer.build_run(load_config(name, sets=SETTINGS))
        real = reference_images(run)
        pick = np.random.default_rng(args.seed).permutation(len(real))[: args.n]
        row = Row(label, "reference", 0, 0.0, 0.0)
        fns = evaluators_for(target(run.cfg.model.game), name, args)
        row.metrics = score(real[pick], real, fns)
        rows.append(row)
    return rows


# --- convergence protocol ---------------------------------------------------------------


def plateaued(fids: list[float], patience: int, tol: float) -> bool:
    """The plateau rule: the best FID of the last ``patience`` evaluations is no more than
    ``tol`` (relative) below the best of all evaluations before them."""
    if len(fids) <= patience:
        return False
    return min(fids[-patience:]) > (1.0 - tol) * min(fids[:-patience])


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
    status: str = ""  # plateau | max_iterations


def converge_variant(name: str, seed: int, args: argparse.Namespace) -> Curve:
    """Train ``name`` in chunks of ``--chunk`` iterations (resuming its checkpoint),
    scoring FID_domain / IS_domain of ``--n`` samples after each, until
    :func:`plateaued` or ``--max-iterations``."""
    cfg = load_config(name, sets=[*SETTINGS, f"train.seed={seed}"])
    out = Path(args.runs) / "converge" / f"{name}_seed{seed}"
    curve = Curve(name, cfg.model.game, seed)
    fns = evaluators_for(target(cfg.model.game), name, args)
    total, cpu0 = 0, time.process_time()
    while total < args.max_iterations:
        total = min(total + args.chunk, args.max_iterations)
        trainer.train(cfg, out, iterations=total, resume=total > args.chunk)
        run = trainer.restore(out)
        images = to_uint8(generate(run, args.n, seed=1, truncation=cfg.train.truncation))
        m = score(images, reference_images(run), fns)
        curve.iterations.append(total)
        curve.fid.append(m["fid_domain"])
        curve.inception_score.append(m["is_domain"])
        print(f"  {name} seed {seed}: {total} it  FID_domain {m['fid_domain']:.2f}", flush=True)
        if plateaued(curve.fid, args.patience, args.tol):
            curve.status = "plateau"
            break
    curve.status = curve.status or "max_iterations"
    curve.cpu_seconds = time.process_time() - cpu0
    grid = Path(args.docs) / "gan" / "converged" / f"{name}.png"
    grid.parent.mkdir(parents=True, exist_ok=True)
    if seed == args.seeds[0]:
        save_grid(to_uint8(generate(run, 64, seed=1, preview=True)), grid, columns=8)
    return curve


def plot_curves(curves: list[Curve], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = sorted({c.name for c in curves})
    fig, axes = plt.subplots(1, len(names), figsize=(3.2 * len(names), 2.6), squeeze=False)
    for ax, name in zip(axes[0], names, strict=True):
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


def convergence_lines(saved: dict) -> list[str]:
    """The convergence table: one row per variant, mean ± half the spread over seeds."""
    info, curves = saved["settings"], [Curve(**c) for c in saved["curves"]]
    lines = [
        "## Convergence protocol",
        "",
        f"Reproduce: `python benchmarks/gan_leaderboard.py --converge --variants "
        f"{','.join(sorted({c.name for c in curves}))} --seeds "
        f"{','.join(map(str, info['seeds']))} --chunk {info['chunk']} --patience "
        f"{info['patience']} --tol {info['tol']:g} --max-iterations {info['max_iterations']} "
        f"--n {info['n']}` ({info['wall_minutes']:g} min of wall time; {info['machine']}; "
        f"written {info['written']}).",
        "",
        f"Each variant trains in chunks of {info['chunk']} iterations; after each chunk "
        f"FID_domain / IS_domain of N = {info['n']} samples are measured (same features "
        "and references as above). **Plateau rule**: stop when the best FID_domain of the "
        f"last {info['patience']} evaluations is no more than {info['tol']:.0%} below the "
        f"best before them; otherwise stop at {info['max_iterations']} iterations (status "
        "'max_iterations': not converged). Values are mean ± half the spread over the "
        "seeds, at the last evaluation; CPU s is the training + evaluation cost per seed.",
        "",
        "| variant | seeds | iterations | status | CPU s / seed | FID_domain ↓ | IS_domain ↑ "
        "| samples |",
        "|---|---:|---:|---|---:|---:|---:|---|",
    ]

    def pm(values: list[float]) -> str:
        mid = float(np.mean(values))
        return f"{mid:.2f} ± {(max(values) - min(values)) / 2:.2f}"

    for name in sorted({c.name for c in curves}):
        cs = [c for c in curves if c.name == name]
        its = "/".join(str(c.iterations[-1]) for c in cs)
        status = "/".join(c.status for c in cs)  # per seed, like the iterations
        cpu = float(np.mean([c.cpu_seconds for c in cs]))
        lines.append(
            f"| {name} | {len(cs)} | {its} | {status} | {cpu:.0f} | {pm([c.fid[-1] for c in cs])}"
            f" | {pm([c.inception_score[-1] for c in cs])} | ![{name}](gan/converged/{name}.png) |"
        )
    missing = sorted(set(preset_names()) - {c.name for c in curves})
    lines += [
        "",
        "![FID_domain curves](gan/converged/curves.png)",
        "",
        "**Not yet run through this protocol:** "
        + (", ".join(missing) if missing else "none")
        + ". Also not run: the 32² smoke-frame data set (domain features) and canonical "
        "Inception FID at N ≥ 1000 (2–5 images/s per thread on this CPU). The rule stops "
        "on noisy curves: a variant whose FID_domain still falls over longer runs (the "
        "budget table's mmgan row reached a lower value at 3000 iterations) needs a longer "
        "--patience.",
        "",
    ]
    return lines


def converge(args: argparse.Namespace, names: list[str], docs: Path) -> Path:
    t0 = time.perf_counter()
    curves = [converge_variant(name, seed, args) for name in names for seed in args.seeds]
    (docs / "gan" / "converged").mkdir(parents=True, exist_ok=True)
    plot_curves(curves, docs / "gan" / "converged" / "curves.png")
    info = settings(args, (time.perf_counter() - t0) / 60)
    info.update(
        chunk=args.chunk,
        patience=args.patience,
        tol=args.tol,
        max_iterations=args.max_iterations,
        seeds=args.seeds,
    )
    path = docs / "gan" / "convergence.json"
    if path.exists():  # keep the curves of variants not rerun (same protocol only)
        saved = json.loads(path.read_text())
        same = all(saved["settings"].get(k) == info[k] for k in ("chunk", "patience", "tol", "n"))
        if same:
            kept = [Curve(**c) for c in saved["curves"] if c["name"] not in names]
            curves = kept + curves
            info["wall_minutes"] = round(
                info["wall_minutes"] + saved["settings"]["wall_minutes"], 1
            )
            plot_curves(curves, docs / "gan" / "converged" / "curves.png")
    path.write_text(json.dumps({"settings": info, "curves": [c.__dict__ for c in curves]}))
    return path


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
        "machine": f"{platform.machine()}, Python {platform.python_version()}, "
        f"torch {torch.__version__}",
        "written": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "classifier": classifier_identity(),
    }


def classifier_identity() -> str:
    """The domain:digits classifier's weights digest and test accuracy (FID_domain and
    IS_domain are only comparable under the same weights)."""
    from fluidgan.metrics.features import get_extractor

    net = get_extractor("domain:digits")
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
    converged = docs / "gan" / "convergence.json"
    if converged.exists():
        lines += convergence_lines(json.loads(converged.read_text()))
    path = docs / "GAN_RESULTS.md"
    path.write_text("\n".join(lines))
    saved = {"settings": info, "rows": [r.__dict__ for r in rows]}
    saved["references"] = [r.__dict__ for r in refs]
    (docs / "gan" / "results.json").write_text(json.dumps(saved, indent=1))
    return path


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
    parser.add_argument("--max-iterations", type=int, default=5000)
    parser.add_argument(
        "--quick", action="store_true", help="a seconds-long protocol run for tests"
    )
    args = parser.parse_args(argv)
    args.seeds = [int(v) for v in str(args.seeds).split(",")]
    if args.quick:
        args.chunk, args.max_iterations, args.n, args.patience = 2, 6, 40, 1
    torch.set_num_threads(1)
    docs = Path(args.docs)
    (docs / "gan").mkdir(parents=True, exist_ok=True)
    if args.report_only:
        saved = json.loads((docs / "gan" / "results.json").read_text())
        rows = [Row(**r) for r in saved["rows"]]
        refs = [Row(**r) for r in saved["references"]]
        print(f"wrote {write_report(rows, refs, saved['settings'], docs)}")
        return
    names = args.variants.split(",") if args.variants else preset_names()
    if args.converge:
        print(f"wrote {converge(args, names, docs)}")
        if (docs / "gan" / "results.json").exists():
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
    main()
