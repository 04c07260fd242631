"""The fast tempoGAN generator: the residual trunk at the low resolution, learned
upsampling last, for 2D and 3D from one code path.

The paper's generator upsamples first and runs all four residual blocks (5^d kernels, up to
128 channels) at the high resolution, so every convolution pays f^d times more than it
would at the input resolution: ~1.6 MFLOP per output cell in 2D and ~7 MFLOP in 3D. This
one keeps the method (same inputs, same discriminators, losses and training loop) and
moves the work to where it is cheap:

    x (B, C, *s) ─ head conv ─ trunk: ``blocks`` × [h + conv(relu(conv(h)))] ─ + skip
      └─ per prime factor p of f: upsample ×p (sub-pixel by default), channels halved
      └─ ``refine`` convolutions at the high resolution -> 1 channel
      └─ + interpolated input density (``input_residual``) -> ReLU (density >= 0)

Upsamplers (:data:`UPSAMPLERS`, by name):

* ``subpixel`` (default): a k^d convolution at the current resolution to c·p^d channels,
  then a d-dimensional pixel shuffle (ESPCN generalised to 3D). Initialised ICNR-style
  (every sub-cell starts with the same kernel), so it starts as nearest upsampling
  followed by a convolution: no checkerboard at the start of training.
* ``transposed``: a strided transposed convolution (kernel 2p − p mod 2).
* ``resize``: nearest upsampling, then a k^d convolution at the higher resolution
  (p^d times the cost of ``subpixel`` for the same receptive field).

(B, C, *s) -> (B, 1, *(f·s)).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from fluidgan.models.tempogan import CONV, ConvUnit, add_input_residual, check_input_residual
from fluidgan.registry import Registry

CONV_TRANSPOSE = {2: nn.ConvTranspose2d, 3: nn.ConvTranspose3d}
MIN_UPSAMPLE_WIDTH = 8  # channels of the last upsampling stage are never fewer


def prime_factors(n: int) -> list[int]:
    """12 -> [2, 2, 3]: one upsampling stage per prime factor of the upsampling factor."""
    if n < 1:
        raise ValueError(f"upsampling factor must be >= 1, got {n}")
    out, p = [], 2
    while n > 1:
        while n % p == 0:
            out.append(p)
            n //= p
        p += 1
    return out


def pixel_shuffle(x: torch.Tensor, p: int) -> torch.Tensor:
    """Sub-pixel rearrangement in d dimensions: (B, c·p^d, *n) -> (B, c, *(p·n)).

    Channel ``ch·p^d + Σ_j r_j p^(d-1-j)`` becomes sub-cell (r_0, …, r_{d-1}) of output
    channel ``ch`` — for d = 2 exactly ``torch.nn.functional.pixel_shuffle``.
    """
    b, c, *n = x.shape
    d = len(n)
    c_out = c // p**d
    x = x.reshape(b, c_out, *([p] * d), *n)
    # (B, c, r_0..r_{d-1}, n_0..n_{d-1}) -> (B, c, n_0, r_0, n_1, r_1, ...)
    order = [0, 1] + [i for j in range(d) for i in (2 + d + j, 2 + j)]
    return x.permute(order).reshape(b, c_out, *(p * m for m in n))


class SubPixelUp(nn.Module):
    """conv k^d (c_in -> c_out·p^d) at the input resolution, pixel shuffle, ReLU."""

    def __init__(self, dim: int, c_in: int, c_out: int, p: int, kernel: int, bias: bool = True):
        super().__init__()
        self.p = p
        self.conv = ConvUnit(dim, c_in, c_out * p**dim, kernel, bias=bias)
        self.out_channels = c_out

    def margin(self, m: int) -> int:
        """Cells of context at the input resolution for ``m`` at the output resolution
        (a window aligned to input cells): the shuffle, then the convolution's radius."""
        return -(-m // self.p) + self.conv.kernel // 2

    def reset_parameters(self) -> None:
        # ICNR: one kernel per output channel, copied to its p^d sub-cells.
        conv = self.conv.conv
        c_out = conv.out_channels // self.p ** (conv.weight.dim() - 2)
        base = torch.empty(c_out, *conv.weight.shape[1:])
        nn.init.kaiming_normal_(base, nonlinearity="relu")
        conv.weight.data.copy_(base.repeat_interleave(self.p ** (conv.weight.dim() - 2), 0))
        if conv.bias is not None:
            nn.init.zeros_(conv.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(pixel_shuffle(self.conv(x), self.p))


class TransposedUp(nn.Module):
    """Transposed convolution, stride p, kernel 2p − p mod 2 (overlapping), ReLU."""

    def __init__(self, dim: int, c_in: int, c_out: int, p: int, kernel: int, bias: bool = True):
        super().__init__()
        size = 2 * p - p % 2
        pad = (size - p) // 2
        self.p, self.pad, self.size = p, pad, size
        self.conv = CONV_TRANSPOSE[dim](c_in, c_out, size, stride=p, padding=pad, bias=bias)
        self.out_channels = c_out

    def margin(self, m: int) -> int:
        # output cell o reads input cells i with 0 <= o + pad − i·p < size; for a window
        # aligned to input cells the left and right ends then need:
        left = (m + self.size - 1 - self.pad) // self.p
        right = (m - 1 + self.pad) // self.p + 1
        return max(left, right)

    def reset_parameters(self) -> None:
        nn.init.kaiming_normal_(self.conv.weight, nonlinearity="relu")
        if self.conv.bias is not None:
            nn.init.zeros_(self.conv.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.conv(x))


class ResizeUp(nn.Module):
    """Nearest upsampling ×p, then conv k^d at the higher resolution, ReLU."""

    def __init__(self, dim: int, c_in: int, c_out: int, p: int, kernel: int, bias: bool = True):
        super().__init__()
        self.p = p
        self.conv = ConvUnit(dim, c_in, c_out, kernel, bias=bias)
        self.out_channels = c_out

    def margin(self, m: int) -> int:
        return -(-(m + self.conv.kernel // 2) // self.p)

    def reset_parameters(self) -> None:
        nn.init.kaiming_normal_(self.conv.conv.weight, nonlinearity="relu")
        if self.conv.conv.bias is not None:
            nn.init.zeros_(self.conv.conv.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.conv(F.interpolate(x, scale_factor=self.p, mode="nearest")))


UPSAMPLERS: Registry[type[nn.Module]] = Registry("upsampler")
UPSAMPLERS.register("subpixel")(SubPixelUp)
UPSAMPLERS.register("transposed")(TransposedUp)
UPSAMPLERS.register("resize")(ResizeUp)


class TrunkBlock(nn.Module):
    """h + conv(relu(conv(h))) at a fixed resolution (EDSR's block: no BatchNorm by
    default, no activation after the sum). (B, c, *n) -> (B, c, *n)."""

    def __init__(self, dim: int, width: int, kernel: int, norm: bool, bias: bool = True, **bn):
        super().__init__()
        unit = {"norm": norm, "bias": bias, **bn}
        self.conv_a = ConvUnit(dim, width, width, kernel, act=nn.ReLU(), **unit)
        self.conv_b = ConvUnit(dim, width, width, kernel, **unit)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return h + self.conv_b(self.conv_a(h))


class FastGenerator(nn.Module):
    """The residual trunk at the low resolution, learned upsampling last (module docstring).

    width: trunk channels; blocks: residual blocks in the trunk; kernel: every kernel's
    edge; upsample: a name in :data:`UPSAMPLERS`; refine: convolutions at the high
    resolution (>= 1; the last one outputs the density); input_residual: "none",
    "nearest" or "linear" (see :class:`fluidgan.models.tempogan.Generator`); bias: whether
    the convolutions have biases. Without them (and without BatchNorm) the network is
    positively homogeneous: G(0) = 0 exactly, so empty space stays empty. With biases a
    constant low-res feature in empty space becomes, after each pixel shuffle, a pattern
    of period p that the final ReLU does not always remove — a lattice of spurious smoke
    where the training tiles (chosen where there is smoke) never showed the network
    empty space.
    """

    def __init__(
        self,
        dim: int,
        in_channels: int,
        factor: int = 4,
        width: int = 32,
        blocks: int = 4,
        kernel: int = 3,
        upsample: str = "subpixel",
        refine: int = 1,
        batch_norm: bool = False,
        input_residual: str = "linear",
        bn_momentum: float = 0.001,
        bn_eps: float = 1e-3,
        bias: bool = True,
    ):
        super().__init__()
        check_input_residual(input_residual)
        if refine < 1 or blocks < 0 or width < 1:
            raise ValueError(f"width {width}, blocks {blocks}, refine {refine}: need >= 1, 0, 1")
        self.dim, self.in_channels, self.factor = dim, in_channels, factor
        self.kernel, self.input_residual = kernel, input_residual
        bn = {"bn_momentum": bn_momentum, "bn_eps": bn_eps}
        self.head = ConvUnit(dim, in_channels, width, kernel, act=nn.ReLU(), bias=bias)
        self.trunk = nn.Sequential(
            *(TrunkBlock(dim, width, kernel, batch_norm, bias, **bn) for _ in range(blocks))
        )
        stages, c = [], width
        for p in prime_factors(factor):
            c_out = max(c // 2, MIN_UPSAMPLE_WIDTH)
            stages.append(UPSAMPLERS.get(upsample)(dim, c, c_out, p, kernel, bias))
            c = c_out
        self.upsample = nn.Sequential(*stages)
        refiners = [
            ConvUnit(dim, c, c, kernel, act=nn.ReLU(), bias=bias) for _ in range(refine - 1)
        ]
        self.refine = nn.Sequential(*refiners, ConvUnit(dim, c, 1, kernel, bias=bias))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """He-normal convolutions (ReLU gain), residual branches scaled by 0.1 so the trunk
        starts near the identity, zero biases, ICNR sub-pixel kernels."""
        for m in self.modules():
            if isinstance(m, tuple(CONV.values())):
                nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
        for block in self.trunk:
            block.conv_b.conv.weight.data.mul_(0.1)
        for stage in self.upsample:
            stage.reset_parameters()

    def initialise(self, std: float, bias: float) -> FastGenerator:
        """Training's initialisation hook: this network keeps its own (``reset_parameters``);
        the paper's N(0, std²) / bias scheme is for its deeper, BatchNorm'd generator."""
        self.reset_parameters()
        return self

    def zero_output(self) -> FastGenerator:
        """Zero the last convolution: with an ``input_residual`` G starts as that
        interpolation exactly."""
        last = self.refine[-1].conv
        nn.init.zeros_(last.weight)
        if last.bias is not None:
            nn.init.zeros_(last.bias)
        return self

    def receptive_halo(self) -> int:
        """Low-res cells of context an output cell needs on each side (the tile overlap
        that makes tiled output equal whole-frame output): followed back from the output
        through the refinement convolutions, each upsampling stage (in cells of its own
        resolution, rounded up at each shuffle) and the trunk."""
        r = self.kernel // 2
        m = len(self.refine) * r
        for stage in reversed(self.upsample):
            m = stage.margin(m)
        m += (1 + 2 * len(self.trunk)) * r  # head + two convolutions per block
        # an interpolated input residual (bi/trilinear) reads one low-res neighbour per side
        return max(m, 1) if self.input_residual == "linear" else m

    def bytes_per_voxel(self) -> int:
        """Peak bytes per high-res cell of a forward pass without gradients (an estimate):
        three activations of the widest stage, counted per output cell."""
        scale, widest = 1, self.head.conv.out_channels / self.factor**self.dim
        for stage in self.upsample:
            scale *= stage.p
            widest = max(widest, stage.out_channels * (scale / self.factor) ** self.dim)
        return math.ceil(4 * (3 * widest + self.in_channels + 2))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.refine(self.upsample(self.trunk(self.head(x))))
        return F.relu(add_input_residual(out, x, self.input_residual, self.factor))
