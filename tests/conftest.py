"""Fixtures for every test: a private fluidgan cache directory for the whole session, and
``one_thread`` for the folders and modules that ask for it."""

from __future__ import annotations

import pytest
import torch

from fluidgan.metrics.cache import CACHE_ENV


@pytest.fixture(autouse=True, scope="session")
def _private_cache(tmp_path_factory):
    # One cache per session: the digits classifier is trained once (seconds), and no
    # test reads or writes the user's ~/.cache/fluidgan.
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(CACHE_ENV, str(tmp_path_factory.mktemp("fluidgan-cache")))
        yield


@pytest.fixture
def one_thread():
    """One torch thread for the test, restored after: bit-exact comparisons, tiny networks
    at their fastest, and little contention with other work on shared cores."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
