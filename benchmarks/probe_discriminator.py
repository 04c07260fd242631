"""Can the spatial discriminator tell a generator's tiles from the truth?

Trains D_s alone (G frozen, its updates exactly those of training: ``update_spatial``)
for ``--steps`` updates at a constant learning rate and prints the mean P(real) that D_s
gives real and generated tiles every 50 updates. A discriminator that stays at 0.5 on
this task while it separates an easy fake (``--fake bilinear``: the bilinear upsampled
input) has nothing left to learn from the generator: that is where tempoGAN's
adversarial terms stop shaping G.

    # the run's own D_s, continued from its checkpoint
    python benchmarks/probe_discriminator.py --run runs/X --data data/train2d
    # a fresh D_s (other widths), against the checkpoint's G or against bilinear
    python benchmarks/probe_discriminator.py --run runs/X --data data/train2d --fresh-d \
        --widths 32,64,128,256 --fake bilinear
    # real and fake through D_s in one batch (one set of batch-norm statistics)
    python benchmarks/probe_discriminator.py --run runs/X --data data/train2d --joint

docs/TRAINING.md ("Why the longer runs overshoot") has the figures.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

import torch
import torch.nn.functional as F

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import pipelines.train as pt  # noqa: E402
from fluidgan.train import distributed as dist  # noqa: E402
from fluidgan.train.checkpoint import latest_checkpoint, load_checkpoint  # noqa: E402
from fluidgan.train.loop import ModelSpec, Trainer  # noqa: E402


def probe_trainer(args: argparse.Namespace) -> Trainer:
    """The run's trainer at ``--checkpoint`` (default: its latest); with ``--fresh-d`` a
    newly initialised D_s (``--widths``) beside the checkpoint's G."""
    run = Path(args.run)
    cfg = pt.run_config(None, run, True, None)
    model = cfg.model
    if args.widths:
        model = dataclasses.replace(model, discriminator_widths=args.widths)
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
    for group in trainer.optimizers["spatial"].param_groups:
        group["lr"] = args.lr
    trainer.schedulers = {}
    return trainer


def bilinear_fake(trainer: Trainer, low: torch.Tensor, high: torch.Tensor) -> torch.Tensor:
    """An easy fake: the bilinear upsampled input density."""
    return F.interpolate(low[:, :1], size=high.shape[2:], mode="bilinear")


def generator_fake(trainer: Trainer, low: torch.Tensor, high: torch.Tensor) -> torch.Tensor:
    with torch.no_grad(), trainer.autocast():
        return trainer.nets["generator"](low).float()


FAKES = {"generator": generator_fake, "bilinear": bilinear_fake}


def joint_update(trainer: Trainer, batch: dict[str, torch.Tensor], fake_fn) -> dict:
    """One D_s update with real and fake tiles in one batch (one set of batch-norm
    statistics) instead of training's two passes."""
    low, high = batch["low"], batch["high"]
    fake = fake_fn(trainer, low, high)
    with trainer.autocast():
        logits, _ = trainer.nets["spatial"](torch.cat([low[:, :1]] * 2), torch.cat([high, fake]))
    n = len(high)
    return trainer.discriminator_step("spatial", "d_s", logits[:n], logits[n:])


def separate_update(trainer: Trainer, batch: dict[str, torch.Tensor], fake_fn) -> dict:
    """One D_s update as training does it (real and fake in separate passes)."""
    if fake_fn is generator_fake:
        return trainer.update_spatial(batch)
    low, high = batch["low"], batch["high"]
    fake = fake_fn(trainer, low, high)
    d_s = trainer.nets["spatial"]
    with trainer.autocast():
        real_logits, _ = d_s(low[:, :1], high)
        fake_logits, _ = d_s(low[:, :1], fake)
    return trainer.discriminator_step("spatial", "d_s", real_logits, fake_logits)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--run", required=True, help="a tempoGAN run directory")
    parser.add_argument("--data", required=True, help="its training data directory")
    parser.add_argument("--checkpoint", help="default: the run's latest")
    parser.add_argument("--fresh-d", action="store_true", help="a new D_s, not the run's")
    parser.add_argument(
        "--widths", type=lambda t: [int(w) for w in t.split(",")], help="D_s widths"
    )
    parser.add_argument("--fake", choices=tuple(FAKES), default="generator")
    parser.add_argument(
        "--joint", action="store_true", help="real and fake in one batch (one BN pass)"
    )
    parser.add_argument("--lr", type=float, default=2e-4, help="constant [2e-4]")
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--amp", default="auto", help="auto | off | bf16 [auto]")
    args = parser.parse_args(argv)
    torch.manual_seed(0)
    trainer = probe_trainer(args)
    trainer.nets["generator"].train()  # as in training: BN batch statistics in G
    stream_cfg = dataclasses.replace(trainer.cfg, iterations=args.steps)  # batches for each
    streams = pt.data_streams(stream_cfg, Path(args.data), trainer.ctx, 0)
    batches = pt.iteration_batches(*streams["train"], trainer.ctx.device)
    update, fake_fn = (joint_update if args.joint else separate_update), FAKES[args.fake]
    window: list[tuple[float, float]] = []
    for step in range(1, args.steps + 1):
        m = update(trainer, next(batches).spatial[0], fake_fn)
        window.append((float(m["d_s/real"].detach()), float(m["d_s/fake"].detach())))
        if step % 50 == 0:
            real = sum(r for r, _ in window) / len(window)
            fake = sum(f for _, f in window) / len(window)
            print(f"{step:5d}  P(real | real) {real:.3f}  P(real | fake) {fake:.3f}", flush=True)
            window.clear()


if __name__ == "__main__":
    main()
