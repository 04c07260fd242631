"""Generalisation of a generator: scenes it was not trained on, scored against cubic.

    python benchmarks/generalisation.py --model pretrained:smoke2d
    python benchmarks/generalisation.py --model pretrained:smoke3d --card

The shipped models were trained on the randomised training scene (2D: 256² / 64²; 3D:
96³ / 24³). Each scene variant here differs from it: tempoGAN's plume test scene, the
plume with a sphere obstacle above the inflow (``plume_obstacle`` presets), the plume at
another resolution with the same factor 4 (2D: 512² / 128², a low-res input twice the
training's; 3D: the 128³ plume), and the plume with half and twice the buoyancy
(``--set scene.gravity=…``). For every variant the script simulates the ground truth
(once: data is cached under ``--data`` and a rerun skips it), upscales every frame with
the model and evaluates it with ``fluidgan evaluate`` against the ground truth and the
interpolation baselines (the held-out protocol's scorer, :mod:`heldout`), and draws one
late frame: low res | cubic | model | ground truth.

Outputs under ``--out``: ``<variant>/<data key>/baselines/`` (model independent) and
``<variant>/<data key>/model-<sha256[:12]>/`` (the model's evaluation, cached by the
checkpoint's hash; the data key is a digest of the variant's simulation config, which
also names its dataset), and per model ``<name>-<sha256[:12]>/generalisation.{md,json}``
plus the pictures. Rerunning for a retrained model is the same command: only its
upscaling and evaluation run. ``--card`` copies the pictures to
``docs/img/generalisation/`` and writes the table into the "Generalisation" section of the
pretrained model's card (replacing it).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import heldout  # noqa: E402

from fluidgan.errors import UserError  # noqa: E402

IMAGES = ROOT / "docs" / "img" / "generalisation"
SECTION = "## Generalisation"
COMPARED = "cubic"  # the baseline each model number is set against
MAX_PNG_BYTES = 300_000
RENDERED = ", rendered along z with one extinction scale (the ground truth's)"


@dataclass(frozen=True)
class Variant:
    """One scene the model is scored on: a ``fluidgan simulate`` call (``sets``: its
    ``--set`` overrides), or ``data``, an existing dataset of exactly that call."""

    name: str
    title: str
    scene: str
    dim: int
    res: int
    frames: int
    seed: int = 2
    sets: tuple[str, ...] = ()
    data: str | None = None

    def config(self):
        from pipelines.simulate import resolve_config

        return resolve_config(
            scene=self.scene,
            dim=self.dim,
            res=[self.res],
            sims=1,
            frames=self.frames,
            seed=self.seed,
            sets=self.sets,
        )

    def command(self) -> str:
        sets = "".join(f" --set '{s}'" for s in self.sets)
        return (
            f"fluidgan simulate --scene {self.scene} --dim {self.dim} --res {self.res} "
            f"--frames {self.frames} --seed {self.seed}{sets}"
        )

    def grid(self, factor: int = 4) -> str:
        power = "²" if self.dim == 2 else "³"
        return f"{self.res}{power} / {self.res // factor}{power}"


def gravity(scale: float) -> str:
    """``--set`` for the plume presets' buoyancy (gravity −2e-4) times ``scale``."""
    return f"scene.gravity=[0.0, {-2e-4 * scale:g}, 0.0]"


def plume2d(name: str, title: str, res: int = 256, scene: str = "plume", sets=()) -> Variant:
    return Variant(name, title, scene, 2, res, 200, sets=tuple(sets))


# 3D at 64³: one step of dt 1 per frame (the training scene's frame time; the 256³ preset's
# dt 0.125 × 4 substeps exists for its finer cells); 150 frames, so that the smoke has
# risen past the obstacle (at t = 80 it is still at the inflow).
COARSE3D = ("scene.dt=1.0", "scene.substeps=1")


def plume3d(name: str, title: str, scene: str = "plume", sets=()) -> Variant:
    return Variant(name, title, scene, 3, 64, 150, sets=(*COARSE3D, *sets))


