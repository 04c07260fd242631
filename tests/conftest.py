"""Fixtures for every test: a private fluidgan cache directory for the whole session."""

from __future__ import annotations

import pytest

from fluidgan.metrics.cache import CACHE_ENV


@pytest.fixture(autouse=True, scope="session")
def _private_cache(tmp_path_factory):
    # One cache per session: the digits classifier is trained once (seconds), and no
    # test reads or writes the user's ~/.cache/fluidgan.
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(CACHE_ENV, str(tmp_path_factory.mktemp("fluidgan-cache")))
        yield
