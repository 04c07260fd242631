"""A set of simulations of one scene: how many, from which seed; resolved from a scene
preset as ``fluidgan simulate`` takes it (``upscale`` in coarse mode takes it too)."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from fluidgan.config import resolve_config
from fluidgan.errors import UserError
from solvers.scene import SceneConfig


@dataclass
class SimulateConfig:
    """``fluidgan simulate``: how many simulations of which scene, from which seed."""

    sims: int = 1
    seed: int = 0
    scene: SceneConfig = field(default_factory=SceneConfig)

    def __post_init__(self):
        if self.sims < 1:
            raise ValueError(f"sims must be >= 1, got {self.sims}")


def resolve_simulate_config(
    *,
    scene: str | None = None,
    config_file: str | os.PathLike | Mapping[str, Any] | None = None,
    dim: int | None = None,
    res: list[int] | None = None,
    factor: int | None = None,
    frames: int | None = None,
    sims: int | None = None,
    seed: int | None = None,
    sets: Iterable[str] = (),
) -> SimulateConfig:
    """Defaults <- scene preset (``training`` when neither it nor a config file is given)
    <- ``config_file`` (a TOML file or its data) <- explicit options <- ``--set``."""
    if res is not None and dim is not None and len(res) not in (1, dim):
        raise UserError(f"--res {'x'.join(map(str, res))} does not match --dim {dim}")
    if res is not None and len(res) > 1:
        dim = len(res)
    if scene is None and config_file is None:
        scene = "training"

    def options(base: dict) -> dict:
        preset_dim = base.get("scene", {}).get("dim", 2)
        grid: dict[str, Any] = {"factor": factor, "frames": frames}
        if dim is not None and dim != preset_dim:
            grid |= {"dim": dim, "res": [base.get("scene", {}).get("res", [128])[0]] * dim}
        if res is not None:
            grid["res"] = res * (dim or preset_dim) if len(res) == 1 else res
        return {"scene": grid, "sims": sims, "seed": seed}

    return resolve_config(
        SimulateConfig,
        kind="scenes",
        preset=scene,
        file=config_file,
        options=options,
        sets=sets,
        dim=dim,
    )
