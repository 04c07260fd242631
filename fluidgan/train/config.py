"""The training config: dataclasses whose defaults are the paper's 2D settings.

Presets in ``configs/train/*.toml`` override what they change; ``--set a.b=c`` overrides
from the command line (see :mod:`fluidgan.config`). The spatial dimension and the
upsampling factor are not config keys: they come from the dataset.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from fluidgan.data import DataConfig
from fluidgan.errors import UserError


@dataclass
class FastGeneratorConfig:
    """The fast generator (``model.generator = "fast"``, :mod:`fluidgan.models.fast`):
    a residual trunk at the low resolution, learned upsampling last."""

    width: int = 32  # trunk channels (halved at each upsampling stage, >= 8)
    blocks: int = 4  # residual blocks in the trunk
    kernel: int = 3  # every kernel's edge
    upsample: str = "subpixel"  # subpixel | transposed | resize
    refine: int = 1  # convolutions at the high resolution (the last outputs the density)
    bias: bool = True  # false: G(0) = 0 exactly, empty space stays empty (the presets)

    def __post_init__(self):
        from fluidgan.models.fast import UPSAMPLERS

        UPSAMPLERS.get(self.upsample)  # UserError listing the valid names
        if self.width < 1 or self.blocks < 0 or self.refine < 1 or self.kernel < 1:
            raise ValueError(
                f"model.fast: width >= 1, blocks >= 0, refine >= 1, kernel >= 1; got {self}"
            )


@dataclass
class ModelConfig:
    """Network sizes (docs/METHOD.md). ``generator``: "tempogan" (the paper's) or "fast";
    ``generator_widths`` unset means the paper's (2C, 8C), (128, 128), (32, 8), (2, 1) for
    C input channels."""

    generator: str = "tempogan"
    fast: FastGeneratorConfig = field(default_factory=FastGeneratorConfig)
    generator_widths: list[tuple[int, int]] | None = None
    kernel: int = 5  # generator kernel edge
    discriminator_widths: tuple[int, int, int, int] = (32, 64, 128, 256)
    batch_norm: bool = True  # in G (all blocks but the last)
    discriminator_batch_norm: bool = True  # in D_s and D_t (all layers but the first)
    init_std: float = 0.04  # weights ~ N(0, init_std²)
    init_bias: float = 0.1
    bn_momentum: float = 0.001  # TF decay 0.999
    bn_eps: float = 1e-3
    # Not the paper's: add the "nearest"/"linear" upsampled input density to G's output
    # (before its final ReLU) so that G learns the missing detail only; "none" = paper.
    input_residual: Literal["none", "nearest", "linear"] = "none"
    # Not the paper's: what D_t sees of an aligned triplet, "frames" (the paper's) or
    # "differences" (frame t and its changes to t-1 and t+1; fluidgan.models.tempogan).
    temporal_input: Literal["frames", "differences"] = "frames"

    def __post_init__(self):
        from fluidgan.models.generators import GENERATORS

        GENERATORS.get(self.generator)  # UserError listing the valid names
        if self.generator_widths is not None:
            if len(self.generator_widths) < 1 or self.generator_widths[-1][-1] != 1:
                raise ValueError(
                    "model.generator_widths: the last block must end in 1 "
                    f"channel (density), got {self.generator_widths}"
                )


@dataclass
class LossConfig:
    """Loss weights (docs/METHOD.md) and the adversarial loss by name (fluidgan.gan.losses)."""

    adversarial: str = "nsgan"  # BCE on logits, non-saturating generator loss
    adversarial_params: dict[str, Any] = field(default_factory=dict)
    # Options of the loss's companion regulariser (fluidgan.gan.regularizers), e.g.
    # WGAN: weight_clip {c}, WGAN-GP: gradient_penalty {weight, center}.
    companion_params: dict[str, Any] = field(default_factory=dict)
    lambda_l1: float = 5.0
    lambda_f: tuple[float, float, float, float] = (-1e-5, -1e-5, -1e-5, -1e-5)
    lambda_t: float = 1.0  # temporal adversarial term (temporal = "discriminator")
    lambda_t_l2: float = 1.0  # L2 temporal term (temporal = "l2")

    def __post_init__(self):
        from fluidgan.train.losses import adversarial_loss, companion_hooks

        loss = adversarial_loss(self.adversarial, self.adversarial_params)  # UserError if unknown
        if loss.energy:
            raise UserError(
                f"loss.adversarial = {self.adversarial!r} needs an autoencoder discriminator "
                "(an energy, not a logit); tempoGAN's D_s / D_t output logits"
            )
        companion_hooks(loss, self.companion_params)  # UserError for a bad option


@dataclass
class AblationConfig:
    """The paper's ablation switches."""

    spatial_discriminator: bool = True  # train and use D_s
    temporal: Literal["discriminator", "l2", "off"] = "discriminator"
    advection: bool = True  # align triplets by advection (else raw frames)
    advection_order: int = 1  # 1 semi-Lagrangian (the reference), 2 MacCormack


@dataclass
class OptimConfig:
    """Three Adam optimisers (G, D_s, D_t); constant rate, then polynomial decay."""

    lr: float = 2e-4
    betas: tuple[float, float] = (0.5, 0.999)
    decay_start: float = 0.5  # fraction of the run after which the rate decays
    decay_power: float = 1.1
    final_lr: float = 0.05  # the rate at the end, as a fraction of ``lr``
    k_ds: int = 2  # D_s updates per iteration
    k_dt: int = 2  # D_t updates per iteration
    k_g: int = 2  # G updates per iteration

    def __post_init__(self):
        if min(self.k_ds, self.k_dt) < 0 or self.k_g < 1:
            raise ValueError("optim: k_ds, k_dt must be >= 0 and k_g >= 1")


@dataclass
class TrainConfig:
    """``fluidgan train``: every value the run depends on; saved as ``config.toml``.

    ``seed`` seeds the weights and the batch index streams; ``data.seed`` the split into
    training and validation simulations and the tiles themselves.
    """

    iterations: int = 40000
    batch_size: int = 16  # spatial batch B (all processes together); ⌊B/3⌋ triplets
    seed: int = 0
    # bfloat16 autocast: "auto" on CUDA and on CPUs with BF16 units (fluidgan.amp), "bf16"
    # anywhere, "off" never
    amp: Literal["auto", "off", "bf16"] = "auto"
    deterministic: bool = False  # torch.use_deterministic_algorithms
    # CPU threads per process (0: torch's default, one per core). 1 is much faster on a
    # machine shared with other jobs: OpenMP threads spin-wait for preempted peers.
    threads: int = 0
    checkpoint_every: int = 1000  # iterations between checkpoints
    keep_checkpoints: int = 3  # newest checkpoints kept
    preview_every: int = 1000  # iterations between validation previews (0: never)
    preview_samples: int = 3  # validation tiles drawn in a preview
    validation_samples: int = 16  # validation tiles of the val/l1 metrics
    tensorboard: bool = True  # also write TensorBoard events when installed
    # EMA of G's weights, θ̄ ← β θ̄ + (1 - β) θ after each iteration's G updates (β =
    # ema_decay; 0: none); before ema_start iterations θ̄ ← θ. Inference uses θ̄.
    ema_decay: float = 0.0
    ema_start: int = 0
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    ablation: AblationConfig = field(default_factory=AblationConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)

    def __post_init__(self):
        if self.iterations < 1:
            raise ValueError(f"iterations must be >= 1, got {self.iterations}")
        if self.batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {self.batch_size}")
        if self.temporal_batch_size < 1 and self.ablation.temporal != "off":
            raise ValueError(
                f"batch_size {self.batch_size} leaves no triplet "
                "(⌊B/3⌋ = 0); use >= 3 or ablation.temporal = 'off'"
            )
        if self.threads < 0:
            raise ValueError(f"threads must be >= 0, got {self.threads}")
        if self.checkpoint_every < 1:
            raise ValueError(f"checkpoint_every must be >= 1, got {self.checkpoint_every}")
        if not 0.0 <= self.ema_decay < 1.0:
            raise ValueError(f"ema_decay must be in [0, 1) (0: no EMA), got {self.ema_decay}")
        if self.ema_start < 0:
            raise ValueError(f"ema_start must be >= 0, got {self.ema_start}")

    @property
    def temporal_batch_size(self) -> int:
        return self.batch_size // 3
