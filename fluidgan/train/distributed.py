"""Devices and multi-process training: one process per GPU (or CPU process) under
``torchrun``, PyTorch DistributedDataParallel; NCCL on CUDA, gloo on CPU.

``torchrun --nproc_per_node N -m fluidgan train …`` sets RANK / LOCAL_RANK /
WORLD_SIZE / MASTER_ADDR / MASTER_PORT; without them training runs in one process.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import nn

from fluidgan.device import resolve_device


@dataclass(frozen=True)
class Context:
    """Where this process trains: its rank among ``world`` processes and its device."""

    rank: int
    local_rank: int
    world: int
    device: torch.device
    owns_group: bool = False  # this process group was created by :func:`setup`

    @property
    def main(self) -> bool:
        """Rank 0 writes checkpoints, logs and previews."""
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world > 1


def setup(device: str = "auto") -> Context:
    """Join the process group when launched by torchrun (WORLD_SIZE > 1)."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    dev = resolve_device(device, local_rank)
    owns = world > 1 and not dist.is_initialized()
    if owns:
        if dev.type == "cuda":
            torch.cuda.set_device(dev)
        dist.init_process_group(
            "nccl" if dev.type == "cuda" else "gloo", rank=rank, world_size=world
        )
    return Context(rank, local_rank, world, dev, owns)


def teardown(ctx: Context) -> None:
    if ctx.owns_group and dist.is_initialized():
        dist.destroy_process_group()


def wrap(module: nn.Module, ctx: Context) -> nn.Module:
    """DistributedDataParallel around ``module`` in a multi-process run, else ``module``."""
    if not ctx.distributed:
        return module
    ids = [ctx.device.index] if ctx.device.type == "cuda" else None
    return nn.parallel.DistributedDataParallel(module, device_ids=ids)


def unwrap(module: nn.Module) -> nn.Module:
    return module.module if isinstance(module, nn.parallel.DistributedDataParallel) else module


def average(values: torch.Tensor, ctx: Context) -> torch.Tensor:
    """Mean of ``values`` over all processes (a copy; unchanged in one process)."""
    values = values.detach().clone()
    if ctx.distributed:
        dist.all_reduce(values, op=dist.ReduceOp.SUM)
        values /= ctx.world
    return values


def any_rank(flag: bool, ctx: Context) -> bool:
    """True on every rank when ``flag`` is true on any."""
    if not ctx.distributed:
        return flag
    value = torch.tensor([float(flag)], device=ctx.device)
    dist.all_reduce(value, op=dist.ReduceOp.MAX)
    return bool(value.item() > 0)


def barrier(ctx: Context) -> None:
    if ctx.distributed:
        dist.barrier()


def broadcast_object(obj, ctx: Context):
    """``obj`` of rank 0 on every rank."""
    if not ctx.distributed:
        return obj
    box = [obj]
    dist.broadcast_object_list(box, src=0)
    return box[0]
