"""``fluidgan import``: simulations written by other tools -> a fluidgan dataset."""

from __future__ import annotations

from pathlib import Path

import click

from fluidgan.cli.options import config_options, quiet_option, show_progress


@click.group("import", context_settings={"help_option_names": ["-h", "--help"]})
def import_cmd():
    """Import simulations from other tools into a fluidgan dataset.

    \b
    Examples:
      fluidgan import mantaflow tempoGAN/data --out data/tempogan2d
    """


@import_cmd.command("mantaflow")
@click.argument("src", type=click.Path(file_okay=False))
@click.option("--out", type=click.Path(file_okay=False), required=True, help="Dataset directory.")
@click.option(
    "--dt",
    type=float,
    help="mantaflow time units between two saved frames; velocity × dt = cells per frame. "
    "[default: 1, tempoGAN's generator]",
)
@click.option("--frames", help="Frame range A:B (Python slice over the frames found).")
@click.option(
    "--factor",
    type=click.IntRange(1),
    help="High/low ratio for a single-resolution sequence (low res derived). [default: 4]",
)
@click.option("--overwrite", is_flag=True, help="Replace an existing dataset.")
@config_options
@quiet_option
def mantaflow(src, out, dt, frames, factor, overwrite, config_file, sets, quiet):
    """Convert per-frame mantaflow .uni files (tempoGAN's layout) into a dataset.

    SRC holds density_low_NNNN.uni, velocity_low_NNNN.uni, density_high_NNNN.uni and
    velocity_high_NNNN.uni, or sub-directories (sim_XXXX/) that do; each becomes one
    sim_NNNNN.h5. A single-resolution sequence (density_NNNN.uni, velocity_NNNN.uni) is
    taken as high-res and its low res derived as `fluidgan simulate` does (blur +
    linear resampling, velocity / factor). MAC velocities are averaged to cell centres and
    multiplied by --dt to be in cells per frame of their own grid.

    \b
    Examples:
      fluidgan import mantaflow tempoGAN/data --out data/tempogan2d
      fluidgan import mantaflow runs/plume3d --out data/plume3d --dt 0.5 --frames 20:120
      fluidgan import mantaflow my_sim --out data/mine --factor 2
    """
    from fluidgan.config import from_command_line
    from pipelines.import_mantaflow import ImportConfig, import_mantaflow

    options = dict(dt=dt, frames=frames, factor=factor)
    config = from_command_line(ImportConfig, config_file, sets, **options)
    manifest = import_mantaflow(
        src, out, config, overwrite=overwrite, progress=show_progress(quiet)
    )
    if not quiet:
        scene = manifest["config"]["scene"]
        frames_total = sum(s["frames"] for s in manifest["sims"])
        click.echo(
            f"{Path(out)}: {manifest['complete']} simulation(s), {frames_total} frames "
            f"({scene['dim']}D, high {'x'.join(map(str, scene['res']))}, "
            f"factor {scene['factor']}); train with: fluidgan train --data {out}"
        )
