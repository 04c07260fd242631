"""``fluidgan evaluate``: metrics, spectra and temporal coherence against the ground truth."""

from __future__ import annotations

import click

from fluidgan.cli.options import config_options, quiet_option, show_progress, split_list


@click.command(context_settings={"show_default": True})
@config_options
@click.option(
    "--prediction",
    type=click.Path(dir_okay=False),
    required=True,
    help="Simulation file with an /sr group (from fluidgan upscale), or a plain one.",
)
@click.option(
    "--reference",
    type=click.Path(dir_okay=False),
    required=True,
    help="The high-res ground-truth simulation file.",
)
@click.option("--out", type=click.Path(file_okay=False), required=True, help="Report directory.")
@click.option(
    "--baselines",
    help="Comma-separated from nearest,linear,cubic; 'none' for none. [default: all]",
)
@click.option("--fid/--no-fid", default=None, help="FID/KID on density slices. [default: on]")
@click.option("--fid-features", help="Feature extractor: inception or domain:NAME.")
@click.option("--device", help="Device of the FID network: cpu, cuda, auto.")
@quiet_option
def evaluate(
    config_file, sets, prediction, reference, out, baselines, fid, fid_features, device, quiet
):
    """Evaluate a super-resolved simulation against the high-res ground truth.

    PSNR (all cells and smoke only), SSIM, relative L2, density and kinetic-energy
    spectra (energy above the low-res Nyquist, log-spectral distance), temporal coherence
    (frame differences, advection warping error relative to the ground truth's own) and
    FID/KID on density slices -- for the model (/sr) and for nearest, linear and cubic
    upsampling of the same low-res input. Writes metrics.json, report.md, spectra.png,
    temporal.png, preview.png and config.toml into --out.

    \b
    Examples:
      fluidgan evaluate --prediction up.h5 --reference data/sim/sim_00000.h5 --out report
      fluidgan evaluate --prediction up.h5 --reference sim.h5 --out r --no-fid
      fluidgan evaluate --prediction sim.h5 --reference sim.h5 --out baselines_only
      fluidgan evaluate --prediction up.h5 --reference sim.h5 --out r --baselines cubic \\
          --set data_range=2.0 --set smoke_threshold=0.05
    """
    from fluidgan.config import from_command_line
    from pipelines.evaluate import EvaluateConfig
    from pipelines.evaluate import evaluate as run

    names = None
    if baselines is not None:
        names = [] if baselines.strip().lower() == "none" else split_list(baselines)
    config = from_command_line(
        EvaluateConfig,
        config_file,
        sets,
        baselines=names,
        fid=fid,
        fid_features=fid_features,
        device=device,
    )
    metrics = run(prediction, reference, out, config=config, progress=show_progress(quiet))
    if not quiet:
        from fluidgan.evaluation.report import metrics_table

        click.echo(metrics_table(metrics))
        status = metrics["fid"].get("status")
        if status == "skipped":
            click.echo(f"FID skipped: {metrics['fid']['reason']}")
        click.echo(f"{out}/report.md")
