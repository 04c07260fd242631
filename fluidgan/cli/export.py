"""``fluidgan export``: simulation files to formats other tools read (VTK for ParaView,
mantaflow ``.uni``)."""

from __future__ import annotations

import click

from fluidgan.cli.options import (
    config_options,
    frames_option,
    group_list,
    groups_option,
    out_dir_option,
    quiet_option,
    show_progress,
    split_list,
)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def export():
    """Export a simulation file for other tools.

    \b
    Examples:
      fluidgan export vtk data/sim/sim_00000.h5 --out vtk/
      fluidgan export uni up.h5 --out uni/ --group sr
    """


@export.command("vtk")
@click.argument("input", type=click.Path(dir_okay=False))
@out_dir_option
@groups_option("high, low or sr")
@click.option("--fields", help="Comma-separated fields.  [default: density,velocity]")
@frames_option
@config_options
@quiet_option
def vtk(input, out, groups, fields, frames, config_file, sets, quiet):
    """Write ParaView volumes: <stem>_<group>_NNNN.vti per frame and <stem>_<group>.pvd.

    Cell-centred fields become point data at the cell centres; every grid spans [0, 1]
    along its longest axis (dx = 1/max(res)), so low-res, upscaled (sr) and high-res
    ground truth overlay in ParaView. 2D frames become one-cell-thick volumes (v_z = 0).
    An interrupted export resumes: rerun the same command (frames already written are
    kept while the input file is unchanged).

    \b
    Examples:
      fluidgan export vtk data/sim/sim_00000.h5 --out vtk/
      fluidgan export vtk up.h5 --out vtk/ --group low,sr,high --frames 10:20
      fluidgan export vtk sim.h5 --out vtk/ --group high --fields density
    """
    from fluidgan.config import from_command_line
    from pipelines.export import ExportConfig, export_vtk

    chosen = group_list(groups)
    options = dict(groups=chosen, fields=split_list(fields), frames=frames)
    cfg = from_command_line(ExportConfig, config_file, sets, **options)
    written = export_vtk(input, out, cfg, progress=show_progress(quiet))
    if not quiet:
        pvd = [p for p in written if p.suffix == ".pvd"]
        click.echo(
            f"{out}: {len(written) - len(pvd)} .vti files; open in ParaView: "
            + ", ".join(p.name for p in pvd)
        )


@export.command("uni")
@click.argument("input", type=click.Path(dir_okay=False))
@out_dir_option
@groups_option("high, low or sr")
@frames_option
@click.option(
    "--dt", type=float, help="mantaflow time per frame (velocity / dt). [default: the file's dt]"
)
@click.option(
    "--velocity",
    type=click.Choice(["mac", "centred"]),
    help="MAC grid (for MACGrid.load) or cell-centred Vec3 grid. [default: mac]",
)
@config_options
@quiet_option
def uni(input, out, groups, frames, dt, velocity, config_file, sets, quiet):
    """Write mantaflow grids: density_<group>_NNNN.uni and velocity_<group>_NNNN.uni.

    tempoGAN's file names, gzip-compressed as mantaflow writes them: mantaflow's
    RealGrid.load / MACGrid.load read them, and `fluidgan import mantaflow` reads the
    low/high pair back. 2D frames become one-z-slice grids (v_z = 0); velocity is
    converted to mantaflow's cells per time unit (divided by --dt).

    \b
    Examples:
      fluidgan export uni up.h5 --out uni/ --group sr
      fluidgan export uni data/sim/sim_00000.h5 --out uni/ --group low,high --frames 0:50
    """
    from fluidgan.config import from_command_line
    from pipelines.export_uni import ExportUniConfig, export_uni

    chosen = group_list(groups)
    options = dict(groups=chosen, frames=frames, dt=dt, velocity=velocity)
    cfg = from_command_line(ExportUniConfig, config_file, sets, **options)
    written = export_uni(input, out, cfg, progress=show_progress(quiet))
    if not quiet:
        click.echo(f"{out}: {len(written)} .uni files (mantaflow grid.load reads them)")
