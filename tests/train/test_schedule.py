"""The learning-rate schedule: constant, then polynomial decay (power 1.1) to 5 %."""

from __future__ import annotations

import itertools

import pytest
import torch

from fluidgan.train.schedule import lr_factor, make_scheduler


def tf_polynomial_decay(lr, step, decay_steps, end, power):
    """TensorFlow 1's polynomial_decay (cycle=False), written independently."""
    step = min(step, decay_steps)
    return (lr - end) * (1 - step / decay_steps) ** power + end


@pytest.mark.parametrize("total", [10, 40000, 7])
def test_matches_the_reference_schedule(total):
    # The reference feeds max(0, k - N//2) as the global step of polynomial_decay over N//2.
    for k in range(0, total + 3, max(total // 50, 1)):
        step = max(0, k - total // 2)
        expected = tf_polynomial_decay(2e-4, step, total - total // 2, 2e-4 * 0.05, 1.1)
        assert 2e-4 * lr_factor(k, total) == pytest.approx(expected, rel=1e-12)


def test_shape_of_the_curve():
    total = 1000
    factors = [lr_factor(k, total) for k in range(total + 1)]
    assert all(f == 1.0 for f in factors[:500])
    assert factors[-1] == pytest.approx(0.05)
    assert factors[750] == pytest.approx(0.95 * 0.5**1.1 + 0.05)
    assert all(a >= b for a, b in itertools.pairwise(factors))


def test_scheduler_steps_the_optimiser_and_its_state_round_trips():
    p = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.Adam([p], lr=2e-4)
    sched = make_scheduler(opt, 10, 0.5, 0.05, 1.1)
    lrs = []
    for _ in range(10):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    assert lrs == pytest.approx([2e-4 * lr_factor(k, 10) for k in range(10)])
    opt2 = torch.optim.Adam([p], lr=2e-4)
    sched2 = make_scheduler(opt2, 99, 0.1, 0.5, 2.0)
    sched2.load_state_dict(sched.state_dict())
    assert sched2.lr_lambdas[0] == sched.lr_lambdas[0]
    assert sched2.last_epoch == 10
