"""A resumable stream of training batches.

Every update of an iteration takes a fresh batch. The item indices of iteration k come from
a generator seeded with (seed, stream, k, rank) alone, so a run resumed at iteration k
draws exactly the batches the uninterrupted run drew, whatever happened before; items
themselves are deterministic functions of their index (``TileDataset``).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, Sampler

from fluidgan.data.dataset import worker_init_fn

SPATIAL, TEMPORAL = 0, 1  # stream ids: the two datasets draw independent index sequences


class IterationSampler(Sampler[list[int]]):
    """Index lists for iterations ``start .. stop-1``: ``per_iteration`` batches of ``batch``
    indices each, uniform in ``[0, items)``, keyed by (seed, stream, iteration, rank)."""

    def __init__(
        self,
        items: int,
        batch: int,
        per_iteration: int,
        start: int,
        stop: int,
        seed: int,
        stream: int,
        rank: int = 0,
    ):
        self.items, self.batch, self.per_iteration = items, batch, per_iteration
        self.start, self.stop, self.seed, self.stream, self.rank = start, stop, seed, stream, rank

    def indices(self, iteration: int) -> np.ndarray:
        """(per_iteration, batch) item indices of one iteration."""
        rng = np.random.default_rng([self.seed, self.stream, iteration, self.rank])
        return rng.integers(0, self.items, size=(self.per_iteration, self.batch))

    def __iter__(self) -> Iterator[list[int]]:
        for iteration in range(self.start, self.stop):
            yield from self.indices(iteration).tolist()

    def __len__(self) -> int:
        return (self.stop - self.start) * self.per_iteration


@dataclass
class IterationBatches:
    """The batches of one iteration: spatial dicts (D_s updates first, then G updates) and
    temporal dicts (D_t updates first, then G updates)."""

    spatial: list[dict[str, torch.Tensor]]
    temporal: list[dict[str, torch.Tensor]]


def loader(
    dataset: Dataset, sampler: IterationSampler, workers: int, pin: bool
) -> Iterator[dict[str, torch.Tensor]]:
    """Collated batches in sampler order (worker processes keep the order)."""
    return iter(
        DataLoader(
            dataset,
            batch_sampler=sampler,
            num_workers=workers,
            pin_memory=pin,
            worker_init_fn=worker_init_fn,
            prefetch_factor=4 if workers else None,
        )
    )


def iteration_batches(
    spatial: Iterator[dict] | None,
    temporal: Iterator[dict] | None,
    n_spatial: int,
    n_temporal: int,
    device: torch.device,
) -> Iterator[IterationBatches]:
    """Group the two streams per iteration and move the tensors to ``device``."""

    def take(stream, n):
        return [to_device(next(stream), device) for _ in range(n)] if n else []

    while True:
        yield IterationBatches(take(spatial, n_spatial), take(temporal, n_temporal))


def to_device(batch: dict, device: torch.device) -> dict[str, torch.Tensor]:
    non_blocking = device.type == "cuda"
    return {
        k: torch.as_tensor(v).to(device, non_blocking=non_blocking).float()
        if not isinstance(v, (str, list))
        else v
        for k, v in batch.items()
    }
