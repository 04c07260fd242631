"""Can a discriminator tell the generator's output from the truth?

Trains one discriminator alone (``--disc spatial`` D_s or ``--disc temporal`` D_t; G
frozen, the updates exactly those of training: ``update_spatial`` / ``update_temporal``)
for ``--steps`` updates at a constant learning rate and prints the mean P(real) that it
gives real and fake inputs every 50 updates. A discriminator that stays at 0.5 on this
task while it separates a fake whose flaw is known has nothing left to learn from the
generator: that is where tempoGAN's adversarial terms stop shaping G. The fakes
(``--fake``):

* ``generator``: G's output (for D_t: G applied to each frame of the triplet);
* ``bilinear``: the bilinear upsampled input density, no detail at all;
* ``jitter``: the truth with its detail band (what lies above the low-res Nyquist
  frequency) shifted by an independent random offset of up to ``--jitter`` high-res cells
  per frame and axis: each frame keeps the truth's texture, but the detail of successive
  frames does not follow the flow — flicker, made to order, that D_t exists to catch.

    # the run's own D_s, continued from its checkpoint
    python benchmarks/probe_discriminator.py --run runs/X --data data/train2d
    # a fresh D_t, against the checkpoint's G or against flickering truth, on the frames
    # (the paper's input) or on frame t and its changes
    python benchmarks/probe_discriminator.py --run runs/X --data data/train2d --disc temporal \
        --fresh-d --fake jitter --jitter 2 --temporal-input differences
    # real and fake through the discriminator in one batch (one set of batch-norm statistics)
    python benchmarks/probe_discriminator.py --run runs/X --data data/train2d --joint
    # no training: how much the detail band of the truth and of each fake changes between
    # the frames of a triplet, after D_t's warp and on the raw frames
    python benchmarks/probe_discriminator.py --run runs/X --data data/train2d --coherence

docs/TRAINING.md ("Why the trained models overshoot on plumes") and docs/ABLATION.md have
the figures.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

import torch
import torch.nn.functional as F

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import pipelines.train as pt  # noqa: E402
from fluidgan.advection import align_triplet  # noqa: E402
from fluidgan.models.tempogan import TEMPORAL_INPUTS  # noqa: E402
from fluidgan.train import distributed as dist  # noqa: E402
from fluidgan.train.batches import IterationBatches  # noqa: E402
from fluidgan.train.checkpoint import latest_checkpoint, load_checkpoint  # noqa: E402
from fluidgan.train.loop import ModelSpec, Trainer  # noqa: E402

Fake = Callable[[Trainer, torch.Tensor, torch.Tensor, argparse.Namespace], torch.Tensor]


def probe_trainer(args: argparse.Namespace) -> Trainer:
    """The run's trainer at ``--checkpoint`` (default: its latest); with ``--fresh-d``
    newly initialised discriminators (``--widths``, ``--temporal-input``) beside the
    checkpoint's G."""
    run = Path(args.run)
    cfg = pt.run_config(None, run, True, None)
    model = cfg.model
    if args.widths:
        model = dataclasses.replace(model, discriminator_widths=args.widths)
    if args.temporal_input:
        model = dataclasses.replace(model, temporal_input=args.temporal_input)
    cfg = dataclasses.replace(
        cfg, amp=args.amp, model=model, data=dataclasses.replace(cfg.data, workers=0)
    )
    info = pt.read_info(pt.list_sims(Path(args.data))[0])
    channels = pt.channel_count(cfg.data.channels, info.dim)
    spec = ModelSpec(info.dim, info.factor, channels, cfg.data.channels)
    trainer = Trainer(cfg, spec, dist.Context(0, 0, 1, torch.device("cpu")))
    checkpoint = Path(args.checkpoint) if args.checkpoint else latest_checkpoint(run)
    if args.fresh_d:
        trainer.nets["generator"].load_state_dict(load_checkpoint(checkpoint)["generator"])
    else:
        pt.restore(trainer, checkpoint, spec, cfg)
    if args.disc not in trainer.nets:
        raise SystemExit(f"error: {run}: the run has no {args.disc} discriminator")
    for group in trainer.optimizers[args.disc].param_groups:
        group["lr"] = args.lr
    trainer.schedulers = {}
    return trainer


# --- fakes: one frame per sample, low (N, C, *s) and high (N, 1, *S) -> (N, 1, *S) ----


def generator_fake(trainer: Trainer, low: torch.Tensor, high: torch.Tensor, args) -> torch.Tensor:
    with torch.no_grad(), trainer.autocast():
        return trainer.nets["generator"](low).float()


