from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from fluidgan.gan.layers import (
    ConditionalBatchNorm,
    MinibatchDiscrimination,
    SelfAttention,
    VirtualBatchNorm,
    WithReferenceBatch,
    conv,
    conv_transpose,
    linear,
)


def _top_sv(w: torch.Tensor) -> float:
    return float(torch.linalg.matrix_norm(w.detach().flatten(1), ord=2))


@pytest.mark.parametrize("make", [lambda: linear(20, 10, sn=True), lambda: conv(4, 6, 3, sn=True)])
def test_spectral_norm_brings_the_top_singular_value_to_one(make):
    layer = make()
    with torch.no_grad():
        layer.parametrizations.weight.original.mul_(7.0)
    x = torch.randn(2, 20) if isinstance(layer, torch.nn.Linear) else torch.randn(2, 4, 5, 5)
    for _ in range(30):  # one power iteration per training forward
        layer(x)
    assert _top_sv(layer.weight) == pytest.approx(1.0, abs=1e-3)
    assert _top_sv(layer.parametrizations.weight.original) > 5


def test_conv_shapes_are_same_or_halved_or_doubled():
    x = torch.randn(2, 3, 12, 8)
    assert conv(3, 5, 3)(x).shape == (2, 5, 12, 8)
    assert conv(3, 5, 4, 2)(x).shape == (2, 5, 6, 4)
    assert conv_transpose(3, 5)(x).shape == (2, 5, 24, 16)
    assert conv(3, 5, 3, dim=3)(torch.randn(1, 3, 4, 6, 8)).shape == (1, 5, 4, 6, 8)


def test_self_attention_starts_as_identity_and_is_permutation_equivariant():
    att = SelfAttention(16)
    x = torch.randn(2, 16, 4, 5)
    assert torch.equal(att(x), x)
    with torch.no_grad():
        att.gamma.fill_(1.0)
    y = att(x)
    assert not torch.allclose(y, x)
    perm = torch.randperm(20)  # 1x1 convs + attention: permuting pixels permutes the output
    xp = x.flatten(2)[:, :, perm].view_as(x)
    assert torch.allclose(att(xp).flatten(2), y.flatten(2)[:, :, perm], atol=1e-5)
    assert SelfAttention(8, dim=3)(torch.randn(1, 8, 2, 3, 4)).shape == (1, 8, 2, 3, 4)


def test_conditional_batch_norm():
    cbn = ConditionalBatchNorm(3, 4)
    x, c = torch.randn(8, 3, 5, 5) * 3 + 1, torch.randn(8, 4)
    plain = F.batch_norm(x, None, None, training=True, eps=cbn.bn.eps)
    assert torch.allclose(cbn(x, c), plain, atol=1e-6)  # γ, β start at 0
    with torch.no_grad():
        cbn.gain.weight.normal_()
        cbn.bias.weight.normal_()
    want = (1 + c @ cbn.gain.weight.t())[:, :, None, None] * plain + (c @ cbn.bias.weight.t())[
        :, :, None, None
    ]
    assert torch.allclose(cbn(x, c), want, atol=1e-5)


def test_minibatch_discrimination():
    mbd = MinibatchDiscrimination(6, kernels=4, kernel_dim=3)
    same = torch.ones(5, 6)
    out = mbd(same)
    assert out.shape == (5, 10)
    assert torch.allclose(out[:, 6:], torch.full((5, 4), 4.0))  # Σ_{j≠i} exp(0) = n - 1
    far = torch.eye(5, 6) * 1e4
    with torch.no_grad():
        mbd.T.copy_(torch.arange(1.0, 7.0)[:, None].expand(6, 12))  # distinct rows
    assert torch.allclose(mbd(far)[:, 6:], torch.zeros(5, 4))


def test_virtual_batch_norm_output_does_not_depend_on_the_rest_of_the_batch():
    vbn = VirtualBatchNorm(3, n_ref=6)
    ref = torch.randn(6, 3, 4, 4) * 2 + 5
    x1, x2, x3 = (torch.randn(1, 3, 4, 4) for _ in range(3))
    a = vbn(torch.cat([ref, x1, x2]))
    b = vbn(torch.cat([ref, x1, x3 * 100]))
    assert torch.allclose(a[6], b[6], atol=1e-6)
    r = a[:6].transpose(0, 1).flatten(1)  # reference rows: normalised by their own stats
    assert torch.allclose(r.mean(1), torch.zeros(3), atol=1e-5)
    assert torch.allclose(r.var(1, unbiased=False), torch.ones(3), atol=1e-3)
    flat = VirtualBatchNorm(4, n_ref=3)(torch.randn(5, 4))
    assert flat.shape == (5, 4)


def test_reference_batch_wrapper_drops_the_reference_rows():
    class Net(torch.nn.Module):
        def forward(self, z, y=None):
            return z * 2

    g = WithReferenceBatch(Net(), z_dim=3, n_ref=4)
    z = torch.randn(2, 3)
    assert torch.equal(g(z), 2 * z)
