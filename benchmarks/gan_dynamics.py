"""Training dynamics of one GAN preset: train it for a few hundred iterations on one
thread, then plot the logged curves (losses, BEGAN's k_t and M, EBGAN's pulling-away
term, ...) and save the final sample grid, so a broken control loop or a collapsed
generator is visible at a glance.

    python benchmarks/gan_dynamics.py began --iterations 600 --keys k,M,d/adv,g/adv
    python benchmarks/gan_dynamics.py dualgan --iterations 300 --set optim.d_steps=5
    python benchmarks/gan_dynamics.py --plot data/gan_leaderboard/converge_smoke/began_seed{0,1} \
        --keys k,M --figure docs/gan/dynamics/began_smoke_control.png

Writes <out>/<preset>/{log.jsonl, samples/, curves.png, summary.json}; summary.json has
the first and last logged value of every key, FID_domain / IS_domain of ``--n`` samples
(digits only) and the CPU seconds per iteration.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from fluidgan.errors import UserError, exit_status  # noqa: E402
from fluidgan.gan import trainer  # noqa: E402
from fluidgan.gan.config import load_config  # noqa: E402


def read_log(path: Path) -> dict[str, list[tuple[int, float]]]:
    """log.jsonl -> {key: [(iteration, value), ...]} of the loss lines."""
    curves: dict[str, list[tuple[int, float]]] = {}
    for line in path.read_text().splitlines():
        rec = json.loads(line)
        if "metrics" in rec:
            for k, v in rec["metrics"].items():
                curves.setdefault(f"metrics/{k}", []).append((rec["iteration"], float(v)))
            continue
        for k, v in rec.items():
            if k != "iteration":
                curves.setdefault(k, []).append((rec["iteration"], float(v)))
    return curves


def plot(
    runs: dict[str, dict[str, list[tuple[int, float]]]], keys: list[str], path: Path, title: str
) -> dict[str, dict[str, tuple]]:
    """One panel per key, one line per run (``runs``: label -> :func:`read_log`'s curves);
    returns what was drawn, {key: {label: (iterations, values)}}."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    logged = set().union(*runs.values())
    keys = [k for k in keys if k in logged] or sorted(logged)
    fig, axes = plt.subplots(len(keys), 1, figsize=(6, 1.6 * len(keys)), sharex=True)
    drawn: dict[str, dict[str, tuple]] = {}
    for ax, key in zip(np.atleast_1d(axes), keys, strict=True):
        for label, curves in runs.items():
            if key in curves:
                it, v = zip(*curves[key], strict=True)
                ax.plot(it, v, lw=1, label=label)
                drawn.setdefault(key, {})[label] = (it, v)
        ax.set_ylabel(key, fontsize=8)
        ax.grid(alpha=0.3)
    if len(runs) > 1:
        np.atleast_1d(axes)[0].legend(fontsize=7)
    np.atleast_1d(axes)[-1].set_xlabel("iteration")
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return drawn


def plot_runs(folders: list[str], keys: list[str], path: Path) -> dict[str, dict[str, tuple]]:
    """``--plot``: the logged curves of existing runs (a protocol curve's folder under
    ``data/gan_leaderboard``, say), overlaid, without training."""
    runs = {}
    for folder in folders:
        log = Path(folder) / "log.jsonl"
        if not log.is_file():
            raise UserError(f"{log}: no such training log")
        runs[Path(folder).name] = read_log(log)
    path.parent.mkdir(parents=True, exist_ok=True)
    drawn = plot(runs, keys, path, " · ".join(runs))
    print(f"wrote {path}")
    return drawn


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("preset", nargs="?")
    p.add_argument("--iterations", type=int, default=500)
    p.add_argument("--set", dest="sets", action="append", default=[], metavar="KEY=VALUE")
    p.add_argument("--keys", default="", help="comma-separated log keys to plot [all]")
    p.add_argument("--n", type=int, default=500, help="samples for FID_domain [500]")
    p.add_argument("--out", default=str(ROOT / "data" / "gan_dynamics"))
    p.add_argument("--tag", default="", help="suffix of the run directory")
    p.add_argument(
        "--plot",
        nargs="+",
        metavar="RUN",
        help="plot these runs' logs (one line per run) into --figure instead of training",
    )
    p.add_argument("--figure", default="curves.png", help="the --plot figure [curves.png]")
    args = p.parse_args(argv)
    keys = [k for k in args.keys.split(",") if k]
    if args.plot:
        return plot_runs(args.plot, keys, Path(args.figure))
    if not args.preset:
        p.error("give a preset to train, or --plot RUN ...")
    torch.set_num_threads(1)
    sets = [
        "train.log_every=5",
        f"train.sample_every={args.iterations}",
        f"train.checkpoint_every={args.iterations}",
        f"eval.samples={args.n}",
        f"eval.every={max(args.iterations // 4, 1)}",
        *args.sets,
    ]
    cfg = load_config(args.preset, sets=sets)
    out = Path(args.out) / (args.preset + (f"_{args.tag}" if args.tag else ""))
    evaluate_fn = None
    if cfg.data.name == "digits" and cfg.model.game != "cycle":
        from fluidgan.gan.metrics import metric_fn

        evaluate_fn, _ = metric_fn(cfg)
    t0 = time.process_time()
    result = trainer.train(cfg, out, iterations=args.iterations, evaluate_fn=evaluate_fn)
    cpu = time.process_time() - t0
    curves = read_log(out / "log.jsonl")
    plot({args.preset: curves}, keys, out / "curves.png", f"{args.preset} {' '.join(args.sets)}")
    summary = {
        "preset": args.preset,
        "sets": args.sets,
        "iterations": result["iterations"],
        "cpu_seconds_per_iteration": cpu / max(result["iterations"], 1),
        "first_last": {k: (v[0][1], v[-1][1]) for k, v in curves.items()},
        "metrics": result["metrics"],
        "grid": str(result["samples"]),
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=1))
    print(json.dumps(summary, indent=1))
    return summary


if __name__ == "__main__":
    sys.exit(exit_status(main))
