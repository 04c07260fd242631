"""Mixed precision: which devices compute bfloat16 fast, and the autocast dtype to use.

bfloat16 keeps float32's exponent range, so it needs no loss scaling; on CPUs it is fast
only with native units (AVX-512 BF16 or AMX), elsewhere it is emulated and slower than
float32 — so ``amp = "auto"`` uses it on CUDA and on such CPUs only.
"""

from __future__ import annotations

import functools
from pathlib import Path

import torch

BF16_CPU_FLAGS = ("avx512_bf16", "amx_bf16")


@functools.cache
def cpu_has_bf16(cpuinfo: str | Path = "/proc/cpuinfo") -> bool:
    """True when the CPU has native bfloat16 arithmetic (AVX-512 BF16 or AMX-BF16).

    Read from the kernel's CPU flags; False where they cannot be read (not Linux).
    """
    try:
        text = Path(cpuinfo).read_text()
    except OSError:
        return False
    flags = next(
        (line.split(":", 1)[1].split() for line in text.splitlines() if line.startswith("flags")),
        [],
    )
    return any(flag in flags for flag in BF16_CPU_FLAGS)


def amp_dtype(mode: str, device: torch.device) -> torch.dtype | None:
    """The autocast dtype for ``amp`` ``mode`` on ``device``: bfloat16 for ``"bf16"``, and
    for ``"auto"`` on CUDA or on a CPU with native bfloat16 units; None (float32) for
    ``"off"`` and for ``"auto"`` elsewhere."""
    if mode == "off":
        return None
    if mode == "bf16" or device.type == "cuda":
        return torch.bfloat16
    if mode == "auto" and device.type == "cpu" and cpu_has_bf16():
        return torch.bfloat16
    return None
