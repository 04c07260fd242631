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
from fluidgan.registry import Registry

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

    def config(self, spec: dict) -> Path | None:
        """The stage's ``config`` file (None when it has none)."""
        return self.config_file(spec["config"]) if "config" in spec else None


@dataclass(frozen=True)
class StageKind:
    """``run(spec, ctx) -> result`` with ``result["outputs"]`` the files it made;
    ``inputs(spec, ctx)`` the files it reads; ``keys`` the options it accepts."""

    run: Callable[[dict, Context], dict]
    inputs: Callable[[dict, Context], list[Path]]
    keys: tuple[str, ...]
    required: tuple[str, ...]


STAGES: Registry[StageKind] = Registry("stage kind", ordered=True)
COMMON = ("kind", "name")


def stage(kind: str, keys: str, required: str, inputs):
    """Register ``fn(spec, ctx)`` as the stage ``kind``: ``keys`` the options it takes and
    ``required`` those it needs (space-separated), ``inputs(spec, ctx)`` the files it reads."""

    def register(fn):
        STAGES.register(kind)(
            StageKind(fn, inputs, COMMON + tuple(keys.split()), tuple(required.split()))
        )
        return fn

    return register


def _files(*paths: Path | None) -> list[Path]:
    return [p for p in paths if p is not None]


def _sets(spec: dict) -> tuple[str, ...]:
    return tuple(spec.get("set", ()))


def _res(spec: dict) -> list[int] | None:
    res = spec.get("res")
    return [res] if isinstance(res, int) else res


def _reads(*keys: str):
    """``inputs`` of a stage that reads the files named by ``keys``."""
    return lambda spec, ctx: [ctx.path(spec[k]) for k in keys]


# --- stages: each maps its options onto the stage's entry point ------------------------------


@stage(
    "simulate",
    "out config scene dim res factor frames sims seed workers set",
    "out",
    lambda spec, ctx: [],
)
def run_simulate(spec: dict, ctx: Context) -> dict:
    from pipelines.simulate import resolve_config, simulate

    options = {k: spec.get(k) for k in ("scene", "dim", "factor", "frames", "sims", "seed")}
    config = resolve_config(
        config_file=ctx.config(spec), res=_res(spec), sets=_sets(spec), **options
    )
    out = ctx.path(spec["out"])
    manifest = simulate(config, out, workers=spec.get("workers", 1), progress=ctx.progress)
    if manifest["complete"] != len(manifest["sims"]):
        raise UserError(f"{out}: {manifest['complete']}/{len(manifest['sims'])} sims complete")
    files = [out / s["file"] for s in manifest["sims"]]
    return {"outputs": [str(p) for p in [*files, out / "manifest.json"]], "sims": len(files)}


def _train_inputs(spec: dict, ctx: Context) -> list[Path]:
    return sorted(ctx.path(spec["data"]).glob("sim_*.h5"))


@stage("train", "data out config iterations device set", "data out", _train_inputs)
def run_train(spec: dict, ctx: Context) -> dict:
    from fluidgan.train.checkpoint import latest_checkpoint
    from pipelines.train import resolve_config, train

    cfg = resolve_config(ctx.config(spec), _sets(spec), iterations=spec.get("iterations"))
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


UPSCALE_OPTIONS = "device tile overlap memory_mb batch sr_velocity compare_frames weights"


@stage(
    "upscale",
    "checkpoint input out frames config set simulate_scene dim res sim_frames seed "
    + UPSCALE_OPTIONS,
    "checkpoint out",
    _upscale_inputs,
)
def run_upscale(spec: dict, ctx: Context) -> dict:
    from pipelines.upscale import resolve_config, upscale

    checkpoint = _checkpoint(spec, ctx)
    config = resolve_config(
        ctx.config(spec),
        _sets(spec),
        checkpoint=checkpoint,
        scene=spec.get("simulate_scene"),
        dim=spec.get("dim"),
        coarse_res=_res(spec),
        frames=spec.get("sim_frames"),
        seed=spec.get("seed"),
        **{k: spec.get(k) for k in UPSCALE_OPTIONS.split()},
    )
    out = ctx.path(spec["out"])
    source = ctx.path(spec["input"]) if "input" in spec else None
    result = upscale(checkpoint, source, out, config, spec.get("frames"), progress=ctx.progress)
    return {"outputs": [str(out)], **result}


@stage("export", "input out groups fields frames", "input out", _reads("input"))
def run_export(spec: dict, ctx: Context) -> dict:
    from fluidgan.config import from_command_line
    from pipelines.export import ExportConfig, export_vtk

    config = from_command_line(
        ExportConfig, **{k: spec.get(k) for k in ("groups", "fields", "frames")}
    )
    out = ctx.path(spec["out"])
    written = export_vtk(ctx.path(spec["input"]), out, config, progress=ctx.progress)
    pvd = [str(p) for p in written if p.suffix == ".pvd"]
    return {"outputs": pvd, "files": len(written), "pvd": pvd}


@stage(
    "evaluate",
    "prediction reference out config set baselines fid fid_features device",
    "prediction reference out",
    _reads("prediction", "reference"),
)
def run_evaluate(spec: dict, ctx: Context) -> dict:
    from fluidgan.config import from_command_line
    from pipelines.evaluate import EvaluateConfig, evaluate

    options = {k: spec.get(k) for k in ("baselines", "fid", "fid_features", "device")}
    config = from_command_line(EvaluateConfig, ctx.config(spec), _sets(spec), **options)
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
    "input out groups field frames count fps max_frames",
    "input out",
    _reads("input"),
)
def run_preview(spec: dict, ctx: Context) -> dict:
    from fluidgan.config import from_command_line
    from pipelines.preview import PreviewConfig, preview

    options = {k: spec.get(k) for k in ("groups", "field", "frames", "count", "fps", "max_frames")}
    config = from_command_line(PreviewConfig, **options)
    return {"outputs": [str(preview(ctx.path(spec["input"]), ctx.path(spec["out"]), config))]}


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
    start = time.perf_counter()
    stages = data["stage"]
    summary = {
        spec.get("name", spec["kind"]): run_stage(spec, ctx, state, f"[{i}/{len(stages)}]", echo)
        for i, spec in enumerate(stages, 1)
    }
    return {
        "out": str(root),
        "pipeline": str(path),
        "stages": summary,
        "seconds": time.perf_counter() - start,
    }


def run_stage(spec: dict, ctx: Context, state: dict, count: str, echo) -> dict[str, Any]:
    """Run one stage unless ``state`` records it complete (same options, unchanged inputs,
    outputs present); record it in ``state`` and in ``pipeline_state.json``."""
    name = spec.get("name", spec["kind"])
    kind = STAGES[spec["kind"]]
    options = {k: v for k, v in spec.items() if k not in COMMON}
    inputs = stamp(kind.inputs(options, ctx))
    label = f"{count} {name} ({spec['kind']})"
    if is_complete(state.get(name), options, inputs):
        echo(f"{label}: complete, skipped")
        return {"status": "skipped", **state[name].get("result", {})}
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
    write_state(ctx.root, state)
    echo(f"{label}: done in {seconds:.1f} s")
    return {"status": "ran", "seconds": seconds, **result}
