"""Training data: tiles and triplets from simulation files, physics-aware augmentation."""

from fluidgan.data.augment import AugmentConfig, augment, draw_transform
from fluidgan.data.channels import build_inputs, channel_count, channel_names
from fluidgan.data.dataset import (
    DataConfig,
    TileDataset,
    list_sims,
    make_datasets,
    make_loader,
    split_by_simulation,
)
from fluidgan.data.vorticity import curl, divergence

__all__ = [
    "AugmentConfig",
    "DataConfig",
    "TileDataset",
    "augment",
    "build_inputs",
    "channel_count",
    "channel_names",
    "curl",
    "divergence",
    "draw_transform",
    "list_sims",
    "make_datasets",
    "make_loader",
    "split_by_simulation",
]
