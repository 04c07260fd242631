"""The one rule that turns a ``--device`` option or a ``device =`` config key into a device.

Training, upscaling, GAN training and the metrics' feature extractors all resolve their
device here, so ``auto`` means the same everywhere and a device the machine lacks fails
the same way: one line naming the value.
"""

from __future__ import annotations

import torch

from fluidgan.errors import UserError

VALID = "auto, cpu, cuda, cuda:<index> or mps"


def resolve_device(name: str | torch.device, local_rank: int = 0) -> torch.device:
    """``auto`` -> CUDA when present, else the CPU; ``cpu``; ``cuda`` / ``cuda:<index>``;
    ``mps`` (Apple GPUs) where PyTorch has it.

    ``cuda`` without an index is GPU ``local_rank`` (modulo the GPU count): under torchrun
    each process takes its own GPU. A CUDA or MPS request on a machine without one, a GPU
    index past the last GPU, or an unknown name is a UserError.
    """
    text = str(name)
    if text == "auto":
        text = "cuda" if torch.cuda.is_available() else "cpu"
    if text == "cpu":
        return torch.device("cpu")
    if text == "mps":
        if not torch.backends.mps.is_available():
            raise UserError(f"device {text!r}: MPS is not available on this machine")
        return torch.device("mps")
    if text == "cuda" or text.startswith("cuda:"):
        return _cuda_device(text, local_rank)
    raise UserError(f"device {text!r}; valid: {VALID}")


def _cuda_device(text: str, local_rank: int) -> torch.device:
    try:
        device = torch.device(text)
    except RuntimeError:
        raise UserError(f"device {text!r}; valid: {VALID}") from None
    if not torch.cuda.is_available():
        raise UserError(f"device {text!r}: CUDA is not available on this machine")
    count = torch.cuda.device_count()
    if device.index is None:
        return torch.device("cuda", local_rank % count)
    if device.index >= count:
        raise UserError(f"device {text!r}: this machine has {count} GPU(s)")
    return device
