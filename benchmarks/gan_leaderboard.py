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
from fluidgan.gan.sample import generate, reference_images, save_grid, to_uint8  # noqa: E402
from pipelines.gan_train import metric_fn  # noqa: E402

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
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    docs = Path(args.docs)
    (docs / "gan").mkdir(parents=True, exist_ok=True)
    if args.report_only:
        saved = json.loads((docs / "gan" / "results.json").read_text())
        rows = [Row(**r) for r in saved["rows"]]
        refs = [Row(**r) for r in saved["references"]]
        print(f"wrote {write_report(rows, refs, saved['settings'], docs)}")
        return
    t0 = time.perf_counter()
    names = args.variants.split(",") if args.variants else preset_names()
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
    path = write_report(rows, refs, settings(args, (time.perf_counter() - t0) / 60), docs)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
