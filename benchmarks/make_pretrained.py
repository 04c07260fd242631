"""Turn a training run into a pretrained model shipped in the package (``pretrained:NAME``).

    python benchmarks/make_pretrained.py RUN_OR_CHECKPOINT --name smoke2d
        [--data DIR | --data-text MARKDOWN] [--test DIR] [--command "fluidgan train ..."]
        [--description TEXT]
        [--dest fluidgan/pretrained] [--max-mb 5] [--device auto]

Steps: read the run's newest checkpoint (or the given file); keep only what upscaling
needs -- the generator's weights (and their EMA, when the run kept one) and the ``model``
record, with the iteration, the resolved training config and the last metrics -- and
write it through the checkpoint writer as ``DEST/NAME.pt`` (refused above
``--max-mb``); load it back as ``fluidgan upscale`` would; with ``--test`` score it on
those held-out simulations (every frame upscaled, ``fluidgan evaluate`` against the
ground truth, next to cubic and linear interpolation); write the model card
``DEST/NAME.md`` (training data and command, config, held-out metrics, sha256) and the
entry of ``DEST/models.toml`` (file, sha256, size, card). ``--data`` is the training
dataset: its scene and seeds go into the card.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

import tomllib

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import heldout  # noqa: E402

from fluidgan.errors import UserError  # noqa: E402

DEST = ROOT / "fluidgan" / "pretrained"
# of a training checkpoint (generator_ema: the EMA of G's weights, which upscale runs)
KEEP = ("iteration", "config", "model", "generator", "generator_ema", "metrics")


def strip_checkpoint(source: str | Path, out: Path) -> dict[str, Any]:
    """Write the generator-only checkpoint of ``source`` to ``out``; returns its state."""
    from fluidgan.train.checkpoint import load_checkpoint, save_checkpoint

    state = load_checkpoint(source)
    stripped = {key: state[key] for key in KEEP if key in state}
    for key in ("generator", "generator_ema"):
        if state.get(key) is not None:
            stripped[key] = {k: v.detach().clone() for k, v in state[key].items()}
    stripped["source"] = str(state["path"])
    save_checkpoint(stripped, out)
    return stripped


def dataset_summary(data_dir: str | Path) -> dict[str, Any]:
    """Scene, grid, simulation count, frames and seed of a ``fluidgan simulate`` dataset."""
    manifest = Path(data_dir) / "manifest.json"
    if not manifest.is_file():
        raise UserError(f"--data {data_dir}: no manifest.json (not a fluidgan dataset)")
    config = json.loads(manifest.read_text()).get("config", {})
    scene = config.get("scene", {})
    return {
        "path": str(data_dir),
        "scene": scene.get("name"),
        "dim": scene.get("dim"),
        "res": scene.get("res"),
        "factor": scene.get("factor"),
        "frames": scene.get("frames"),
        "sims": config.get("sims"),
        "seed": config.get("seed"),
    }


def simulate_command(data: dict[str, Any]) -> str:
    res = (
        data["res"][0]
        if data.get("res") and len(set(data["res"])) == 1
        else "x".join(str(n) for n in data.get("res") or [])
    )
    return (
        f"fluidgan simulate --scene {data['scene']} --dim {data['dim']} --res {res} "
        f"--factor {data['factor']} --sims {data['sims']} --frames {data['frames']} "
        f"--seed {data['seed']} --out {Path(data['path']).name}"
    )


def metrics_table(model: dict[str, float], baselines: dict[str, dict[str, float]]) -> str:
    head = [f"{h} {b}" for _, h, b in heldout.METRICS]
    lines = ["| method | " + " | ".join(head) + " |", "|---|" + "---:|" * len(head)]
    rows = {"model": model, **{f"{b} interpolation": m for b, m in baselines.items()}}
    for name, values in rows.items():
        cells = []
        for key, _, _ in heldout.METRICS:
            v = values.get(key)
            cells.append("–" if v is None or v != v else f"{v:.4g}")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def model_card(
    name: str,
    state: dict[str, Any],
    file: Path,
    digest: str,
    size: int,
    description: str,
    data: dict[str, Any] | None,
    command: str | None,
    scores: dict[str, Any] | None,
    data_text: str | None = None,
) -> str:
    import tomli_w

    model = state["model"]
    lines = [
        f"# Model card: `pretrained:{name}`",
        "",
        description or "A tempoGAN generator trained with fluidgan.",
        "",
        f"- file: `{file.name}`, {size / 2**20:.2f} MB, sha256 `{digest}` (checked on every load)",
        f"- generator: {model.get('dim')}D, factor {model.get('factor')}, inputs "
        f"`{model.get('channels')}` ({model.get('in_channels')} channels), trained "
        f"{state.get('iteration')} iterations",
        f"- use: `fluidgan upscale --checkpoint pretrained:{name} --input LOW.h5 --out up.h5`",
        "",
        "## Training data",
        "",
    ]
    if data:
        lines += [
            f"{data['sims']} simulations of the `{data['scene']}` scene, {data['frames']} frames, "
            f"high-res grid {'×'.join(map(str, data['res'] or []))}, factor {data['factor']}, "
            f"seed {data['seed']}:",
            "",
            f"    {simulate_command(data)}",
        ]
    elif data_text:
        lines.append(data_text)
    else:
        lines.append("Not recorded (make_pretrained.py was run without --data).")
    lines += ["", "## Training command", ""]
    lines.append(f"    {command}" if command else "Not recorded (run without --command).")
    lines += [
        "",
        "## Held-out metrics",
        "",
    ]
    if scores:
        lines += [
            f"Every frame of {len(scores['model']['sims'])} held-out simulation(s) "
            f"(`{scores['test']}`), upscaled whole and scored by `fluidgan evaluate` against "
            "the ground truth; mean over the simulations. ↑ higher is better, ↓ lower, →1 "
            "closest to 1.",
            "",
            metrics_table(scores["model"]["mean"], scores["baselines"]),
        ]
    else:
        lines.append("Not measured (run without --test).")
    lines += [
        "",
        "## Config",
        "",
        "The resolved training config:",
        "",
        "```toml",
        tomli_w.dumps(state.get("config", {})).strip(),
        "```",
        "",
        "Model record (what rebuilds the generator):",
        "",
        "```json",
        json.dumps(model, indent=1),
        "```",
        "",
    ]
    return "\n".join(lines)


def make_pretrained(
    source: str | Path,
    name: str,
    dest: str | Path = DEST,
    *,
    data: str | Path | None = None,
    data_text: str | None = None,
    test: str | Path | None = None,
    command: str | None = None,
    description: str = "",
    max_mb: float = 5.0,
    device: str = "auto",
) -> dict[str, Any]:
    """Write ``dest/NAME.pt``, ``dest/NAME.md`` and the ``dest/models.toml`` entry."""
    from fluidgan.io.atomic import write_bytes, write_text
    from fluidgan.pretrained import sha256_of, write_registry
    from fluidgan.train.checkpoint import load_generator

    if not name.replace("_", "").replace("-", "").isalnum():
        raise UserError(f"--name {name!r}: use letters, digits, '-' and '_' only")
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    data_info = dataset_summary(data) if data else None
    file = dest / f"{name}.pt"
    with tempfile.TemporaryDirectory() as tmp:
        staged = Path(tmp) / file.name
        state = strip_checkpoint(source, staged)
        size = staged.stat().st_size
        if size > max_mb * 2**20:
            raise UserError(
                f"{source}: the generator-only checkpoint is {size / 2**20:.2f} MB, over "
                f"--max-mb {max_mb:g}"
            )
        load_generator(staged)  # loads as fluidgan upscale loads it
        scores = None
        if test:
            model = heldout.score_checkpoint(staged, test, Path(tmp) / "score", device)
            baselines = heldout.score_baselines(test, Path(tmp) / "baselines")
            scores = {
                "test": str(test),
                "model": model,
                "baselines": {b: s["mean"] for b, s in baselines["methods"].items()},
            }
        digest = sha256_of(staged)
        write_bytes(file, staged.read_bytes())  # atomically into the package
    card = dest / f"{name}.md"
    write_text(
        card,
        model_card(
            name, state, file, digest, size, description, data_info, command, scores, data_text
        ),
    )
    registry = dest / "models.toml"
    entries = tomllib.loads(registry.read_text()).get("models", {}) if registry.is_file() else {}
    model = state["model"]
    entries[name] = {
        "file": file.name,
        "sha256": digest,
        "size": size,
        "card": card.name,
        "description": description or f"tempoGAN generator, {model.get('dim')}D",
        "dim": int(model["dim"]),
        "factor": int(model["factor"]),
        "channels": str(model["channels"]),
    }
    write_registry(entries, registry)
    return {
        "file": str(file),
        "card": str(card),
        "registry": str(registry),
        "sha256": digest,
        "size": size,
        "scores": scores,
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("source", help="a run directory (its newest checkpoint) or a checkpoint file")
    p.add_argument("--name", required=True, help="the model's name: pretrained:NAME")
    p.add_argument("--dest", default=str(DEST), help="registry folder (default: the package's)")
    p.add_argument("--data", help="the training dataset (described in the card)")
    p.add_argument(
        "--data-text",
        help="the training data in words (Markdown), where it is not one fluidgan dataset",
    )
    p.add_argument("--test", help="held-out dataset to score the model on (in the card)")
    p.add_argument("--command", help="the training command, for the card")
    p.add_argument("--description", default="", help="one line for the registry and the card")
    p.add_argument("--max-mb", type=float, default=5.0, help="size limit (default 5 MB)")
    p.add_argument("--device", default="auto", help="for the held-out scoring")
    args = p.parse_args(argv)
    try:
        result = make_pretrained(
            args.source,
            args.name,
            args.dest,
            data=args.data,
            data_text=args.data_text,
            test=args.test,
            command=args.command,
            description=args.description,
            max_mb=args.max_mb,
            device=args.device,
        )
    except UserError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(
        f"pretrained:{args.name}: {result['file']} ({result['size'] / 2**20:.2f} MB, "
        f"sha256 {result['sha256']}); card {result['card']}; registry {result['registry']}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
