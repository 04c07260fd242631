"""Cost of a generator: floating-point operations per output cell, counted by running it.

Convolutions (plain and transposed) and linear layers are counted, 2 FLOPs per
multiply-add plus one per bias add; activations, BatchNorm, interpolation, pixel shuffles
and residual sums (a few FLOPs per value, memory-bound) are not. The count is exact for the
counted layers and independent of the weights.
"""

from __future__ import annotations

import math

import torch
from torch import nn

CONVS = (nn.Conv1d, nn.Conv2d, nn.Conv3d)
TRANSPOSED = (nn.ConvTranspose1d, nn.ConvTranspose2d, nn.ConvTranspose3d)


def layer_flops(module: nn.Module, inputs: torch.Tensor, output: torch.Tensor) -> int:
    """FLOPs of one call of a conv / transposed conv / linear layer on a batch."""
    bias = output.numel() if getattr(module, "bias", None) is not None else 0
    if isinstance(module, CONVS):
        per_output = module.in_channels // module.groups * math.prod(module.kernel_size)
        return 2 * output.numel() * per_output + bias
    if isinstance(module, TRANSPOSED):
        # every input value is scattered into out_channels/groups × kernel outputs
        per_input = module.out_channels // module.groups * math.prod(module.kernel_size)
        return 2 * inputs.numel() * per_input + bias
    if isinstance(module, nn.Linear):
        return 2 * output.numel() * module.in_features + bias
    return 0


@torch.no_grad()
def generator_flops(generator: nn.Module, low_shape: tuple[int, ...]) -> float:
    """FLOPs per high-res output cell of ``generator`` on one low-res frame of ``low_shape``
    ((z,) y, x): the counted layers' total divided by the output's cell count.

    Convolutions cost the same per cell wherever they sit, so the figure does not depend
    on ``low_shape`` beyond rounding at the borders of transposed convolutions.
    """
    total = 0
    counted = (*CONVS, *TRANSPOSED, nn.Linear)

    def count(module: nn.Module, args: tuple, output: torch.Tensor) -> None:
        nonlocal total
        total += layer_flops(module, args[0], output)

    hooks = [m.register_forward_hook(count) for m in generator.modules() if isinstance(m, counted)]
    try:
        was_training = generator.training
        generator.eval()
        x = torch.zeros(1, generator.in_channels, *low_shape)
        out = generator(x)
        generator.train(was_training)
    finally:
        for h in hooks:
            h.remove()
    return total / math.prod(out.shape[2:])
