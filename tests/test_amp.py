"""Mixed precision: bfloat16 where the hardware computes it natively, float32 elsewhere."""

from __future__ import annotations

import pytest
import torch

from fluidgan.amp import amp_dtype, cpu_has_bf16

CPU, CUDA = torch.device("cpu"), torch.device("cuda")


def cpuinfo(tmp_path, flags: str):
    path = tmp_path / "cpuinfo"
    path.write_text(f"processor\t: 0\nmodel name\t: X\nflags\t\t: fpu sse2 {flags}\n\n")
    return path


@pytest.mark.parametrize(
    "flags, expected",
    [("avx512f avx512_bf16", True), ("amx_tile amx_bf16", True), ("avx512f avx2", False)],
)
def test_bf16_units_are_read_from_the_cpu_flags(tmp_path, flags, expected):
    assert cpu_has_bf16(cpuinfo(tmp_path, flags)) is expected


def test_no_cpuinfo_means_no_bf16(tmp_path):
    assert cpu_has_bf16(tmp_path / "missing") is False


def test_amp_modes(monkeypatch):
    import fluidgan.amp as amp

    monkeypatch.setattr(amp, "cpu_has_bf16", lambda: True)
    assert amp_dtype("auto", CPU) is torch.bfloat16
    assert amp_dtype("off", CPU) is None and amp_dtype("off", CUDA) is None
    assert amp_dtype("auto", CUDA) is torch.bfloat16
    monkeypatch.setattr(amp, "cpu_has_bf16", lambda: False)
    assert amp_dtype("auto", CPU) is None  # emulated bf16 is slower than float32
    assert amp_dtype("bf16", CPU) is torch.bfloat16  # asked for explicitly
