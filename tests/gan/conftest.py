from __future__ import annotations

import pytest
import torch


@pytest.fixture(autouse=True)
def _one_thread_seeded(one_thread):
    """Every test here runs on one torch thread (``one_thread``, tests/conftest.py), from
    torch's seed 0."""
    torch.manual_seed(0)
