from __future__ import annotations

import torch
from torch import nn

from fluidgan.gan.ema import ema_decay, make_ema, update_ema_


def test_ema_update_by_hand():
    model = nn.Sequential(nn.Linear(2, 2), nn.BatchNorm1d(2))
    ema = make_ema(model)
    assert not any(p.requires_grad for p in ema.parameters())
    old = [p.detach().clone() for p in ema.parameters()]
    with torch.no_grad():
        for p in model.parameters():
            p.add_(1.0)
        model[1].running_mean.fill_(3.0)
    update_ema_(ema, model, 0.9)
    for p_old, p_ema, p in zip(old, ema.parameters(), model.parameters(), strict=True):
        assert torch.allclose(p_ema, 0.9 * p_old + 0.1 * p)
    assert torch.equal(ema[1].running_mean, torch.full((2,), 3.0))  # buffers are copied
    update_ema_(ema, model, ema_decay(0, 0.9, start=5))  # before start: a plain copy
    for p_ema, p in zip(ema.parameters(), model.parameters(), strict=True):
        assert torch.equal(p_ema, p)
    assert ema_decay(5, 0.9, start=5) == 0.9
