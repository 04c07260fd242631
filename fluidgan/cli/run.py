"""``fluidgan run``: stages end to end from a pipeline TOML (no argument: the 2D quickstart)."""

from __future__ import annotations

import click

from fluidgan.cli.options import quiet_option, show_progress

HELP = """Run a chain of stages from PIPELINE.toml; without it, the embedded 2D quickstart.

\b
The quickstart (configs/pipelines/quickstart2d.toml, 6-10 minutes on 2 CPU cores):
simulate a small 2D training set and a held-out plume, train the fast generator (1000
iterations), upscale the plume, export low/SR/high as VTK for ParaView, write a PNG
preview and an evaluation report (report/report.md).

\b
A pipeline file is a list of [[stage]] tables: kind = simulate | train | upscale |
export | evaluate | preview, an optional unique name, and the stage's options named as
on its command line (set = ["key=value"] for --set); paths are relative to --out.
A rerun skips the stages whose outputs are complete (same options, unchanged inputs)
and resumes the rest; pipeline_state.json in --out records what ran.

\b
Examples:
  fluidgan run                                  # quickstart into runs/quickstart2d
  fluidgan run --out quickstart
  fluidgan run configs/pipelines/quickstart2d.toml --out q2
  fluidgan run my_pipeline.toml --out runs/exp1 --quiet
"""


@click.command(help=HELP)
@click.argument("pipeline", required=False, type=click.Path(dir_okay=False))
@click.option(
    "--out", type=click.Path(file_okay=False), help="Output directory (default: the file's 'out')."
)
@quiet_option
def run(pipeline, out, quiet):
    from pipelines.run import run_pipeline

    echo = (lambda line: None) if quiet else click.echo
    result = run_pipeline(pipeline, out, progress=show_progress(quiet), echo=echo)
    if not quiet:
        ran = [n for n, s in result["stages"].items() if s["status"] == "ran"]
        click.echo(
            f"{result['out']}: {len(result['stages'])} stages ({len(ran)} ran) in "
            f"{result['seconds']:.0f} s"
        )
        for name, stage in result["stages"].items():
            for key in ("report", "pvd"):
                if key in stage:
                    value = stage[key]
                    click.echo(
                        f"  {name}: {', '.join(value) if isinstance(value, list) else value}"
                    )
