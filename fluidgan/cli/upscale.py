"""``fluidgan upscale``: a trained generator on a low-res sequence, or on a coarse simulation."""

from __future__ import annotations

import click

from fluidgan.cli.options import config_options, quiet_option, show_progress
from fluidgan.cli.simulate import parse_res
from fluidgan.errors import UserError

HELP = """Upscale a low-res sequence with a trained tempoGAN generator.

\b
Inputs (--input, recognised by content):
  * a simulation file of `fluidgan simulate` (its /high ground truth is copied along);
  * a plain HDF5 file with /low/density (T,[Z,]Y,X), optionally /low/velocity
    (T,[Z,]Y,X,d) in low-res cells per frame and /time (T,);
  * an .npz archive with density (T,[Z,]Y,X), optionally velocity (T,[Z,]Y,X,d), time (T,).
  * a directory of mantaflow .uni frames in tempoGAN's layout (density_low_NNNN.uni or
    density_NNNN.uni, optionally velocity_low_NNNN.uni and the high-res pair; dt = 1).
Arrays are C order (z, y, x), vector components (x, y[, z]). Velocity is required when
the checkpoint was trained on rho+v or rho+v+w inputs.

\b
Coarse-simulation mode (--simulate-scene, instead of --input): the solver runs the scene
at low resolution only (--res is that coarse grid; the output is --res x factor) and the
generator adds the detail. The summary compares seconds per frame (coarse simulation +
upscaling) with simulating the same scene at high resolution (--compare-frames frames).

\b
Output: the simulation-file schema with /low (copied), /sr (the generated density;
/sr/velocity zeros, or the upsampled low-res velocity with --sr-velocity linear), /high
when the input has it, /time -- ready for `fluidgan evaluate`, `export vtk`, `preview`.
Written atomically; the resolved config goes next to it as <OUT stem>.config.toml.
Interrupted (Ctrl-C, kill -9, a full disk)? Rerun the same command: it continues after
the frames recorded done in OUT.partial and writes the same file.

\b
Whole 2D frames go through the generator in one pass (several frames per pass); a frame
larger than --memory-mb is cut into overlapping tiles (--tile low-res cells, --overlap
cells cropped at interior faces; the default overlap, the generator's receptive halo,
makes the tiled result equal the whole-frame result).

\b
Examples:
  fluidgan upscale --checkpoint runs/cpu --input data/test/sim_00000.h5 --out up.h5
  fluidgan upscale --checkpoint runs/p3d/checkpoints/ckpt_00040000.pt --input sim3d.h5 \\
      --out up3d.h5 --frames 0:20 --device cuda --memory-mb 8000
  fluidgan upscale --checkpoint runs/cpu --input coarse.npz --out up.h5 --tile 32 --overlap 5
  fluidgan upscale --checkpoint runs/cpu --simulate-scene plume --dim 2 --res 64 \\
      --sim-frames 100 --out plume_sr.h5
"""


@click.command(help=HELP, context_settings={"show_default": True})
@config_options
@click.option("--checkpoint", required=True, help="A checkpoint file, or a run directory.")
@click.option("--input", "input_path", type=click.Path(), help="Low-res input.")
@click.option("--out", type=click.Path(dir_okay=False), required=True, help="Output .h5 file.")
@click.option("--frames", help="Frame range A:B of --input (Python slice); default all.")
@click.option("--device", help="auto (CUDA when present), cpu, cuda or cuda:<index>.")
@click.option("--tile", type=click.IntRange(1), help="Low-res tile edge, overlap included.")
@click.option("--overlap", type=click.IntRange(0), help="Low-res cells cropped per interior face.")
@click.option("--memory-mb", type=click.FloatRange(min=1), help="Budget of one pass. [4096]")
@click.option("--batch", type=click.IntRange(1), help="Frames (or tiles) per pass.")
@click.option("--sr-velocity", metavar="NAME", help="/sr/velocity: zero or linear. [zero]")
@click.option(
    "--weights",
    type=click.Choice(["ema", "raw"]),
    help="ema: the EMA of G's weights when the checkpoint has one; raw: G's own. [ema]",
)
@click.option("--simulate-scene", help="Coarse mode: a scene preset (plume, training, …).")
@click.option("--dim", type=click.IntRange(2, 3), help="Coarse mode: 2 or 3 dimensions.")
@click.option("--res", help="Coarse mode: the simulated coarse grid, N or NXxNY[xNZ].")
@click.option("--sim-frames", type=click.IntRange(1), help="Coarse mode: frames to simulate.")
@click.option("--seed", type=int, help="Coarse mode: scene seed (as `fluidgan simulate`).")
@click.option(
    "--compare-frames", type=click.IntRange(0), help="Coarse mode: high-res frames timed. [3]"
)
@quiet_option
def upscale(
    config_file,
    sets,
    checkpoint,
    input_path,
    out,
    frames,
    simulate_scene,
    dim,
    res,
    sim_frames,
    seed,
    quiet,
    **options,
):
    from pipelines.upscale import resolve_config
    from pipelines.upscale import upscale as run

    coarse_only = {"--dim": dim, "--res": res, "--sim-frames": sim_frames, "--seed": seed}
    given = [k for k, v in coarse_only.items() if v is not None]
    if input_path and simulate_scene is None and given:
        raise UserError(f"{given[0]} is for coarse mode (--simulate-scene), not with --input")
    config = resolve_config(
        config_file,
        sets,
        checkpoint=checkpoint,
        scene=simulate_scene,
        dim=dim,
        coarse_res=parse_res(res),
        frames=sim_frames,
        seed=seed,
        **options,  # device, tile, overlap, memory_mb, batch, sr_velocity, weights, …
    )
    result = run(checkpoint, input_path, out, config, frames, progress=show_progress(quiet))
    if not quiet:
        click.echo(summary_line(result))
        for note in result.get("notes", []):
            click.echo(f"note: {note}")
        if "cost" in result:
            click.echo(cost_lines(result["cost"]))


def summary_line(r: dict) -> str:
    grid = "x".join(map(str, r["low_shape"][::-1]))
    high = "x".join(map(str, r["sr_shape"][::-1]))
    return (
        f"{r['out']}: {r['frames']} frames {grid} -> {high} ({r['plan']}, {r['device']}), "
        f"{r['upscale_s_per_frame']:.3f} s/frame"
    )


def cost_lines(cost: dict) -> str:
    lines = [
        f"coarse simulation {cost['coarse_sim_s_per_frame']:.3f} s/frame + upscaling "
        f"{cost['upscale_s_per_frame']:.3f} s/frame "
        f"= {cost['coarse_total_s_per_frame']:.3f} s/frame"
    ]
    if "high_sim_s_per_frame" in cost:
        k = cost["high_sim_frames_timed"]
        lines.append(
            f"frames 1-{k}: high-res simulation {cost['high_sim_s_per_frame']:.3f} s/frame vs "
            f"coarse {cost['coarse_sim_s_per_frame_same_frames']:.3f} + upscaling: "
            f"speed-up {cost['speedup']:.2f}x (early frames: a lower bound for the solver)"
        )
    return "\n".join(lines)
