"""``fluidgan simulate``: run the smoke solver, write a paired low/high-res dataset."""

from __future__ import annotations

import click

from fluidgan.cli.options import config_options, parse_fraction, quiet_option, show_progress
from fluidgan.errors import UserError


def parse_res(value: str | None) -> list[int] | None:
    """``"64"`` -> [64]; ``"64x96"`` -> [64, 96] (x first)."""
    if value is None:
        return None
    try:
        res = [int(v) for v in value.lower().split("x")]
    except ValueError:
        raise UserError(f"--res {value!r}: expected N or NXxNY[xNZ], e.g. 64 or 64x96") from None
    if len(res) not in (1, 2, 3) or min(res) < 8:
        raise UserError(f"--res {value!r}: 1 to 3 sizes of at least 8 cells")
    return res


@click.command(context_settings={"show_default": True})
@config_options
@click.option("--scene", help="Scene preset in configs/scenes: training, plume, bench, …")
@click.option("--dim", type=click.IntRange(2, 3), help="2 or 3 dimensions.")
@click.option("--res", help="High-res grid: N or NXxNY[xNZ] cells, x first.")
@click.option("--factor", type=click.IntRange(1), help="High/low resolution ratio.")
@click.option("--sims", type=click.IntRange(1), help="Number of simulations.")
@click.option("--frames", type=click.IntRange(1), help="Saved frames per simulation.")
@click.option("--seed", type=int, help="Dataset seed; simulation i uses a seed drawn from it.")
@click.option("--workers", type=click.IntRange(1), default=1, help="Parallel processes.")
@click.option("--shard", default="0/1", help="K/N: run only simulations i with i % N == K.")
@click.option(
    "--out", type=click.Path(file_okay=False), default="data/sim", help="Dataset directory."
)
@click.option("--overwrite", is_flag=True, help="Replace an existing dataset.")
@click.option("--preview", is_flag=True, help="Write PNG/GIF previews of every simulation.")
@quiet_option
def simulate(config_file, sets, res, workers, shard, out, overwrite, preview, quiet, **options):
    """Simulate smoke and write paired low/high-res HDF5 files.

    \b
    Examples:
      fluidgan simulate --dim 2 --res 64 --factor 4 --sims 2 --frames 8 --seed 7 --out d
      fluidgan simulate --scene training --dim 3 --res 128 --sims 4 --workers 2
      fluidgan simulate --scene plume --res 64x96 --frames 50 --preview
      fluidgan simulate --scene training --sims 100 --shard 3/10 --out data/train
    """
    from pipelines.simulate import resolve_config
    from pipelines.simulate import simulate as run

    # options: scene, dim, factor, sims, frames, seed
    config = resolve_config(config_file=config_file, res=parse_res(res), sets=sets, **options)
    manifest = run(
        config,
        out,
        workers=workers,
        shard=parse_fraction(shard, "--shard"),
        overwrite=overwrite,
        preview=preview,
        progress=show_progress(quiet),
    )
    if not quiet:
        click.echo(
            f"{out}: {manifest['complete']}/{len(manifest['sims'])} simulations complete "
            f"({config.scene.dim}D, high {'x'.join(map(str, config.scene.res))}, "
            f"factor {config.scene.factor}, {config.scene.frames} frames)"
        )
