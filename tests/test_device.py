"""The one device rule, with the GPU count simulated so it runs on any machine."""

from __future__ import annotations

import pytest
import torch

from fluidgan.device import resolve_device
from fluidgan.errors import UserError


@pytest.fixture
def gpus(monkeypatch):
    """Pretend this machine has ``n`` CUDA devices."""

    def set_count(n: int) -> None:
        monkeypatch.setattr(torch.cuda, "is_available", lambda: n > 0)
        monkeypatch.setattr(torch.cuda, "device_count", lambda: n)

    return set_count


def test_cpu_and_auto_without_gpus(gpus):
    gpus(0)
    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device(torch.device("cpu")) == torch.device("cpu")
    assert resolve_device("auto") == torch.device("cpu")


def test_auto_and_bare_cuda_take_this_process_gpu(gpus):
    gpus(2)
    assert resolve_device("auto") == torch.device("cuda", 0)
    assert resolve_device("cuda", local_rank=1) == torch.device("cuda", 1)
    assert resolve_device("cuda", local_rank=3) == torch.device("cuda", 1)  # wraps round
    assert resolve_device("cuda:1", local_rank=0) == torch.device("cuda", 1)  # explicit wins
    assert resolve_device(torch.device("cuda", 0), local_rank=1) == torch.device("cuda", 0)


@pytest.mark.parametrize(
    ("count", "name", "message"),
    [
        (0, "cuda", "device 'cuda': CUDA is not available on this machine"),
        (0, "cuda:0", "device 'cuda:0': CUDA is not available on this machine"),
        (2, "cuda:2", "device 'cuda:2': this machine has 2 GPU(s)"),
        (2, "cuda:x", "device 'cuda:x'; valid: auto, cpu, cuda, cuda:<index> or mps"),
        (2, "tpu", "device 'tpu'; valid: auto, cpu, cuda, cuda:<index> or mps"),
        (2, "gpu", "device 'gpu'; valid: auto, cpu, cuda, cuda:<index> or mps"),
    ],
)
def test_bad_requests_are_one_line_user_errors(gpus, count, name, message):
    gpus(count)
    with pytest.raises(UserError) as err:
        resolve_device(name)
    assert str(err.value) == message


def test_mps_only_where_pytorch_has_it(monkeypatch):
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    with pytest.raises(UserError, match="MPS is not available"):
        resolve_device("mps")
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: True)
    assert resolve_device("mps") == torch.device("mps")


def test_every_stage_uses_the_same_rule():
    from fluidgan.gan import trainer
    from fluidgan.metrics import domain, inception
    from fluidgan.train import distributed

    for module in (trainer, distributed, domain, inception):
        assert module.resolve_device is resolve_device