def bilinear_fake(trainer: Trainer, low: torch.Tensor, high: torch.Tensor, args) -> torch.Tensor:
    """An easy fake: the bilinear upsampled input density."""
    mode = "bilinear" if high.dim() == 4 else "trilinear"
    return F.interpolate(low[:, :1], size=high.shape[2:], mode=mode)


def detail_band(high: torch.Tensor, factor: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``high`` split into its part below the low-res Nyquist frequency (box-filtered to
    the low-res grid and interpolated back) and the detail above it."""
    pool = F.avg_pool2d if high.dim() == 4 else F.avg_pool3d
    mode = "bilinear" if high.dim() == 4 else "trilinear"
    smooth = F.interpolate(pool(high, factor), size=high.shape[2:], mode=mode)
    return smooth, high - smooth


def jitter_fake(trainer: Trainer, low: torch.Tensor, high: torch.Tensor, args) -> torch.Tensor:
    """The truth with each sample's detail band rolled by its own random offset of up to
    ``--jitter`` cells per axis (never all zero)."""
    smooth, detail = detail_band(high.float(), trainer.spec.factor)
    axes = tuple(range(2, high.dim()))
    shifted = []
    for d in detail:
        offset = [0] * len(axes)
        while not any(offset):
            offset = torch.randint(-args.jitter, args.jitter + 1, (len(axes),)).tolist()
        shifted.append(torch.roll(d, offset, dims=tuple(a - 1 for a in axes)))
    return smooth + torch.stack(shifted)


FAKES: dict[str, Fake] = {
    "generator": generator_fake,
    "bilinear": bilinear_fake,
    "jitter": jitter_fake,
}


# --- the two discriminators: their batch, their inputs, training's own update -----------


class Probed(NamedTuple):
    """How one discriminator is fed: its batch of an iteration, the network inputs of a
    real (or fake) high-res sample, and the update training itself makes."""

    tag: str
    batch: Callable[[IterationBatches], dict[str, torch.Tensor]]
    inputs: Callable[[Trainer, dict[str, torch.Tensor], torch.Tensor], tuple]
    fake: Callable[[Trainer, dict[str, torch.Tensor], Fake, argparse.Namespace], torch.Tensor]
    training_update: Callable[[Trainer, dict[str, torch.Tensor]], dict]


def per_frame(trainer, batch, fake_fn, args) -> torch.Tensor:
    """``fake_fn`` on every frame of a triplet batch: (B, 3, ...) -> (B, 3, 1, *S)."""
    low, high = batch["low"], batch["high"]
    fake = fake_fn(trainer, low.flatten(0, 1), high.flatten(0, 1), args)
    return fake.unflatten(0, low.shape[:2])


PROBED = {
    "spatial": Probed(
        "d_s",
        lambda b: b.spatial[0],
        lambda trainer, batch, y: (batch["low"][:, :1], y),
        lambda trainer, batch, fake_fn, args: fake_fn(trainer, batch["low"], batch["high"], args),
        Trainer.update_spatial,
    ),
    "temporal": Probed(
        "d_t",
        lambda b: b.temporal[0],
        lambda trainer, batch, y: (trainer.align(y, batch["low_velocity"]),),
        per_frame,
        Trainer.update_temporal,
    ),
}


def update(trainer: Trainer, batch: dict, args: argparse.Namespace) -> dict:
    """One update of ``--disc``: training's own when the fake is G's and real and fake go
    through separately; otherwise the same loss on the chosen fake, real and fake in two
    passes or (``--joint``) one batch (one set of batch-norm statistics)."""
    probed, fake_fn = PROBED[args.disc], FAKES[args.fake]
    if fake_fn is generator_fake and not args.joint:
        return probed.training_update(trainer, batch)
    fake = probed.fake(trainer, batch, fake_fn, args)
    real_in = probed.inputs(trainer, batch, batch["high"])
    fake_in = probed.inputs(trainer, batch, fake)
    net = trainer.nets[args.disc]
    with trainer.autocast():
        if args.joint:
            logits, _ = net(*(torch.cat([r, f]) for r, f in zip(real_in, fake_in, strict=True)))
            real_logits, fake_logits = logits.split(len(batch["high"]))
        else:
            real_logits, fake_logits = net(*real_in)[0], net(*fake_in)[0]
    return trainer.discriminator_step(args.disc, probed.tag, real_logits, fake_logits)


def detail_change(
    trainer: Trainer, frames: torch.Tensor, velocity: torch.Tensor, warp: bool
) -> torch.Tensor:
    """(Σ of the squared change of the detail band from a triplet's middle frame to its
    two neighbours / 2, Σ of the middle frame's squared detail band) over a batch of
    triplets (B, 3, 1, *S): after D_t's advection warp (``warp``) or on the raw frames.
    Their ratio is 0 for detail that moves with the flow, ~2 for unrelated detail."""
    frames = frames.float()
    if warp:
        order = trainer.cfg.ablation.advection_order
        frames = align_triplet(frames, velocity, trainer.spec.factor, order)
    _, detail = detail_band(frames.flatten(0, 1), trainer.spec.factor)
    detail = detail.unflatten(0, frames.shape[:2])
    middle = detail[:, 1]
    change = ((detail[:, 0] - middle) ** 2 + (detail[:, 2] - middle) ** 2).sum() / 2
    return torch.stack([change, (middle**2).sum()])


def coherence(trainer: Trainer, batches, args: argparse.Namespace) -> None:
    """Print the detail change / detail energy of the truth and of every fake, with and
    without the warp, over ``--steps`` triplet batches (nothing is trained)."""
    sums = {}
    for _ in range(args.steps):
        batch = next(batches).temporal[0]
        sources = {"truth": batch["high"]}
        sources.update({k: per_frame(trainer, batch, f, args) for k, f in FAKES.items()})
        for name, frames in sources.items():
            for warp in (True, False):
                total = detail_change(trainer, frames, batch["low_velocity"], warp)
                sums[name, warp] = sums.get((name, warp), 0) + total
    print(f"detail change / detail energy over {args.steps} triplet batches")
    print(f"{'':10s} {'warped':>8s} {'raw':>8s}  detail energy / truth's")
    energy = sums["truth", True][1]
    for name in ("truth", *FAKES):
        warped, raw = sums[name, True], sums[name, False]
        print(
            f"{name:10s} {warped[0] / warped[1]:8.3f} {raw[0] / raw[1]:8.3f}"
            f"  {warped[1] / energy:.2f}",
            flush=True,
        )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--run", required=True, help="a tempoGAN run directory")
    parser.add_argument("--data", required=True, help="its training data directory")
    parser.add_argument("--checkpoint", help="default: the run's latest")
    parser.add_argument("--disc", choices=tuple(PROBED), default="spatial", help="[spatial]")
    parser.add_argument("--fresh-d", action="store_true", help="new discriminators, not the run's")
    parser.add_argument(
        "--widths", type=lambda t: [int(w) for w in t.split(",")], help="discriminator widths"
    )
    parser.add_argument(
        "--temporal-input", choices=tuple(TEMPORAL_INPUTS), help="D_t's input [the run's]"
    )
    parser.add_argument("--fake", choices=tuple(FAKES), default="generator")
    parser.add_argument("--jitter", type=int, default=2, help="jitter fake: max offset [2]")
    parser.add_argument(
        "--joint", action="store_true", help="real and fake in one batch (one BN pass)"
    )
    parser.add_argument("--lr", type=float, default=2e-4, help="constant [2e-4]")
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--amp", default="auto", help="auto | off | bf16 [auto]")
    parser.add_argument(
        "--coherence", action="store_true", help="measure the detail band's change, no training"
    )
    args = parser.parse_args(argv)
    if args.jitter < 1:
        parser.error(f"--jitter must be at least 1, got {args.jitter}")
    torch.manual_seed(0)
    trainer = probe_trainer(args)
    trainer.nets["generator"].train()  # as in training: BN batch statistics in G
    stream_cfg = dataclasses.replace(trainer.cfg, iterations=args.steps)  # batches for each
    if args.coherence:  # triplets are measured even for a run trained without them
        ablation = dataclasses.replace(stream_cfg.ablation, temporal="discriminator")
        stream_cfg = dataclasses.replace(stream_cfg, ablation=ablation)
    streams = pt.data_streams(stream_cfg, Path(args.data), trainer.ctx, 0)
    batches = pt.iteration_batches(*streams["train"], trainer.ctx.device)
    if args.coherence:
        return coherence(trainer, batches, args)
    tag, window = PROBED[args.disc].tag, []
    for step in range(1, args.steps + 1):
        m = update(trainer, PROBED[args.disc].batch(next(batches)), args)
        window.append((float(m[f"{tag}/real"].detach()), float(m[f"{tag}/fake"].detach())))
        if step % 50 == 0:
            real = sum(r for r, _ in window) / len(window)
            fake = sum(f for _, f in window) / len(window)
            print(f"{step:5d}  P(real | real) {real:.3f}  P(real | fake) {fake:.3f}", flush=True)
            window.clear()


if __name__ == "__main__":
    main()
