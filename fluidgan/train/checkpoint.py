"""Training checkpoints: one file per save, written atomically, the last K kept.

A checkpoint is a dict saved with :func:`torch.save` that :func:`torch.load` reads with
``weights_only=True`` (tensors, numbers, strings, lists and dicts only)::

    format            "fluidgan.tempogan", format_version 1, fluidgan_version
    iteration         completed training iterations
    config            the resolved TrainConfig as plain data
    model             {"dim", "factor", "in_channels", "channels", "tile", ...}: what
                      rebuilds the generator (see :func:`load_generator`)
    generator, spatial_discriminator, temporal_discriminator      state dicts (or None)
    generator_ema     the EMA of G's weights (a state dict of G's shape); only in runs
                      with ``ema_decay`` > 0, whose decay ``config`` holds
    optimizers, schedulers                                        state dicts by name
    rng               {"torch", "numpy", "python", "cuda"} generator states
    metrics           the last logged metrics

Files are ``<run>/checkpoints/ckpt_<iteration:08d>.pt``.
"""

from __future__ import annotations

import os
import random
import re
from pathlib import Path
from typing import Any

import numpy as np
import torch

from fluidgan import __version__
from fluidgan.errors import UserError
from fluidgan.loop import save_atomically

FORMAT = "fluidgan.tempogan"
FORMAT_VERSION = 1
PATTERN = re.compile(r"^ckpt_(\d{8})\.pt$")
EMA_KEY = "generator_ema"
WEIGHTS = ("ema", "raw")  # which generator weights inference takes (see generator_state)


def checkpoint_dir(run_dir: str | os.PathLike) -> Path:
    return Path(run_dir) / "checkpoints"


def checkpoint_path(run_dir: str | os.PathLike, iteration: int) -> Path:
    return checkpoint_dir(run_dir) / f"ckpt_{iteration:08d}.pt"


def list_checkpoints(run_dir: str | os.PathLike) -> list[Path]:
    """Complete checkpoints of a run, oldest first (temporary files are never listed)."""
    folder = checkpoint_dir(run_dir)
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if PATTERN.match(p.name))


def latest_checkpoint(run_dir: str | os.PathLike) -> Path | None:
    found = list_checkpoints(run_dir)
    return found[-1] if found else None


def save_checkpoint(state: dict[str, Any], path: str | os.PathLike, keep: int = 0) -> Path:
    """Write ``state`` to ``path`` atomically (temporary name, fsync, rename); then delete
    all but the newest ``keep`` checkpoints of the folder (``keep`` <= 0 keeps all)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "fluidgan_version": __version__,
        **state,
    }
    save_atomically(state, path)
    if keep > 0:
        for old in list_checkpoints(path.parent.parent)[:-keep]:
            old.unlink(missing_ok=True)
    return path


def load_checkpoint(path: str | os.PathLike, map_location: Any = "cpu") -> dict[str, Any]:
    """Read a checkpoint (or the newest one of a run directory, or a shipped model
    ``pretrained:NAME``, its hash verified); UserError if unusable."""
    if str(path).startswith("pretrained:"):
        from fluidgan.pretrained import resolve

        path = resolve(str(path))
    path = Path(path)
    if path.is_dir():
        found = latest_checkpoint(path)
        if found is None:
            raise UserError(f"{path}: no checkpoint in {checkpoint_dir(path)}")
        path = found
    if not path.is_file():
        raise UserError(f"{path}: no such checkpoint")
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as e:  # a truncated or foreign file
        raise UserError(f"{path}: not a readable checkpoint ({type(e).__name__}: {e})") from None
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise UserError(f"{path}: not a fluidgan tempoGAN checkpoint")
    if state.get("format_version") != FORMAT_VERSION:
        raise UserError(
            f"{path}: checkpoint format_version {state.get('format_version')} "
            f"is not supported ({FORMAT_VERSION})"
        )
    state["path"] = str(path)
    return state


def generator_state(state: dict[str, Any], weights: str = "ema") -> tuple[dict[str, Any], str]:
    """The generator weights of a loaded checkpoint and which they are: ``"ema"`` the EMA
    of G's weights when the checkpoint has one, else G's own; ``"raw"`` always G's own.
    Returns ``(state_dict, "ema" | "raw")``."""
    if weights not in WEIGHTS:
        raise UserError(f"weights = {weights!r}: use one of {', '.join(WEIGHTS)}")
    if weights == "ema" and state.get(EMA_KEY) is not None:
        return state[EMA_KEY], "ema"
    return state["generator"], "raw"


def has_ema(state: dict[str, Any]) -> bool:
    """Whether a loaded checkpoint carries the EMA of G's weights."""
    return state.get(EMA_KEY) is not None


def generator_from_state(
    state: dict[str, Any], device: str | torch.device = "cpu", weights: str = "ema"
):
    """:func:`load_generator` of a checkpoint already loaded; returns ``(generator,
    model_info, "ema" | "raw")``, the last naming the weights it holds."""
    from fluidgan.models.generators import build_generator, normalise_record

    info = normalise_record(state["model"])
    generator = build_generator(info)
    weights_state, used = generator_state(state, weights)
    generator.load_state_dict(weights_state)
    return generator.to(device).eval(), info, used


def load_generator(
    path: str | os.PathLike, device: str | torch.device = "cpu", weights: str = "ema"
):
    """The trained generator of a checkpoint, in eval mode, and the checkpoint's ``model``
    record (dim, factor, in_channels, channels, ...) — all ``fluidgan upscale`` needs.

    ``weights``: ``"ema"`` (default) the EMA of G's weights when the run kept one
    (``ema_decay`` > 0), else G's; ``"raw"`` G's own weights.
    Returns ``(generator, model_info)``; ``generator(x)`` maps (B, C, *s) -> (B, 1, *f·s).
    """
    generator, info, _ = generator_from_state(load_checkpoint(path), device, weights)
    return generator, info


# --- random number generator states -------------------------------------------------


def rng_state() -> dict[str, Any]:
    """States of torch (CPU and CUDA), numpy's global and Python's generators, in types
    that ``weights_only`` loading accepts."""
    # The legacy global generator: saved because third-party code may draw from it.
    np_state = np.random.get_state(legacy=False)  # noqa: NPY002
    return {
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
        "numpy": {
            "bit_generator": np_state["bit_generator"],
            "key": torch.from_numpy(np_state["state"]["key"].astype(np.int64)),
            "pos": int(np_state["state"]["pos"]),
            "has_gauss": int(np_state["has_gauss"]),
            "gauss": float(np_state["gauss"]),
        },
        "python": random.getstate(),
    }


def set_rng_state(state: dict[str, Any]) -> None:
    torch.set_rng_state(state["torch"])
    if state.get("cuda") and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
    n = state["numpy"]
    legacy = {
        "bit_generator": n["bit_generator"],
        "state": {"key": n["key"].numpy().astype(np.uint32), "pos": n["pos"]},
        "has_gauss": n["has_gauss"],
        "gauss": n["gauss"],
    }
    np.random.set_state(legacy)  # noqa: NPY002
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))
