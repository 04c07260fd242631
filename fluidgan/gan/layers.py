"""Building blocks shared by every GAN here (and by tempoGAN): spectrally normalised
conv/linear layers, self-attention, conditional batch norm, minibatch discrimination and
virtual batch norm. Layers that touch spatial axes take ``dim`` (2 or 3) and work on
(B, C, *spatial).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.utils.parametrizations import spectral_norm

_CONV = {1: nn.Conv1d, 2: nn.Conv2d, 3: nn.Conv3d}
_CONV_T = {1: nn.ConvTranspose1d, 2: nn.ConvTranspose2d, 3: nn.ConvTranspose3d}


def maybe_sn(module: nn.Module, sn: bool) -> nn.Module:
    """Spectral normalisation W / σ(W) (Miyato et al. 2018), σ by one power iteration
    per training forward; σ is that of W reshaped to (out, in·k^d)."""
    return spectral_norm(module) if sn else module


def conv(
    c_in: int,
    c_out: int,
    k: int = 3,
    stride: int = 1,
    *,
    sn: bool = False,
    dim: int = 2,
    bias: bool = True,
) -> nn.Module:
    """'Same'-padded convolution (for odd k; k=4 stride 2 halves the size exactly)."""
    padding = (k - 1) // 2 if k % 2 else (k - stride) // 2
    return maybe_sn(_CONV[dim](c_in, c_out, k, stride, padding, bias=bias), sn)


def conv_transpose(c_in: int, c_out: int, *, sn: bool = False, dim: int = 2) -> nn.Module:
    """Transposed convolution 4^d, stride 2: doubles every spatial size exactly."""
    return maybe_sn(_CONV_T[dim](c_in, c_out, 4, 2, 1), sn)


def linear(n_in: int, n_out: int, *, sn: bool = False, bias: bool = True) -> nn.Module:
    return maybe_sn(nn.Linear(n_in, n_out, bias=bias), sn)


def batch_norm(c: int, dim: int = 2) -> nn.Module:
    return {1: nn.BatchNorm1d, 2: nn.BatchNorm2d, 3: nn.BatchNorm3d}[dim](c)


class SelfAttention(nn.Module):
    """SAGAN self-attention (Zhang et al. 2019) on (B, C, *spatial).

    β = softmax(f(x)ᵀ g(x)) over positions, o = v(h(x) β), y = x + γ o, γ starts at 0 so
    the block begins as the identity. f, g: C -> C/8, h: C -> C/2, v: C/2 -> C (1^d convs).
    """

    def __init__(self, channels: int, *, sn: bool = False, dim: int = 2):
        super().__init__()
        ck, cv = max(channels // 8, 1), max(channels // 2, 1)
        self.f = conv(channels, ck, 1, sn=sn, dim=dim, bias=False)
        self.g = conv(channels, ck, 1, sn=sn, dim=dim, bias=False)
        self.h = conv(channels, cv, 1, sn=sn, dim=dim, bias=False)
        self.v = conv(cv, channels, 1, sn=sn, dim=dim, bias=False)
        self.gamma = nn.Parameter(torch.zeros(()))

    def forward(self, x: Tensor) -> Tensor:
        b, _, *spatial = x.shape
        query = self.f(x).flatten(2)  # (B, C/8, N)
        key = self.g(x).flatten(2)
        value = self.h(x).flatten(2)  # (B, C/2, N)
        beta = torch.softmax(query.transpose(1, 2) @ key, dim=-1)  # (B, N_out, N_in)
        out = (value @ beta.transpose(1, 2)).view(b, -1, *spatial)
        return x + self.gamma * self.v(out)


class ConditionalBatchNorm(nn.Module):
    """Batch norm whose gain and bias are linear functions of a condition vector.

    y = (1 + γ(c)) ⊙ BN(x) + β(c), c: (B, cond_dim) (a class embedding, BigGAN's shared
    embedding joined with a chunk of z, or a one-hot label). x: (B, C, *spatial).
    γ and β start at 0, so the layer starts as plain batch norm.
    """

    def __init__(self, channels: int, cond_dim: int):
        super().__init__()
        self.bn = nn.BatchNorm1d(channels, affine=False)  # statistics only; any rank
        # No spectral norm here: σ of a zero-initialised matrix is 0 (W/σ undefined).
        self.gain = nn.Linear(cond_dim, channels, bias=False)
        self.bias = nn.Linear(cond_dim, channels, bias=False)
        nn.init.zeros_(self.gain.weight)
        nn.init.zeros_(self.bias.weight)

    def forward(self, x: Tensor, c: Tensor) -> Tensor:
        shape = (x.shape[0], x.shape[1]) + (1,) * (x.dim() - 2)
        h = F.batch_norm(
            x,
            self.bn.running_mean,
            self.bn.running_var,
            None,
            None,
            self.training,
            self.bn.momentum,
            self.bn.eps,
        )
        return (1 + self.gain(c)).view(shape) * h + self.bias(c).view(shape)


class MinibatchDiscrimination(nn.Module):
    """Minibatch discrimination (Salimans et al. 2016) on features f: (B, A) -> (B, A + K).

    M_i = f_i T reshaped (K, C); c_k(i, j) = exp(-‖M_i,k - M_j,k‖₁);
    o_k(i) = Σ_{j≠i} c_k(i, j). The features of the rest of the batch let D see
    a collapsed batch (all o large).
    """

    def __init__(self, in_features: int, kernels: int = 16, kernel_dim: int = 8):
        super().__init__()
        self.kernels, self.kernel_dim = kernels, kernel_dim
        self.T = nn.Parameter(torch.randn(in_features, kernels * kernel_dim) * 0.1)

    def forward(self, f: Tensor) -> Tensor:
        m = (f @ self.T).view(-1, self.kernels, self.kernel_dim)  # (B, K, C)
        l1 = (m.unsqueeze(0) - m.unsqueeze(1)).abs().sum(-1)  # (B, B, K)
        o = torch.exp(-l1).sum(1) - 1.0  # drop j = i, whose c is exp(0) = 1
        return torch.cat([f, o], dim=1)


class VirtualBatchNorm(nn.Module):
    """Virtual batch norm (Salimans et al. 2016) on (B, C, *spatial) or (B, C).

    The first ``n_ref`` rows of every batch are a fixed reference batch (see
    :class:`WithReferenceBatch`). Example i is normalised with the statistics of the
    reference batch joined with itself, μ_i = (n μ_ref + m_i) / (n + 1) (same for the
    second moment), so its output does not depend on the other examples in its batch.
    Reference rows use the reference statistics alone.
    """

    def __init__(self, channels: int, n_ref: int, eps: float = 1e-5):
        super().__init__()
        self.n_ref, self.eps = n_ref, eps
        self.weight = nn.Parameter(torch.ones(channels))
        self.bias = nn.Parameter(torch.zeros(channels))

    def forward(self, x: Tensor) -> Tensor:
        n = self.n_ref
        axes = [0, *range(2, x.dim())]
        spatial = axes[1:]
        ref = x[:n]
        mean_ref = ref.mean(axes)  # (C,)
        sq_ref = (ref**2).mean(axes)
        own_mean = x[n:].mean(spatial) if spatial else x[n:]  # (B-n, C)
        own_sq = (x[n:] ** 2).mean(spatial) if spatial else x[n:] ** 2
        mean = torch.cat([mean_ref.expand(n, -1), (n * mean_ref + own_mean) / (n + 1)])
        sq = torch.cat([sq_ref.expand(n, -1), (n * sq_ref + own_sq) / (n + 1)])
        shape = (x.shape[0], x.shape[1]) + (1,) * (x.dim() - 2)
        var = (sq - mean**2).clamp_min(0)
        h = (x - mean.view(shape)) * torch.rsqrt(var.view(shape) + self.eps)
        return h * self.weight.view(1, -1, *shape[2:]) + self.bias.view(1, -1, *shape[2:])


class WithReferenceBatch(nn.Module):
    """Runs a generator on [z_ref; z] so its VirtualBatchNorm layers see the reference
    batch, then drops the reference rows. z_ref (and y_ref) are fixed at construction."""

    def __init__(self, net: nn.Module, z_dim: int, n_ref: int, num_classes: int = 0):
        super().__init__()
        self.net = net
        gen = torch.Generator().manual_seed(1234)
        self.register_buffer("z_ref", torch.randn(n_ref, z_dim, generator=gen))
        y_ref = torch.randint(0, max(num_classes, 1), (n_ref,), generator=gen)
        self.register_buffer("y_ref", y_ref)

    def forward(self, z: Tensor, y: Tensor | None = None) -> Tensor:
        n = self.z_ref.shape[0]
        zz = torch.cat([self.z_ref, z])
        yy = None if y is None else torch.cat([self.y_ref, y])
        return self.net(zz, yy)[n:]
