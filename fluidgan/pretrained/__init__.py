"""Pretrained tempoGAN generators shipped inside the package: ``pretrained:NAME``.

The registry ``models.toml`` beside this file lists each model (one table per name)::

    [models.smoke2d]
    file = "smoke2d.pt"          # a stripped checkpoint: generator + model record
    sha256 = "…"                 # of the file; checked on every load
    size = 1234567               # bytes
    card = "smoke2d.md"          # the model card: training data and command, config,
                                 # held-out metrics, the hash
    description = "…"            # one line
    dim = 2
    factor = 4
    channels = "rho+v"

``resolve("pretrained:smoke2d")`` gives the verified file path, which every checkpoint
reader takes (``fluidgan upscale --checkpoint pretrained:smoke2d``). Nothing is ever
downloaded: a model is either in the installed package or it does not exist.
``benchmarks/make_pretrained.py`` writes the files and the registry entries.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tomllib

from fluidgan.errors import UserError

PREFIX = "pretrained:"
REGISTRY = Path(__file__).with_name("models.toml")  # tests point this elsewhere
KEYS = {"file", "sha256", "size", "card", "description", "dim", "factor", "channels"}
REQUIRED = {"file", "sha256"}


@dataclass(frozen=True)
class PretrainedModel:
    """One registry entry; ``file`` and ``card`` are absolute paths."""

    name: str
    file: Path
    sha256: str
    size: int | None = None
    card: Path | None = None
    description: str = ""
    dim: int | None = None
    factor: int | None = None
    channels: str | None = None


def is_pretrained(ref: str | os.PathLike) -> bool:
    """Whether a checkpoint argument names a shipped model (``pretrained:NAME``)."""
    return str(ref).startswith(PREFIX)


def registry(path: str | os.PathLike | None = None) -> dict[str, PretrainedModel]:
    """The models of a registry file (default :data:`REGISTRY`), by name."""
    path = Path(path) if path is not None else REGISTRY
    if not path.is_file():
        return {}
    try:
        data = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as e:
        raise UserError(f"{path}: invalid TOML ({e})") from None
    models = {}
    for name, entry in data.get("models", {}).items():
        unknown = set(entry) - KEYS
        if unknown:
            raise UserError(f"{path}: models.{name}: unknown keys {sorted(unknown)}")
        missing = REQUIRED - set(entry)
        if missing:
            raise UserError(f"{path}: models.{name}: missing {sorted(missing)}")
        folder = path.parent
        models[name] = PretrainedModel(
            name=name,
            file=folder / entry["file"],
            sha256=str(entry["sha256"]).lower(),
            size=entry.get("size"),
            card=folder / entry["card"] if entry.get("card") else None,
            description=entry.get("description", ""),
            dim=entry.get("dim"),
            factor=entry.get("factor"),
            channels=entry.get("channels"),
        )
    return models


def lookup(ref: str, path: str | os.PathLike | None = None) -> PretrainedModel:
    """The entry ``NAME`` or ``pretrained:NAME``; UserError listing the valid names."""
    name = ref[len(PREFIX) :] if is_pretrained(ref) else ref
    models = registry(path)
    if name not in models:
        valid = ", ".join(f"{PREFIX}{n}" for n in sorted(models)) or "none are installed"
        raise UserError(f"unknown pretrained model {PREFIX}{name}; valid: {valid}")
    return models[name]


def sha256_of(path: str | os.PathLike) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def verify(model: PretrainedModel) -> Path:
    """The model's file after checking that it exists and that its sha256 is the
    registered one (a damaged or replaced file is refused, never loaded)."""
    if not model.file.is_file():
        raise UserError(f"{model.file}: the file of {PREFIX}{model.name} is missing")
    actual = sha256_of(model.file)
    if actual != model.sha256:
        raise UserError(
            f"{model.file}: sha256 {actual} does not match the registered {model.sha256} "
            f"of {PREFIX}{model.name}"
        )
    return model.file


def resolve(ref: str, path: str | os.PathLike | None = None) -> Path:
    """``pretrained:NAME`` -> the verified checkpoint file of that model."""
    return verify(lookup(ref, path))


def card_text(model: PretrainedModel) -> str | None:
    return model.card.read_text() if model.card and model.card.is_file() else None


def describe(ref: str = PREFIX, path: str | os.PathLike | None = None) -> dict[str, Any]:
    """For ``fluidgan info``: every shipped model (``pretrained:``) or one
    (``pretrained:NAME``, its hash verified), each with its model card."""
    name = ref[len(PREFIX) :] if is_pretrained(ref) else ref
    models = [lookup(name, path)] if name else list(registry(path).values())
    listed = {}
    for m in models:
        entry = {
            "file": str(m.file),
            "sha256": m.sha256,
            "size_mb": round(m.size / 2**20, 3) if m.size else None,
            "description": m.description,
            "dim": m.dim,
            "factor": m.factor,
            "channels": m.channels,
        }
        if name:
            verify(m)
            entry["verified"] = True
        entry["card"] = card_text(m) or "(no model card)"
        listed[m.name] = {k: v for k, v in entry.items() if v is not None}
    return {
        "kind": "pretrained models",
        "registry": str(Path(path) if path is not None else REGISTRY),
        "models": listed or "none are installed",
    }


def write_registry(models: dict[str, dict[str, Any]], path: str | os.PathLike) -> Path:
    """Write a registry file: ``models`` maps a name to its entry (keys of :data:`KEYS`,
    paths relative to the registry's folder)."""
    import tomli_w

    from fluidgan.io.atomic import write_text

    for name, entry in models.items():
        unknown = set(entry) - KEYS
        if unknown or not REQUIRED <= set(entry):
            raise ValueError(f"models.{name}: keys {sorted(entry)}; allowed {sorted(KEYS)}")
    header = (
        "# Pretrained tempoGAN generators shipped with fluidgan (see fluidgan/pretrained).\n"
        "# Written by benchmarks/make_pretrained.py; the sha256 is checked on every load.\n\n"
    )
    body = tomli_w.dumps({"models": models}) if models else ""
    return write_text(path, header + body)
