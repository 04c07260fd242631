"""``fluidgan train``: tempoGAN training (pipelines.train does the work)."""

from __future__ import annotations

from pathlib import Path

import click

from fluidgan.cli.options import config_options, quiet_option, show_progress
from fluidgan.errors import UserError

EXAMPLES = """
\b
Examples:
  fluidgan train --data data/train2d --out runs/cpu --config cpu_small2d
  fluidgan train --data data/train2d --out runs/cpu --resume --iterations 4000
  fluidgan train --data data/train2d --out runs/p2d --config paper2d --device cuda
  fluidgan train --data d --out r --set loss.adversarial=hinge --set ablation.temporal=l2
  torchrun --nproc_per_node 4 -m fluidgan train --data d --out r --config paper3d
"""


DIRECTORY = click.Path(file_okay=False)
DATA_HELP = "Dataset directory written by `fluidgan simulate`."
OUT_HELP = "Run directory: config, checkpoints, metrics, previews."
ITERATIONS_HELP = "Train until this many iterations are complete (default: the config's)."
DEVICE_HELP = "auto (CUDA when present), cpu, cuda or cuda:<index>."
RESUME_HELP = "Continue the run in --out from its newest checkpoint, with its config."


@click.command("train", epilog=EXAMPLES)
@config_options
@click.option("--data", "data_dir", required=True, type=DIRECTORY, help=DATA_HELP)
@click.option("--out", "out_dir", required=True, type=DIRECTORY, help=OUT_HELP)
@click.option("--iterations", type=click.IntRange(min=1), help=ITERATIONS_HELP)
@click.option("--device", default="auto", show_default=True, help=DEVICE_HELP)
@click.option("--resume", is_flag=True, help=RESUME_HELP)
@quiet_option
def train_cmd(config_file, sets, data_dir, out_dir, iterations, device, resume, quiet):
    """Train tempoGAN: generator, spatial and temporal discriminators.

    --config takes a TOML file or a preset name (paper2d, paper3d, cpu_small2d). With
    --resume the run's saved config.toml is the base that --config and --set override.
    Ctrl-C (or SIGTERM) stops after the current iteration and writes a checkpoint.
    """
    from fluidgan.train.loop import TrainingDiverged
    from pipelines.train import resolve_config, train

    cfg = resolve_config(
        config_file, sets, iterations=iterations, saved=out_dir if resume else None
    )
    if not Path(data_dir).is_dir():
        raise UserError(f"--data {data_dir}: no such dataset directory")
    try:
        result = train(
            cfg, data_dir, out_dir, device=device, resume=resume, progress=show_progress(quiet)
        )
    except TrainingDiverged as e:
        raise click.ClickException(str(e)) from None
    if not quiet and _is_main():
        click.echo(
            f"{result['status']}: {result['iterations']}/{cfg.iterations} iterations, "
            f"{result['iterations_per_second']:.2f} it/s; checkpoint {result['checkpoint']}"
        )
    if result["status"] == "interrupted":
        return 130
    return 0


def _is_main() -> bool:
    import os

    return os.environ.get("RANK", "0") == "0"
