"""``fluidgan info``: what a dataset, simulation file, run directory or checkpoint holds."""

from __future__ import annotations

import json

import click


@click.command()
@click.argument("path", type=click.Path())
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def info(path, as_json):
    """Describe PATH: a dataset directory, a sim_NNNNN.h5 file, a run directory, a
    checkpoint, or the pretrained models shipped with fluidgan (pretrained: lists
    them with their model cards, pretrained:NAME shows one, its hash verified).

    \b
    Examples:
      fluidgan info data/sim
      fluidgan info data/sim/sim_00000.h5 --json
      fluidgan info pretrained:
    """
    from pipelines.info import describe, format_info

    if path.startswith("pretrained:"):  # the models shipped in the package
        from fluidgan.pretrained import describe as describe_pretrained

        result = describe_pretrained(path)
    else:
        result = describe(path)
    click.echo(json.dumps(result, indent=1) if as_json else format_info(result))
