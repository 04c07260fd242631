"""``fluidgan preview``: a PNG, GIF or MP4 of a simulation file, low | SR | high side by side."""

from __future__ import annotations

import click

from fluidgan.cli.options import (
    config_options,
    frames_option,
    group_list,
    groups_option,
    quiet_option,
)


@click.command(context_settings={"show_default": True})
@click.argument("input", type=click.Path(dir_okay=False))
@click.option(
    "--out", type=click.Path(dir_okay=False), required=True, help="FILE.png, FILE.gif or FILE.mp4."
)
@groups_option("low, sr or high")
@click.option(
    "--field",
    type=click.Choice(["density", "velocity", "vorticity"]),
    help="velocity: |v| in high-res cells/frame; vorticity: curl in 1/frame.  [default: density]",
)
@frames_option
@click.option("--count", type=click.IntRange(1), help="Frames in a PNG.  [default: 4]")
@click.option("--fps", type=click.IntRange(1), help="Frames per second (GIF/MP4).  [default: 12]")
@click.option(
    "--max-frames", type=click.IntRange(1), help="Most frames in an animation.  [default: 200]"
)
@config_options
@quiet_option
def preview(input, out, groups, field, frames, count, fps, max_frames, config_file, sets, quiet):
    """Write a preview of INPUT: low | SR | high side by side, with a colour bar.

    The format follows the suffix of --out: .png (a few frames), .gif or .mp4 (every
    selected frame; .mp4 needs an ffmpeg binary on PATH). 3D volumes are shown as their
    mid z and mid x slices and their mean along z (the density projection).

    \b
    Examples:
      fluidgan preview data/sim/sim_00000.h5 --out sim.png
      fluidgan preview up.h5 --out up.gif --group low,sr,high --frames 0:40
      fluidgan preview sim.h5 --out vort.mp4 --field vorticity --fps 24
    """
    from fluidgan.config import from_command_line
    from pipelines.preview import PreviewConfig
    from pipelines.preview import preview as run

    options = dict(field=field, frames=frames, count=count, fps=fps, max_frames=max_frames)
    cfg = from_command_line(PreviewConfig, config_file, sets, groups=group_list(groups), **options)
    path = run(input, out, cfg)
    if not quiet:
        click.echo(f"{path}")