VARIANTS: dict[int, tuple[Variant, ...]] = {
    2: (
        plume2d("plume", "plume"),
        plume2d("obstacle", "plume + sphere obstacle", scene="plume_obstacle"),
        plume2d("res512", "plume at 512² (low res 2× training's)", res=512),
        plume2d("buoyancy_half", "plume, buoyancy ×0.5", sets=[gravity(0.5)]),
        plume2d("buoyancy_double", "plume, buoyancy ×2", sets=[gravity(2)]),
    ),
    3: (
        Variant("plume128", "plume at 128³", "plume", 3, 128, 100, seed=1001, data="data/plume3d"),
        plume3d("plume64", "plume at 64³"),
        plume3d("obstacle64", "plume + sphere obstacle, 64³", scene="plume_obstacle"),
        plume3d("buoyancy_half64", "plume, buoyancy ×0.5, 64³", sets=[gravity(0.5)]),
        plume3d("buoyancy_double64", "plume, buoyancy ×2, 64³", sets=[gravity(2)]),
    ),
}


# --------------------------------------------------------------------------- data


def dataset_dir(variant: Variant, data_root: Path) -> Path:
    if variant.data is not None:
        return ROOT / variant.data if not Path(variant.data).is_absolute() else Path(variant.data)
    return data_root / f"{variant.dim}d" / f"{variant.name}-{data_key(variant)}"


def is_complete(out: Path, config) -> bool:
    """Whether ``out`` holds every simulation of exactly ``config`` (then nothing is rerun)."""
    from fluidgan.config import to_dict

    manifest = out / "manifest.json"
    if not manifest.is_file():
        return False
    saved = json.loads(manifest.read_text())
    return saved.get("config") == to_dict(config) and saved.get("complete") == config.sims


def data_key(variant: Variant) -> str:
    """A digest of the variant's resolved simulation config: the scores of a dataset are
    filed under it, so a changed variant is never scored from a stale cache."""
    from fluidgan.config import to_dict

    text = json.dumps(to_dict(variant.config()), sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:10]


def ensure_data(variant: Variant, data_root: Path) -> tuple[Path, float]:
    """The variant's dataset, simulated unless complete; (directory, seconds spent)."""
    from pipelines.simulate import simulate

    out = dataset_dir(variant, data_root)
    config = variant.config()
    if is_complete(out, config):
        return out, 0.0
    if variant.data is not None and out.exists():
        raise UserError(f"{out}: does not hold the dataset of `{variant.command()}`")
    start = time.perf_counter()
    simulate(config, out, progress=False)
    return out, time.perf_counter() - start


# --------------------------------------------------------------------------- scoring


def resolve_model(model: str) -> Path:
    """A checkpoint path, or ``pretrained:NAME`` resolved (hash verified) to its file."""
    from fluidgan.pretrained import is_pretrained, resolve

    if is_pretrained(model):
        return resolve(model)
    path = Path(model)
    if not path.is_file():
        raise UserError(f"--model {model}: no such checkpoint file")
    return path


def model_label(model: str) -> str:
    from fluidgan.pretrained import PREFIX, is_pretrained

    return model[len(PREFIX) :] if is_pretrained(model) else Path(model).stem


def score_variant(
    variant: Variant,
    checkpoint: Path,
    digest: str,
    data_root: Path,
    out: Path,
    device: str = "auto",
) -> dict[str, Any]:
    """Simulate (if needed), score the baselines and the model on one variant; keeps the
    variant's last frame (low, model, ground truth) in ``frames.npz`` for the picture."""
    data, simulate_s = ensure_data(variant, data_root)
    scores = out / variant.name / data_key(variant)
    with_frames = (variant.frames - 1, 1)
    start = time.perf_counter()
    base = heldout.score_baselines(data, scores / "baselines")
    baselines_s = time.perf_counter() - start
    model_dir = scores / f"model-{digest[:12]}"
    start = time.perf_counter()
    scored = heldout.score_checkpoint(
        checkpoint, data, model_dir, keep_frames=with_frames, device=device
    )
    model_s = time.perf_counter() - start
    return {
        "title": variant.title,
        "grid": variant.grid(),
        "frames": variant.frames,
        "data": str(data),
        "simulate": variant.command(),
        "model": scored["mean"],
        **{b: base["methods"][b]["mean"] for b in heldout.BASELINES},
        "frames_npz": str(model_dir / "frames.npz"),
        "seconds": {"simulate": simulate_s, "baselines": baselines_s, "model": model_s},
    }


