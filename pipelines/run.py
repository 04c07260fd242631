"""Stage chains: ``fluidgan run [PIPELINE.toml]`` runs stages in order, resumably.

A pipeline file::

    name = "quickstart2d"
    out = "runs/quickstart2d"          # default output directory (--out overrides)

    [[stage]]
    kind = "simulate"                   # simulate | train | upscale | export | evaluate | preview
    name = "train_data"                 # unique; default: the kind
    out = "data/train"                  # paths are relative to the output directory
    scene = "training"
    ...                                 # the stage's options, named as on its command line

Each stage's options mirror its command (``set = ["key=value", ...]`` for ``--set``;
``config`` is a TOML file relative to the pipeline file, or for ``train`` a preset name).
A stage is skipped when ``pipeline_state.json`` records it complete with the same
options, its input files unchanged (size and modification time) and its outputs present;
otherwise it runs, and the stages that resume by themselves (``simulate``, ``train``)
continue where they stopped.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fluidgan.config import CONFIG_DIR, load_toml, preset_path
from fluidgan.errors import Interrupted, UserError
from fluidgan.io.atomic import write_text

STATE = "pipeline_state.json"
QUICKSTART = CONFIG_DIR / "pipelines" / "quickstart2d.toml"


@dataclass(frozen=True)
class Context:
    """Where a stage runs: ``root`` (the output directory) and ``base`` (the pipeline
    file's directory, for config files)."""

    root: Path
    base: Path
    progress: bool

    def path(self, value: str) -> Path:
        return self.root / value

    def config_file(self, value: str) -> Path:
        path = Path(value)
        if not path.is_absolute() and (self.base / path).is_file():
            return self.base / path
        return path


@dataclass(frozen=True)
class StageKind:
    """``run(spec, ctx) -> result`` with ``result["outputs"]`` the files it made;
    ``inputs(spec, ctx)`` the files it reads; ``keys`` the options it accepts."""

    run: Callable[[dict, Context], dict]
    inputs: Callable[[dict, Context], list[Path]]
    keys: tuple[str, ...]
    required: tuple[str, ...]


STAGES: dict[str, StageKind] = {}
COMMON = ("kind", "name")


def stage(kind: str, keys: tuple[str, ...], required: tuple[str, ...], inputs):
    def register(fn):
        STAGES[kind] = StageKind(fn, inputs, COMMON + keys, required)
        return fn

    return register


def _files(*paths: Path) -> list[Path]:
    return [p for p in paths if p is not None]


# --- stages ----------------------------------------------------------------------------


@stage(
    "simulate",
    ("out", "config", "scene", "dim", "res", "factor", "frames", "sims", "seed", "workers", "set"),
    ("out",),
    lambda spec, ctx: [],
)
def run_simulate(spec: dict, ctx: Context) -> dict:
    from pipelines.simulate import resolve_config, simulate

    res = spec.get("res")
    config = resolve_config(
        scene=spec.get("scene"),
        config_file=ctx.config_file(spec["config"]) if "config" in spec else None,
        dim=spec.get("dim"),
        res=[res] if isinstance(res, int) else res,
        factor=spec.get("factor"),
        frames=spec.get("frames"),
        sims=spec.get("sims"),
        seed=spec.get("seed"),
        sets=tuple(spec.get("set", ())),
    )
    out = ctx.path(spec["out"])
    manifest = simulate(config, out, workers=spec.get("workers", 1), progress=ctx.progress)
    if manifest["complete"] != len(manifest["sims"]):
        raise UserError(f"{out}: {manifest['complete']}/{len(manifest['sims'])} sims complete")
    files = [out / s["file"] for s in manifest["sims"]]
    return {"outputs": [str(p) for p in [*files, out / "manifest.json"]], "sims": len(files)}


def _train_inputs(spec: dict, ctx: Context) -> list[Path]:
    return sorted(ctx.path(spec["data"]).glob("sim_*.h5"))


@stage(
    "train",
    ("data", "out", "config", "iterations", "device", "set"),
    ("data", "out"),
    _train_inputs,
)
def run_train(spec: dict, ctx: Context) -> dict:
    from fluidgan.config import resolve
    from fluidgan.train.checkpoint import latest_checkpoint
    from fluidgan.train.config import TrainConfig
    from pipelines.train import train

    layers = []
    if "config" in spec:
        path = ctx.config_file(spec["config"])
        layers.append(load_toml(path if path.is_file() else preset_path("train", spec["config"])))
    if "iterations" in spec:
        layers.append({"iterations": spec["iterations"]})
    cfg = resolve(TrainConfig, *layers, sets=tuple(spec.get("set", ())))
    out = ctx.path(spec["out"])
    resume = latest_checkpoint(out) is not None
    result = train(
        cfg,
        ctx.path(spec["data"]),
        out,
        device=spec.get("device", "auto"),
        resume=resume,
        progress=ctx.progress,
    )
    if result["status"] != "completed":
        raise Interrupted(f"{out}: training {result['status']}; rerun to resume")
    keep = {k: result[k] for k in ("iterations", "iterations_per_second", "seconds", "checkpoint")}
    return {"outputs": [result["checkpoint"]], **keep}


def _checkpoint(spec: dict, ctx: Context) -> Path:
    from fluidgan.train.checkpoint import latest_checkpoint

    if str(spec["checkpoint"]).startswith("pretrained:"):
        from fluidgan.pretrained import resolve

        return Path(resolve(spec["checkpoint"]))  # shipped with the package, hash verified
    path = ctx.path(spec["checkpoint"])
    if path.is_dir():
        found = latest_checkpoint(path)
        if found is None:
            raise UserError(f"stage upscale: {path} has no checkpoint")
        return found
    return path


def _upscale_inputs(spec: dict, ctx: Context) -> list[Path]:
    return _files(_checkpoint(spec, ctx), ctx.path(spec["input"]) if "input" in spec else None)


UPSCALE_OPTIONS = (
    "device",
    "tile",
    "overlap",
    "memory_mb",
    "batch",
    "sr_velocity",
    "compare_frames",
)


@stage(
    "upscale",
    (
        "checkpoint",
        "input",
        "out",
        "frames",
        "config",
        "set",
        "simulate_scene",
        "dim",
        "res",
        "sim_frames",
        "seed",
        *UPSCALE_OPTIONS,
    ),
    ("checkpoint", "out"),
    _upscale_inputs,
)
def run_upscale(spec: dict, ctx: Context) -> dict:
    from pipelines.upscale import model_info, resolve_config, upscale, upscale_coarse

    checkpoint = _checkpoint(spec, ctx)
    res = spec.get("res")
    coarse_res = [res] if isinstance(res, int) else res
    config = resolve_config(
        ctx.config_file(spec["config"]) if "config" in spec else None,
        tuple(spec.get("set", ())),
        scene=spec.get("simulate_scene"),
        dim=spec.get("dim"),
        coarse_res=coarse_res,
        factor=model_info(checkpoint)["factor"] if coarse_res else None,
        frames=spec.get("sim_frames"),
        seed=spec.get("seed"),
        **{k: spec.get(k) for k in UPSCALE_OPTIONS},
    )
    out = ctx.path(spec["out"])
    if config.simulate is not None:
        result = upscale_coarse(checkpoint, out, config, progress=ctx.progress)
    elif "input" in spec:
        result = upscale(
            checkpoint,
            ctx.path(spec["input"]),
            out,
            config,
            spec.get("frames"),
            progress=ctx.progress,
        )
    else:
        raise UserError("stage upscale: needs 'input' or 'simulate_scene'")
    return {"outputs": [str(out)], **result}


@stage(
    "export",
    ("input", "out", "groups", "fields", "frames"),
    ("input", "out"),
    lambda spec, ctx: [ctx.path(spec["input"])],
)
def run_export(spec: dict, ctx: Context) -> dict:
    from pipelines.export import DEFAULT_FIELDS, export_vtk

    written = export_vtk(
        ctx.path(spec["input"]),
        ctx.path(spec["out"]),
        groups=spec.get("groups"),
        fields=spec.get("fields", DEFAULT_FIELDS),
        frames=spec.get("frames"),
        progress=ctx.progress,
    )
    pvd = [str(p) for p in written if p.suffix == ".pvd"]
    return {"outputs": pvd, "files": len(written), "pvd": pvd}


@stage(
    "evaluate",
    (
        "prediction",
        "reference",
        "out",
        "config",
        "set",
        "baselines",
        "fid",
        "fid_features",
        "device",
    ),
    ("prediction", "reference", "out"),
    lambda spec, ctx: [ctx.path(spec["prediction"]), ctx.path(spec["reference"])],
)
def run_evaluate(spec: dict, ctx: Context) -> dict:
    from pipelines.evaluate import evaluate, resolve_config

    config = resolve_config(
        ctx.config_file(spec["config"]) if "config" in spec else None,
        tuple(spec.get("set", ())),
        baselines=spec.get("baselines"),
        fid=spec.get("fid"),
        fid_features=spec.get("fid_features"),
        device=spec.get("device"),
    )
    out = ctx.path(spec["out"])
    metrics = evaluate(
        ctx.path(spec["prediction"]),
        ctx.path(spec["reference"]),
        out,
        config=config,
        progress=ctx.progress,
    )
    return {
        "outputs": [str(out / "metrics.json"), str(out / "report.md")],
        "report": str(out / "report.md"),
        "fid": metrics["fid"].get("status"),
    }


@stage(
    "preview",
    ("input", "out", "groups", "field", "frames", "count", "fps", "max_frames"),
    ("input", "out"),
    lambda spec, ctx: [ctx.path(spec["input"])],
)
def run_preview(spec: dict, ctx: Context) -> dict:
    from pipelines.preview import preview

    path = preview(
        ctx.path(spec["input"]),
        ctx.path(spec["out"]),
        spec.get("groups"),
        spec.get("field", "density"),
        spec.get("frames"),
        **{k: spec[k] for k in ("count", "fps", "max_frames") if k in spec},
    )
    return {"outputs": [str(path)]}


# --- the pipeline ---------------------------------------------------------------------------


def load_pipeline(path: str | os.PathLike | None) -> tuple[dict, Path]:
    """The pipeline table (checked) and its file: a TOML file, or the name of one in
    configs/pipelines (``pretrained2d``); None means the embedded quickstart."""
    path = Path(path) if path is not None else QUICKSTART
    if not path.exists() and path.suffix != ".toml":
        path = preset_path("pipelines", str(path))
    data = load_toml(path)
    unknown = sorted(set(data) - {"name", "description", "out", "stage"})
    if unknown:
        raise UserError(f"{path}: unknown key '{unknown[0]}'; valid: name, description, out, stage")
    stages = data.get("stage")
    if not isinstance(stages, list) or not stages:
        raise UserError(f"{path}: no [[stage]] tables")
    seen = set()
    for i, spec in enumerate(stages):
        check_stage(spec, i, path)
        name = spec.get("name", spec["kind"])
        if name in seen:
            raise UserError(f"{path}: stage {i}: name {name!r} is used twice; give each a name")
        seen.add(name)
    return data, path


def check_stage(spec: dict, index: int, path: Path) -> None:
    kind = spec.get("kind")
    if kind not in STAGES:
        raise UserError(f"{path}: stage {index}: kind {kind!r}; valid: {', '.join(STAGES)}")
    stage_kind = STAGES[kind]
    for key in spec:
        if key not in stage_kind.keys:
            raise UserError(
                f"{path}: stage {index} ({kind}): unknown key {key!r}; "
                f"valid: {', '.join(stage_kind.keys)}"
            )
    for key in stage_kind.required:
        if key not in spec:
            raise UserError(f"{path}: stage {index} ({kind}): missing key {key!r}")


def stamp(paths: list[Path]) -> dict[str, list[int]]:
    """Size and modification time of every input (a missing one: [-1, -1])."""
    out = {}
    for p in paths:
        st = p.stat() if p.exists() else None
        out[str(p)] = [st.st_size, st.st_mtime_ns] if st else [-1, -1]
    return out


def spec_hash(spec: dict) -> str:
    return hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:16]


