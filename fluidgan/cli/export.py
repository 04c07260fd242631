"""``fluidgan export``: simulation files to formats other tools read (VTK for ParaView,
mantaflow ``.uni``)."""

from __future__ import annotations

from pathlib import Path

import click

from fluidgan.cli.options import config_options, quiet_option, show_progress


def split_list(value: str | None) -> list[str] | None:
    """``"a,b"`` -> ["a", "b"]; None stays None."""
    if value is None:
        return None
    return [v.strip() for v in value.split(",") if v.strip()]


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
@click.option("--out", type=click.Path(file_okay=False), required=True, help="Output directory.")
@click.option(
    "--group",
    "groups",
    multiple=True,
    help="high, low or sr (repeatable or comma-separated); default: every group in the file.",
)
@click.option("--fields", help="Comma-separated fields.  [default: density,velocity]")
@click.option("--frames", help="Frame range A:B (Python slice, e.g. 0:10, -5:); default all.")
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
    from fluidgan.config import save_toml, to_dict
    from pipelines.export import export_vtk, resolve_config

    chosen = [g for item in groups for g in split_list(item)] or None
    cfg = resolve_config(config_file, sets, groups=chosen, fields=split_list(fields), frames=frames)
    written = export_vtk(
        input,
        out,
        groups=cfg.groups or None,
        fields=cfg.fields,
        frames=cfg.frames or None,
        progress=show_progress(quiet),
    )
    save_toml(to_dict(cfg), Path(out) / "export.config.toml")
    if not quiet:
        pvd = [p for p in written if p.suffix == ".pvd"]
        click.echo(
            f"{out}: {len(written) - len(pvd)} .vti files; open in ParaView: "
            + ", ".join(p.name for p in pvd)
        )


@export.command("uni")
@click.argument("input", type=click.Path(dir_okay=False))
@click.option("--out", type=click.Path(file_okay=False), required=True, help="Output directory.")
@click.option(
    "--group",
    "groups",
    multiple=True,
    help="high, low or sr (repeatable or comma-separated); default: every group in the file.",
)
@click.option("--frames", help="Frame range A:B (Python slice, e.g. 0:10, -5:); default all.")
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
    from fluidgan.config import save_toml, to_dict
    from pipelines.export_uni import export_uni, resolve_config

    chosen = [g for item in groups for g in split_list(item)] or None
    cfg = resolve_config(config_file, sets, groups=chosen, frames=frames, dt=dt, velocity=velocity)
    written = export_uni(input, out, cfg, progress=show_progress(quiet))
    save_toml(to_dict(cfg), Path(out) / "export.config.toml")
    if not quiet:
        click.echo(f"{out}: {len(written)} .uni files (mantaflow grid.load reads them)")
