"""Inference: a trained generator over whole frames or overlapping tiles (docs/METHOD.md)."""

from fluidgan.inference.sources import LowSequence, open_low_sequence
from fluidgan.inference.tiling import Tile, plan_tiles, receptive_halo, upscale_tiled
from fluidgan.inference.upscaler import Upscaler, frame_inputs

__all__ = [
    "LowSequence",
    "Tile",
    "Upscaler",
    "frame_inputs",
    "open_low_sequence",
    "plan_tiles",
    "receptive_halo",
    "upscale_tiled",
]