def closer(value: float, other: float, better: str) -> bool:
    """Whether ``value`` is better than ``other`` by the metric's direction (→1: by the
    factor away from 1, so ×0.5 and ×2 are equally far)."""
    if not (math.isfinite(value) and math.isfinite(other)):
        return math.isfinite(value) and not math.isfinite(other)
    if better == "↑":
        return value > other
    if better == "↓":
        return value < other
    return abs(math.log(max(value, 1e-12))) < abs(math.log(max(other, 1e-12)))


def wins(row: dict[str, Any]) -> list[str]:
    """The metrics on which the model beats cubic."""
    return [
        key
        for key, _, better in heldout.METRICS
        if closer(row["model"].get(key, math.nan), row[COMPARED].get(key, math.nan), better)
    ]


def markdown_table(rows: dict[str, dict[str, Any]]) -> str:
    """One row per scene; each metric cell ``model / cubic``, the better one in bold."""
    from fluidgan.evaluation.report import fmt

    head = ["scene", "grid (high / low)", "frames"]
    head += [f"{label} {better}" for _, label, better in heldout.METRICS]
    head.append("model better")
    lines = ["| " + " | ".join(head) + " |", "|---|---|" + "---:|" * (len(head) - 2)]
    for row in rows.values():
        cells = [row["title"], row["grid"], str(row["frames"])]
        for key, _, better in heldout.METRICS:
            m = row["model"].get(key, math.nan)
            c = row[COMPARED].get(key, math.nan)
            if closer(m, c, better):
                cells.append(f"**{fmt(m)}** / {fmt(c)}")
            elif closer(c, m, better):
                cells.append(f"{fmt(m)} / **{fmt(c)}**")
            else:
                cells.append(f"{fmt(m)} / {fmt(c)}")
        cells.append(f"{len(wins(row))} of {len(heldout.METRICS)}")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


# --------------------------------------------------------------------------- pictures


