"""The resumable batch index stream."""

from __future__ import annotations

import numpy as np

from fluidgan.train.batches import SPATIAL, TEMPORAL, IterationSampler


def sampler(start=0, stop=6, rank=0, stream=SPATIAL, seed=5):
    return IterationSampler(1000, 4, 3, start, stop, seed, stream, rank)


def test_a_resumed_stream_continues_the_uninterrupted_one():
    whole = list(sampler(0, 6))
    assert list(sampler(0, 2)) + list(sampler(2, 6)) == whole
    assert len(whole) == len(sampler(0, 6)) == 6 * 3
    assert all(len(batch) == 4 for batch in whole)


def test_ranks_streams_and_seeds_draw_different_items():
    base = np.array(list(sampler()))
    for other in (sampler(rank=1), sampler(stream=TEMPORAL), sampler(seed=6)):
        assert not np.array_equal(base, np.array(list(other)))
    assert base.min() >= 0 and base.max() < 1000
