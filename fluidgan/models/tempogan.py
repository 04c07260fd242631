"""tempoGAN networks: the residual generator G, the spatial discriminator D_s and the
temporal discriminator D_t (Xie et al. 2018; docs/METHOD.md), for 2D and 3D from one code path.

Conventions of the reference implementation, kept here:

* "same" padding as TensorFlow has it (the extra cell of an even kernel goes after);
* every convolution is conv + bias -> BatchNorm (optional) -> activation;
* weights ~ N(0, 0.04²), biases 0.1; BatchNorm momentum 0.001 (TF decay 0.999), ε 1e-3;
* LeakyReLU slope 0.2 in the discriminators, ReLU in the generator.

Shapes use ``B`` for the batch, ``C`` for the generator's input channels, ``s`` for the
low-res spatial shape (``d`` axes, (z,) y, x) and ``S = factor * s`` for the high-res one.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from fluidgan.registry import Registry

CONV = {2: nn.Conv2d, 3: nn.Conv3d}
BATCH_NORM = {2: nn.BatchNorm2d, 3: nn.BatchNorm3d}

INIT_STD = 0.04
INIT_BIAS = 0.1
BN_MOMENTUM = 0.001
BN_EPS = 1e-3
LEAK = 0.2
DISCRIMINATOR_WIDTHS = (32, 64, 128, 256)
DISCRIMINATOR_STRIDES = (2, 2, 2, 1)


def paper_widths(in_channels: int) -> tuple[tuple[int, int], ...]:
    """Generator residual-block widths of the paper: (2C, 8C), (128, 128), (32, 8), (2, 1)."""
    return ((2 * in_channels, 8 * in_channels), (128, 128), (32, 8), (2, 1))


def same_padding(size: int, kernel: int, stride: int) -> tuple[int, int]:
    """TensorFlow 'SAME' padding (before, after) of one axis; output size ceil(size/stride)."""
    out = -(-size // stride)
    total = max((out - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


class ConvUnit(nn.Module):
    """conv (TF-same padding) + bias -> BatchNorm (optional) -> activation (optional).

    (B, c_in, *n) -> (B, c_out, *ceil(n / stride)).
    """

    def __init__(
        self,
        dim: int,
        c_in: int,
        c_out: int,
        kernel: int,
        stride: int = 1,
        norm: bool = False,
        act: nn.Module | None = None,
        bn_momentum: float = BN_MOMENTUM,
        bn_eps: float = BN_EPS,
        bias: bool = True,
    ):
        super().__init__()
        self.dim, self.kernel, self.stride = dim, kernel, stride
        # Odd kernels at stride 1 pad symmetrically: let the convolution do it (no copy).
        self.native = stride == 1 and kernel % 2 == 1
        padding = kernel // 2 if self.native else 0
        self.conv = CONV[dim](c_in, c_out, kernel, stride=stride, padding=padding, bias=bias)
        self.norm = BATCH_NORM[dim](c_out, eps=bn_eps, momentum=bn_momentum) if norm else None
        self.act = act

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.native:
            pads = [same_padding(n, self.kernel, self.stride) for n in x.shape[2:]]
            # F.pad lists the last axis first.
            x = F.pad(x, [p for pair in reversed(pads) for p in pair])
        x = self.conv(x)
        if self.norm is not None:
            x = self.norm(x)
        if self.act is not None:
            x = self.act(x)
        return x


class ResBlock(nn.Module):
    """relu(conv_b(relu(conv_a(x))) + shortcut(x)); 5^d convs, a 1^d shortcut.

    (B, c_in, *n) -> (B, c2, *n).
    """

    def __init__(self, dim: int, c_in: int, c1: int, c2: int, kernel: int, norm: bool, **bn):
        super().__init__()
        self.conv_a = ConvUnit(dim, c_in, c1, kernel, norm=norm, act=nn.ReLU(), **bn)
        self.conv_b = ConvUnit(dim, c1, c2, kernel, norm=norm, **bn)
        self.shortcut = ConvUnit(dim, c_in, c2, 1, norm=norm, **bn)

    def preactivation(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv_b(self.conv_a(x)) + self.shortcut(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.preactivation(x))


#: The interpolation of the low-res density that ``input_residual`` adds to G's output, by
#: spatial dimension (``None``: nothing added).
INPUT_RESIDUAL: Registry[dict[int, str | None]] = Registry("input_residual", ordered=True)
INPUT_RESIDUAL.register("none")({2: None, 3: None})
INPUT_RESIDUAL.register("nearest")({2: "nearest", 3: "nearest"})
INPUT_RESIDUAL.register("linear")({2: "bilinear", 3: "trilinear"})


def check_input_residual(name: str) -> str:
    if name not in INPUT_RESIDUAL:
        raise ValueError(f"input_residual {name!r}; valid: {', '.join(INPUT_RESIDUAL)}")
    return name


def add_input_residual(out: torch.Tensor, x: torch.Tensor, name: str, factor: int) -> torch.Tensor:
    """``out`` (B, 1, *(factor·s)) plus the low-res density, channel 0 of ``x`` (B, C, *s),
    upsampled by ``factor`` with the ``name`` interpolation of :data:`INPUT_RESIDUAL`."""
    mode = INPUT_RESIDUAL[name][x.ndim - 2]
    if mode is None:
        return out
    return out + F.interpolate(x[:, :1], scale_factor=factor, mode=mode)


class Generator(nn.Module):
    """G: nearest-neighbour upsampling by ``factor`` (the paper's ×2 twice), then four
    residual blocks; no BatchNorm in the last block, whose ReLU is the output activation
    (density >= 0).

    ``input_residual`` (not the paper's; default "none"): add the nearest or (bi/tri)linear
    upsampled low-res density (channel 0) before that last ReLU, so that G learns only the
    detail the interpolation lacks — a short training run then starts from interpolation
    quality instead of from nothing.

    (B, C, *s) low-res input channels -> (B, 1, *(factor·s)) high-res density.
    """

    def __init__(
        self,
        dim: int,
        in_channels: int,
        factor: int = 4,
        widths: Sequence[Sequence[int]] | None = None,
        kernel: int = 5,
        batch_norm: bool = True,
        bn_momentum: float = BN_MOMENTUM,
        bn_eps: float = BN_EPS,
        input_residual: str = "none",
    ):
        super().__init__()
        self.input_residual = check_input_residual(input_residual)
        widths = tuple(tuple(w) for w in (widths or paper_widths(in_channels)))
        if widths[-1][-1] != 1:
            raise ValueError(f"the last block must output one channel (density), got {widths}")
        self.dim, self.in_channels, self.factor = dim, in_channels, factor
        bn = {"bn_momentum": bn_momentum, "bn_eps": bn_eps}
        blocks, c_in = [], in_channels
        for i, (c1, c2) in enumerate(widths):
            norm = batch_norm and i < len(widths) - 1
            blocks.append(ResBlock(dim, c_in, c1, c2, kernel, norm, **bn))
            c_in = c2
        self.blocks = nn.Sequential(*blocks)

    def initialise(self, std: float = INIT_STD, bias: float = INIT_BIAS) -> Generator:
        """The reference initialisation (:func:`init_weights`)."""
        return init_weights(self, std, bias)

    def receptive_halo(self) -> int:
        """Low-res cells of context a high-res cell needs on each side (its receptive
        radius): two k^d convolutions per block at the high resolution (the 1^d shortcuts
        add nothing), ``2 · blocks · (k // 2)`` high-res cells — 4 low-res cells for the
        paper's 5^d, 4 blocks, ×4."""
        radius = sum(
            m.kernel_size[0] // 2 for m in self.modules() if isinstance(m, (nn.Conv2d, nn.Conv3d))
        )
        halo = math.ceil(radius / self.factor)
        # an interpolated input residual (bi/trilinear) reads one low-res neighbour per side
        return max(halo, 1) if self.input_residual == "linear" else halo

    def bytes_per_voxel(self) -> int:
        """Peak bytes per high-res voxel of one forward pass without gradients (an
        estimate): inside a residual block the block input, two activations of the widest
        layer, the shortcut and the sum are alive at once, ~4 · max width + C floats."""
        widths = [m.out_channels for m in self.modules() if isinstance(m, (nn.Conv2d, nn.Conv3d))]
        return 4 * (4 * max(widths) + self.in_channels)

    def zero_output(self) -> Generator:
        """Zero the last block's output convolutions (conv_b and the shortcut): with an
        ``input_residual`` G then starts as that interpolation exactly."""
        last = self.blocks[-1]
        for unit in (last.conv_b, last.shortcut):
            nn.init.zeros_(unit.conv.weight)
            nn.init.zeros_(unit.conv.bias)
        return self

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # Nearest ×2 twice equals nearest ×4 once, cell for cell.
        h = self.blocks[:-1](F.interpolate(x, scale_factor=self.factor, mode="nearest"))
        out = self.blocks[-1].preactivation(h)
        return F.relu(add_input_residual(out, x, self.input_residual, self.factor))


class Discriminator(nn.Module):
    """The tempoGAN discriminator stack: conv 4^d stride 2 -> 32 (no BN), stride 2 -> 64,
    stride 2 -> 128, stride 1 -> 256 (BN), LeakyReLU 0.2 each; flatten; linear -> a logit.

    (B, c_in, *S) -> (logits (B,), [F_1 .. F_4] post-activation feature maps).
    """

    def __init__(
        self,
        dim: int,
        in_channels: int,
        tile: int | Sequence[int],
        widths: Sequence[int] = DISCRIMINATOR_WIDTHS,
        strides: Sequence[int] = DISCRIMINATOR_STRIDES,
        kernel: int = 4,
        batch_norm: bool = True,
        bn_momentum: float = BN_MOMENTUM,
        bn_eps: float = BN_EPS,
    ):
        super().__init__()
        shape = [tile] * dim if isinstance(tile, int) else list(tile)
        bn = {"bn_momentum": bn_momentum, "bn_eps": bn_eps}
        layers, c_in = [], in_channels
        for i, (width, stride) in enumerate(zip(widths, strides, strict=True)):
            norm = batch_norm and i > 0
            act = nn.LeakyReLU(LEAK)
            layers.append(ConvUnit(dim, c_in, width, kernel, stride, norm, act, **bn))
            shape = [-(-n // stride) for n in shape]
            c_in = width
        self.dim = dim
        self.layers = nn.ModuleList(layers)
        self.linear = nn.Linear(c_in * math.prod(shape), 1)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        features = []
        for layer in self.layers:
            x = layer(x)
            features.append(x)
        return self.linear(x.flatten(1)).squeeze(1), features


class SpatialDiscriminator(Discriminator):
    """D_s(x, y): the low-res density, nearest-upsampled to the high-res tile, concatenated
    with a high-res density.

    low (B, 1, *s), high (B, 1, *S) -> (logits (B,), features).
    """

    def __init__(self, dim: int, tile: int | Sequence[int], factor: int = 4, **kwargs):
        super().__init__(dim, 2, tile, **kwargs)
        self.factor = factor

    def forward(self, low: torch.Tensor, high: torch.Tensor):  # type: ignore[override]
        condition = F.interpolate(low, scale_factor=self.factor, mode="nearest")
        return super().forward(torch.cat([condition, high], dim=1))


def middle_and_changes(frames: torch.Tensor) -> torch.Tensor:
    """(B, 3, *S) frames t-1, t, t+1 -> (B, 3, *S) frame t and the changes to its two
    neighbours: the same information, with the frame-to-frame change in channels of its own."""
    middle = frames[:, 1:2]
    return torch.cat([middle, frames[:, 0:1] - middle, frames[:, 2:3] - middle], 1)


#: What D_t's first convolution sees of an aligned triplet (``model.temporal_input``).
#: "frames" is the paper's. On "frames", D_t must learn to subtract two channels that hold
#: nearly the same density before it sees any change; trained alone it does not learn to
#: tell flickering detail from the truth in 900 updates, on "differences" it does
#: (docs/ABLATION.md, "Why D_t stays at chance").
TEMPORAL_INPUTS: Registry = Registry("temporal_input", ordered=True)
TEMPORAL_INPUTS.register("frames")(lambda frames: frames)
TEMPORAL_INPUTS.register("differences")(middle_and_changes)


class TemporalDiscriminator(Discriminator):
    """D_t: three aligned high-res frames (t-1, t, t+1) as channels, no low-res condition;
    ``input`` (a name of :data:`TEMPORAL_INPUTS`) re-expresses them first.

    frames (B, 3, *S) -> (logits (B,), features).
    """

    def __init__(
        self, dim: int, tile: int | Sequence[int], frames: int = 3, input: str = "frames", **kwargs
    ):
        super().__init__(dim, frames, tile, **kwargs)
        self.input = input
        self.transform = TEMPORAL_INPUTS.get(input)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        return super().forward(self.transform(x))


def init_weights(module: nn.Module, std: float = INIT_STD, bias: float = INIT_BIAS) -> nn.Module:
    """The reference initialisation: conv/linear weights ~ N(0, std²), biases = ``bias``;
    BatchNorm scale 1, shift 0."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.Conv3d, nn.Linear)):
            nn.init.normal_(m.weight, 0.0, std)
            nn.init.constant_(m.bias, bias)
        elif isinstance(m, (nn.BatchNorm2d, nn.BatchNorm3d)):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
    return module


def conv_parameter_count(module: nn.Module) -> int:
    """Weights and biases of the convolutions and linear layers (BatchNorm excluded): the
    count the reference prints as 'DOFs'."""
    return sum(
        p.numel()
        for m in module.modules()
        if isinstance(m, (nn.Conv2d, nn.Conv3d, nn.Linear))
        for p in m.parameters(recurse=False)
    )


def parameter_count(module: nn.Module) -> int:
    """All trainable parameters, BatchNorm scales and shifts included."""
    return sum(p.numel() for p in module.parameters() if p.requires_grad)
