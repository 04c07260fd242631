"""Stage ``import mantaflow``: per-frame ``.uni`` files -> a fluidgan dataset.

The source is one directory of frames in tempoGAN's layout or a directory of such
directories (``sim_XXXX/`` as tempoGAN's generator writes them); each becomes one
``sim_NNNNN.h5`` of the same schema ``fluidgan simulate`` writes, with ``manifest.json``
and ``config.toml`` beside them, so ``fluidgan train`` and ``upscale`` take it unchanged.

* paired frames (``density_low_NNNN.uni`` … ``velocity_high_NNNN.uni``): the factor is
  read from the grid sizes (high = f · low on every axis, else an error);
* a single-resolution sequence (``density_NNNN.uni`` + ``velocity_NNNN.uni``, or high-res
  files alone) is the high-res data; its low-res data is derived as ``fluidgan simulate``
  derives it (Gaussian blur σ = f/(2√π), linear resampling, velocity / f; tempoGAN's
  rule), with ``factor`` from the config.

Velocities become cell-centred and are multiplied by ``dt`` (mantaflow time units per
saved frame) to be in cells per frame of their own grid; ``/time`` is frame number × dt.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from fluidgan.config import save_toml, to_dict
from fluidgan.errors import UserError
from fluidgan.io import dataset
from fluidgan.io.dataset import CONFIG, MANIFEST, sim_name, sim_status
from fluidgan.io.mantaflow import UniSequence, open_sequence, sequence_dirs
from fluidgan.io.selection import frame_selection
from fluidgan.io.simfile import SimMeta, SimWriter
from solvers.lowres import derive_low


@dataclass
class ImportConfig:
    """``fluidgan import mantaflow``.

    ``dt``: mantaflow time units between two saved frames (velocity × dt = cells per
    frame); ``frames``: "A:B", a Python slice over the frames found ("" = all);
    ``factor``: high/low ratio to derive the low-res data of a single-resolution sequence
    (paired frames carry their own).
    """

    dt: float = 1.0
    frames: str = ""
    factor: int = 4

    def __post_init__(self):
        if not self.dt > 0:
            raise ValueError(f"dt must be > 0, got {self.dt}")
        if self.factor < 1:
            raise ValueError(f"factor must be >= 1, got {self.factor}")


def open_source(src: str | os.PathLike, config: ImportConfig) -> list[UniSequence]:
    """Every simulation directory of ``src``, checked; all must share dim and factor."""
    sequences = []
    for directory in sequence_dirs(src):
        select = lambda total: frame_selection(config.frames or None, total)  # noqa: E731
        sequences.append(open_sequence(directory, select))
    for seq in sequences:
        factor = seq.factor or config.factor
        first = sequences[0]
        if (seq.dim, factor) != (first.dim, first.factor or config.factor):
            raise UserError(
                f"{seq.root}: {seq.dim}D, factor {factor}, but {first.root} is "
                f"{first.dim}D, factor {first.factor or config.factor}; import them apart"
            )
        if not seq.paired:
            check_divisible(seq, config.factor)
    return sequences


def check_divisible(seq: UniSequence, factor: int) -> None:
    shape = seq.shape("high")
    if any(n % factor for n in shape):
        res = "x".join(map(str, shape[::-1]))
        raise UserError(
            f"{seq.files[('density', 'high')][0]}: grid {res} is not divisible by "
            f"factor {factor} (set --factor)"
        )


def prepare_output(out: Path, overwrite: bool) -> None:
    if out.exists() and any(out.iterdir()):
        if not overwrite:
            raise UserError(f"{out}: exists and is not empty; pass --overwrite to replace it")
        if not (out / MANIFEST).is_file():
            raise UserError(f"{out}: is not a fluidgan dataset; not overwriting it")
        for f in out.glob("sim_*.h5*"):
            f.unlink()
        shutil.rmtree(out / "previews", ignore_errors=True)
    out.mkdir(parents=True, exist_ok=True)


def import_sequence(seq: UniSequence, config: ImportConfig, path: Path, on_frame=None) -> Path:
    """One directory of frames -> one simulation file, frame by frame."""
    dt = config.dt
    factor = seq.factor or config.factor
    fields = {
        (f, r): seq.frames(f, r, dt) for r in seq.resolutions for f in ("density", "velocity")
    }
    velocity = fields[("velocity", "high")].header
    meta = SimMeta(
        dim=seq.dim,
        factor=factor,
        dt=dt,
        seed=0,
        scene={
            "name": "mantaflow",
            "source": str(seq.root),
            "frame_numbers": [seq.numbers[0], seq.numbers[-1]],
            "low_res": "from files" if seq.paired else "derived (blur + linear resampling)",
        },
        solver={
            "name": "mantaflow",
            "info": fields[("density", "high")].header.info,
            "velocity_grid": velocity.kind,
            "dt": dt,
        },
    )
    high_shape = seq.shape("high")
    low_shape = seq.shape("low") if seq.paired else tuple(n // factor for n in high_shape)
    times = seq.time(dt)
    with SimWriter(path, meta, len(seq.numbers), high_shape, low_shape) as writer:
        for k, t in enumerate(times):
            frame = {f"{r}/{f}": fields[(f, r)][k] for (f, r) in fields}
            if not seq.paired:
                low = derive_low(frame["high/density"], frame["high/velocity"], factor)
                frame["low/density"], frame["low/velocity"] = low
            writer.write_frame(float(t), **frame)
            if on_frame:
                on_frame()
    return path


def write_manifest(out: Path, src: Path, sequences: list[UniSequence], config: ImportConfig):
    first = sequences[0]
    factor = first.factor or config.factor
    sims = [
        {
            "index": i,
            "file": sim_name(i),
            "source": str(seq.root),
            "status": sim_status(out, i),
            "frames": len(seq.numbers),
        }
        for i, seq in enumerate(sequences)
    ]
    scene = {
        "name": "mantaflow",
        "dim": first.dim,
        "res": list(first.shape("high")[::-1]),  # x first, as --res
        "factor": factor,
        "frames": len(first.numbers),
    }
    config_record = {"source": str(src), "import": to_dict(config), "scene": scene}
    return dataset.write_manifest(out, first.dim, factor, sims, config_record)


def import_mantaflow(
    src: str | os.PathLike,
    out: str | os.PathLike,
    config: ImportConfig,
    *,
    overwrite: bool = False,
    progress: bool = False,
) -> dict:
    """Convert every simulation directory of ``src`` into the dataset ``out``; return the
    manifest. Everything is checked before the first file is written."""
    from tqdm.auto import tqdm

    src, out = Path(src), Path(out)
    sequences = open_source(src, config)
    prepare_output(out, overwrite)
    save_toml({"source": str(src), **to_dict(config)}, out / CONFIG)
    write_manifest(out, src, sequences, config)
    total = sum(len(s.numbers) for s in sequences)
    bar = tqdm(total=total, desc="import", unit="frame", disable=not progress, leave=False)
    for i, seq in enumerate(sequences):
        import_sequence(seq, config, out / sim_name(i), on_frame=lambda: bar.update(1))
        manifest = write_manifest(out, src, sequences, config)
    bar.close()
    return manifest