def smoke_box(
    high: np.ndarray, factor: int, margin: int = 8, level: float = 0.01
) -> tuple[slice, ...]:
    """Slices of the high-res grid around the smoke (density > ``level``), ``margin``
    cells wide, aligned to whole low-res cells; the whole grid when there is no smoke."""
    mask = high > level
    if not mask.any():
        return tuple(slice(0, n) for n in high.shape)
    box = []
    for axis, n in enumerate(high.shape):
        hit = np.flatnonzero(mask.any(axis=tuple(a for a in range(high.ndim) if a != axis)))
        lo = max(0, (hit[0] - margin) // factor * factor)
        hi = min(n, -(-(hit[-1] + 1 + margin) // factor) * factor)
        box.append(slice(int(lo), int(hi)))
    return tuple(box)


def picture(frames_npz: Path, path: Path, title: str, label: str) -> Path:
    """low res | cubic | model | ground truth of the kept frame, cropped to the smoke:
    2D as density images (one colour scale), 3D as volume renderings along z (one
    extinction scale, the ground truth's). Negative (cubic) density is drawn as 0."""
    from fluidgan.evaluation.baselines import upsample

    saved = np.load(frames_npz)
    low, sr, high = saved["low"][0], saved["sr"][0], saved["high"][0]
    factor = high.shape[0] // low.shape[0]
    box = smoke_box(high, factor)
    low_box = tuple(slice(s.start // factor, s.stop // factor) for s in box)
    panels = {
        f"low res {'×'.join(map(str, low.shape[::-1]))}": low[low_box],
        "cubic": upsample(low, factor, "cubic")[box],
        label: sr[box],
        "ground truth": high[box],
    }
    # cubic under- and overshoots; negative density would switch the colour map to signed
    panels = {name: np.clip(volume, 0, None) for name, volume in panels.items()}
    time = float(saved["time"][0])
    path.parent.mkdir(parents=True, exist_ok=True)
    if high.ndim == 2:
        draw_images(panels, path, time)
    else:
        draw_renderings(panels, path, f"{title}: t = {time:g}")
    return path


def draw_images(panels: dict[str, np.ndarray], path: Path, time: float) -> None:
    from fluidgan.io.preview import column, preview_png

    preview_png([column(name, [image]) for name, image in panels.items()], [time], path)


def draw_renderings(panels: dict[str, np.ndarray], path: Path, heading: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from fluidgan.io.render import render_density

    truth = np.clip(panels["ground truth"], 0, None)
    sigma = -math.log(0.05) / max(float(truth.sum(axis=0).max()), 1e-12)
    fig, axes = plt.subplots(1, len(panels), figsize=(2.6 * len(panels), 2.9), dpi=100)
    background = np.array([0.05, 0.07, 0.12])
    for ax, (name, volume) in zip(axes, panels.items(), strict=True):
        scale = truth.shape[0] / volume.shape[0]  # a low-res ray crosses `scale`× fewer cells
        intensity, opacity = render_density(volume, axis=0, sigma=sigma * scale)
        image = intensity[..., None] + (1 - opacity[..., None]) * background
        ax.imshow(np.clip(image[::-1], 0, 1), interpolation="nearest")
        ax.set_title(name, fontsize=9)
        ax.set_axis_off()
    fig.suptitle(f"{heading} (rendered along z)", fontsize=10)
    fig.savefig(path, bbox_inches="tight")
    plt.close(fig)


# --------------------------------------------------------------------------- study


def run(
    model: str,
    variants: tuple[Variant, ...],
    out: str | os.PathLike,
    data_root: str | os.PathLike,
    device: str = "auto",
    log=print,
) -> dict[str, Any]:
    """Score ``model`` on every variant; write ``generalisation.{md,json}`` and a picture
    per variant into ``out/<name>-<sha12>/``; returns the JSON's content."""
    out, data_root = Path(out), Path(data_root)
    checkpoint = resolve_model(model)
    digest = heldout.file_sha256(checkpoint)
    label = model_label(model)
    folder = out / f"{label}-{digest[:12]}"
    rows = {}
    for variant in variants:
        log(f"{variant.name}: {variant.command()}")
        row = score_variant(variant, checkpoint, digest, data_root, out, device)
        row["picture"] = str(
            picture(Path(row["frames_npz"]), folder / f"{variant.name}.png", variant.title, label)
        )
        row["wins"] = wins(row)
        rows[variant.name] = row
        s = row["seconds"]
        log(
            f"{variant.name}: simulate {s['simulate']:.0f} s, baselines {s['baselines']:.0f} s, "
            f"model {s['model']:.0f} s; better than cubic on {len(row['wins'])} of "
            f"{len(heldout.METRICS)}"
        )
    result = {
        "model": model,
        "checkpoint": str(checkpoint),
        "sha256": digest,
        "dim": variants[0].dim,
        "scenes": rows,
    }
    folder.mkdir(parents=True, exist_ok=True)
    from fluidgan.evaluation.report import write_json
    from fluidgan.io.atomic import write_text

    write_json(folder / "generalisation.json", result)
    write_text(folder / "generalisation.md", section(result, image_dir=None) + "\n")
    return result


def section(result: dict[str, Any], image_dir: str | None) -> str:
    """The card's "Generalisation" section: protocol, table, pictures (``image_dir``: the
    pictures' folder relative to the card; None: beside the markdown file)."""
    label = model_label(result["model"])
    lines = [
        SECTION,
        "",
        f"`{result['model']}` on scenes it was not trained on (sha256 "
        f"`{result['sha256'][:12]}…`): every frame of one simulation per scene, upscaled "
        f"whole and scored by `fluidgan evaluate` against the high-res simulation. Each cell "
        f"is model / {COMPARED} interpolation, the better of the two in bold; ↑ higher is "
        "better, ↓ lower, →1 closest to 1 (by the factor away from 1). Reproduce with "
        f"`python benchmarks/generalisation.py --model {result['model']}`.",
        "",
        markdown_table(result["scenes"]),
        "",
        summary(result["scenes"]),
        "",
        "Scenes (`fluidgan simulate` … `--sims 1`):",
        "",
    ]
    for row in result["scenes"].values():
        lines.append(f"- {row['title']}: `{row['simulate']}`")
    lines += [
        "",
        "The last frame of each scene, cropped to the smoke: low res | cubic | model | ground "
        f"truth{RENDERED if result.get('dim') == 3 else ''}. The obstacle is not drawn; the "
        "smoke parts around it.",
        "",
    ]
    for name, row in result["scenes"].items():
        picture_path = Path(row["picture"])
        where = f"{image_dir}/{label}_{name}.png" if image_dir else picture_path.name
        lines.append(f"![{row['title']}]({where})")
        lines.append("")
    return "\n".join(lines).rstrip()


def summary(rows: dict[str, dict[str, Any]]) -> str:
    """Which metrics the model wins on in every scene, in some, in none."""
    labels = {key: label for key, label, _ in heldout.METRICS}
    counts = {key: sum(key in row["wins"] for row in rows.values()) for key in labels}
    groups = {
        "in every scene": [k for k, n in counts.items() if n == len(rows)],
        "in some scenes": [k for k, n in counts.items() if 0 < n < len(rows)],
        "in none": [k for k, n in counts.items() if n == 0],
    }
    parts = [
        f"{where} on {', '.join(labels[k] for k in keys)}" for where, keys in groups.items() if keys
    ]
    return f"Better than {COMPARED}: " + "; ".join(parts) + "."


def replace_section(card: str, text: str) -> str:
    """``card`` with its "Generalisation" section replaced by ``text`` (or inserted before
    "## Config", else appended)."""
    lines = card.rstrip("\n").split("\n")
    if SECTION in lines:
        start = lines.index(SECTION)
        end = next(
            (i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines)
        )
        lines[start:end] = [*text.split("\n"), ""] if end < len(lines) else text.split("\n")
    elif "## Config" in lines:
        at = lines.index("## Config")
        lines[at:at] = [*text.split("\n"), ""]
    else:
        lines += ["", *text.split("\n")]
    return "\n".join(lines) + "\n"


def write_card(result: dict[str, Any], card: Path, images: Path = IMAGES) -> list[Path]:
    """Copy the pictures to ``images`` as ``<model>_<variant>.png`` and write the section
    into ``card``; returns the pictures written."""
    from fluidgan.io.atomic import write_text

    label = model_label(result["model"])
    images.mkdir(parents=True, exist_ok=True)
    written = []
    for name, row in result["scenes"].items():
        target = images / f"{label}_{name}.png"
        shutil.copyfile(row["picture"], target)
        if target.stat().st_size > MAX_PNG_BYTES:
            raise UserError(f"{target}: {target.stat().st_size} bytes, over {MAX_PNG_BYTES}")
        written.append(target)
    relative = os.path.relpath(images, card.parent)
    write_text(card, replace_section(card.read_text(), section(result, image_dir=relative)))
    return written


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", required=True, help="pretrained:NAME or a checkpoint file")
    ap.add_argument("--out", type=Path, help="default runs/generalisation<dim>d")
    ap.add_argument("--data", type=Path, default=ROOT / "data" / "generalisation")
    ap.add_argument("--scenes", help="comma-separated variant names (default all)")
    ap.add_argument("--device", default="auto")
    ap.add_argument("--card", action="store_true", help="write the table into the model card")
    args = ap.parse_args(argv)
    try:
        dim = model_dim(args.model)
        variants = pick(VARIANTS[dim], args.scenes)
        out = args.out or ROOT / "runs" / f"generalisation{dim}d"
        result = run(args.model, variants, out, args.data, args.device)
        print(markdown_table(result["scenes"]))
        if args.card:
            from fluidgan.pretrained import lookup

            card = lookup(args.model).card
            if card is None or not card.is_file():
                raise UserError(f"--card: {args.model} has no model card")
            for path in write_card(result, card):
                print(f"wrote {path}")
            print(f"wrote the {SECTION[3:]} section of {card}")
    except UserError as e:
        print(f"error: {e}", file=sys.stderr)
        raise SystemExit(2) from None


def model_dim(model: str) -> int:
    from fluidgan.train.checkpoint import load_checkpoint

    return int(load_checkpoint(resolve_model(model))["model"]["dim"])


def pick(variants: tuple[Variant, ...], names: str | None) -> tuple[Variant, ...]:
    if not names:
        return variants
    known = {v.name: v for v in variants}
    wanted = [n.strip() for n in names.split(",") if n.strip()]
    unknown = [n for n in wanted if n not in known]
    if unknown:
        raise UserError(f"--scenes {','.join(unknown)}: unknown; valid: {', '.join(known)}")
    return tuple(known[n] for n in wanted)


if __name__ == "__main__":
    main()