def read_state(root: Path) -> dict:
    path = root / STATE
    return json.loads(path.read_text()) if path.is_file() else {}


def write_state(root: Path, state: dict) -> None:
    write_text(root / STATE, json.dumps(state, indent=1, default=str))


def is_complete(entry: dict | None, spec: dict, inputs: dict) -> bool:
    return (
        entry is not None
        and entry.get("status") == "complete"
        and entry.get("spec") == spec_hash(spec)
        and entry.get("inputs") == inputs
        and all(Path(p).exists() for p in entry.get("outputs", []))
    )


def run_pipeline(
    pipeline: str | os.PathLike | None = None,
    out: str | os.PathLike | None = None,
    *,
    progress: bool = False,
    echo: Callable[[str], None] = lambda line: None,
) -> dict:
    """Run every stage not complete yet; return ``{"out", "pipeline", "stages": {name:
    {"status" ("ran" | "skipped"), "seconds", ...result}}, "seconds"}``."""
    data, path = load_pipeline(pipeline)
    root = Path(out if out is not None else data.get("out", f"runs/{data.get('name', path.stem)}"))
    root.mkdir(parents=True, exist_ok=True)
    ctx = Context(root, path.parent, progress)
    state = read_state(root)
    summary: dict[str, Any] = {}
    start = time.perf_counter()
    stages = data["stage"]
    for i, spec in enumerate(stages, 1):
        name = spec.get("name", spec["kind"])
        kind = STAGES[spec["kind"]]
        options = {k: v for k, v in spec.items() if k not in COMMON}
        inputs = stamp(kind.inputs(options, ctx))
        label = f"[{i}/{len(stages)}] {name} ({spec['kind']})"
        if is_complete(state.get(name), options, inputs):
            echo(f"{label}: complete, skipped")
            summary[name] = {"status": "skipped", **state[name].get("result", {})}
            continue
        echo(f"{label}: running")
        t0 = time.perf_counter()
        result = kind.run(options, ctx)
        seconds = time.perf_counter() - t0
        state[name] = {
            "status": "complete",
            "spec": spec_hash(options),
            "inputs": inputs,
            "outputs": result.get("outputs", []),
            "seconds": seconds,
            "result": result,
        }
        write_state(root, state)
        echo(f"{label}: done in {seconds:.1f} s")
        summary[name] = {"status": "ran", "seconds": seconds, **result}
    return {
        "out": str(root),
        "pipeline": str(path),
        "stages": summary,
        "seconds": time.perf_counter() - start,
    }
