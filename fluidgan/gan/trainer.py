"""The GAN training loop: it composes a game, an adversarial loss and registered
regularisers; nothing here knows which paper a trick comes from.

One iteration: ``d_steps`` discriminator updates, then ``g_steps`` generator updates
(each on a fresh batch), an encoder update for games that have one, and the EMA of G.
Losses go to ``log.jsonl``; sample grids to ``samples/iter_NNNNNN.png``; the checkpoint
``checkpoint.pt`` (written atomically) holds every network, optimiser, the EMA, loss and
regulariser state, the data order and the RNG states, so ``resume=True`` continues
bit-for-bit where it stopped. The loop around the iterations (cadence, stop requests,
finite check, progress, status) is the skeleton both trainers share, :mod:`fluidgan.loop`.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

import numpy as np
import torch
from torch import Tensor, nn

from fluidgan import config as cfgio
from fluidgan import loop
from fluidgan.device import resolve_device
from fluidgan.errors import UserError
from fluidgan.gan.config import GanConfig, image_size, load_config
from fluidgan.gan.core import Ctx, NetSpec
from fluidgan.gan.data import Batcher, load_dataset
from fluidgan.gan.ema import ema_decay, make_ema, update_ema_
from fluidgan.gan.games import GAMES
from fluidgan.gan.losses import Loss, get_loss
from fluidgan.gan.regularizers import Hook, make_hook
from fluidgan.gan.sample import generate, reference_images, save_grid, to_uint8
from fluidgan.optim import OPTIMIZERS

CHECKPOINT = "checkpoint.pt"
LOG = "log.jsonl"
CHECKPOINT_FORMAT = "fluidgan.gan.checkpoint"

EvaluateFn = Callable[[np.ndarray, np.ndarray], dict[str, float]]


@dataclass
class Run:
    """Everything a training run holds."""

    cfg: GanConfig
    spec: NetSpec
    game: Any
    models: dict[str, nn.ModuleDict]
    optimizers: dict[str, torch.optim.Optimizer]
    loss: Loss
    hooks: dict[str, Hook]
    sources: list[dict[str, Tensor]]
    batcher: Batcher
    ema: nn.ModuleDict | None
    device: torch.device
    iteration: int = 0

    @property
    def sampler(self) -> nn.ModuleDict:
        """The generator side to sample from: the EMA copy when there is one."""
        return self.ema if self.ema is not None else self.models["g"]


def build_run(cfg: GanConfig, device: str | torch.device = "cpu") -> Run:
    """Data, networks, optimisers, loss and hooks for ``cfg``, seeded by train.seed."""
    device = resolve_device(device)
    torch.manual_seed(cfg.train.seed)
    d = cfg.data
    data = load_dataset(d.name, size=image_size(d), channels=d.channels, path=d.path, **d.options)
    spec = NetSpec(
        d.channels,
        tuple(data.images.shape[2:]),
        cfg.model.z_dim,
        cfg.model.width,
        data.num_classes,
        cfg.model.conditional,
    )
    game = GAMES.get(cfg.model.game)(spec, cfg.model, **cfg.model.game_options)
    models = {role: nets.to(device) for role, nets in game.build().items()}
    sources = [
        {k: v.to(device) for k, v in s.items()} for s in game.sources(data, d, cfg.train.seed)
    ]
    o = cfg.optim
    lrs = {"g": o.lr_g, "d": o.lr_d, "e": o.lr_g}
    optimizers = {
        role: OPTIMIZERS.get(o.name)(nets.parameters(), lrs[role], tuple(o.betas))
        for role, nets in models.items()
    }
    return Run(
        cfg=cfg,
        spec=spec,
        game=game,
        models=models,
        optimizers=optimizers,
        loss=get_loss(cfg.loss.name, **cfg.loss.params),
        hooks={name: make_hook(name, dict(p)) for name, p in cfg.regularizers.items()},
        sources=sources,
        batcher=Batcher(sources, cfg.train.batch_size, cfg.train.seed + 1),
        ema=make_ema(models["g"]) if cfg.train.ema_decay > 0 else None,
        device=device,
    )


# --- one step ---------------------------------------------------------------------------


def _hooks(run: Run, stage: str, scope: str) -> Iterator[tuple[str, Hook]]:
    return ((n, h) for n, h in run.hooks.items() if stage in h.stages and h.scope == scope)


@contextmanager
def frozen(module: nn.Module) -> Iterator[None]:
    """No parameter gradients for ``module`` inside the block (D during the G step)."""
    flags = [p.requires_grad for p in module.parameters()]
    module.requires_grad_(False)
    try:
        yield
    finally:
        for p, flag in zip(module.parameters(), flags, strict=True):
            p.requires_grad_(flag)


def _apply_update(run: Run, role: str, total: Tensor) -> None:
    opt = run.optimizers[role]
    opt.zero_grad(set_to_none=True)
    total.backward()
    opt.step()
    for _, hook in _hooks(run, role, "after_step"):
        hook.fn(Ctx(role, run.models[role], run.loss))


def _add(logs: dict[str, float], key: str, value: Tensor | float) -> None:
    value = value.detach() if isinstance(value, Tensor) else value
    logs[key] = logs.get(key, 0.0) + float(value)


def _hook_terms(run: Run, ctx: Ctx, scope: str, logs: dict[str, float]) -> Tensor:
    """Σ of the ``scope`` hook terms of side ``ctx.stage``, each logged as 'stage/name'."""
    total = torch.zeros((), device=run.device)
    for name, hook in _hooks(run, ctx.stage, scope):
        term = hook.fn(ctx)
        total = total + term
        _add(logs, f"{ctx.stage}/{name}", term)
    return total


def d_step(run: Run, batch: dict[str, Tensor]) -> dict[str, float]:
    """L_D = Σ_pairs [d_loss(D(x), D(G(z))) + pair terms] + weight terms; one update.
    'fake_batch' hooks (a history buffer) first replace each pair's fakes."""
    net, logs, total = run.models["d"], {}, torch.zeros((), device=run.device)
    for pair in run.game.d_pairs(run.models, batch):
        for _, hook in _hooks(run, "d", "fake_batch"):
            pair.fake = hook.fn(Ctx("d", net, run.loss, pair))
        real_out, fake_out = pair.D(pair.real), pair.D(pair.fake)
        adv = run.loss.d_loss(real_out.score, fake_out.score)
        total = total + adv
        _add(logs, "d/adv", adv)
        _add(logs, f"D(x){pair.name}", real_out.score.mean())
        _add(logs, f"D(G(z)){pair.name}", fake_out.score.mean())
        ctx = Ctx("d", net, run.loss, pair, real_out, fake_out)
        total = total + _hook_terms(run, ctx, "pair", logs)
        logs.update(run.loss.after_d_step(real_out.score, fake_out.score))
    total = total + _hook_terms(run, Ctx("d", net, run.loss), "net", logs)
    _apply_update(run, "d", total)
    logs["d_loss"] = float(total.detach())
    return logs


def g_step(run: Run, batch: dict[str, Tensor]) -> dict[str, float]:
    """L_G = game terms (cycle, ...) + Σ_pairs [g_weight · g_loss(D(G(z))) + pair terms]
    + weight terms; one update."""
    net, logs = run.models["g"], {}
    with frozen(run.models["d"]):
        pairs, terms = run.game.g_pairs(run.models, batch)
        total = torch.zeros((), device=run.device)
        for name, term in terms.items():
            total = total + term
            _add(logs, f"g/{name}", term)
        for pair in pairs:
            fake_out = pair.D(pair.fake)
            adv = run.cfg.loss.g_weight * run.loss.g_loss(fake_out.score)
            total = total + adv
            _add(logs, "g/adv", adv)
            ctx = Ctx("g", net, run.loss, pair, None, fake_out)
            total = total + _hook_terms(run, ctx, "pair", logs)
        total = total + _hook_terms(run, Ctx("g", net, run.loss), "net", logs)
        _apply_update(run, "g", total)
    logs["g_loss"] = float(total.detach())
    return logs


def e_step(run: Run, batch: dict[str, Tensor]) -> dict[str, float]:
    """The encoder update of games that have one (IcGAN)."""
    terms = run.game.encoder_loss(run.models, batch)
    total = sum(terms.values())
    _apply_update(run, "e", total)
    return {f"e/{k}": float(v.detach()) for k, v in terms.items()}


def train_step(run: Run) -> dict[str, float]:
    logs: dict[str, float] = {}
    k_d = run.cfg.optim.d_steps
    for _ in range(k_d):
        for key, value in d_step(run, run.batcher.next()).items():
            _add(logs, key, value / k_d)
    for _ in range(run.cfg.optim.g_steps):
        batch = run.batcher.next()
        for key, value in g_step(run, batch).items():
            _add(logs, key, value / run.cfg.optim.g_steps)
        if "e" in run.models:
            logs.update(e_step(run, batch))
    if run.ema is not None:
        t = run.cfg.train
        update_ema_(run.ema, run.models["g"], ema_decay(run.iteration, t.ema_decay, t.ema_start))
    return logs


# --- sampling, checkpoints, the loop ----------------------------------------------------


def checkpoint_state(run: Run) -> dict[str, Any]:
    return {
        "format": CHECKPOINT_FORMAT,
        "format_version": 1,
        "iteration": run.iteration,
        "config": cfgio.to_dict(run.cfg),
        "models": {role: nets.state_dict() for role, nets in run.models.items()},
        "optimizers": {role: opt.state_dict() for role, opt in run.optimizers.items()},
        "ema": run.ema.state_dict() if run.ema is not None else None,
        "loss": dict(run.loss.state),
        "hooks": {name: hook.state for name, hook in run.hooks.items()},
        "batcher": run.batcher.state_dict(),
        "rng": {
            "torch": torch.get_rng_state(),
            "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
        },
    }


def save_checkpoint(run: Run, path: str | os.PathLike) -> Path:
    """Write atomically: a temporary file, then rename over the old checkpoint."""
    return loop.save_atomically(checkpoint_state(run), path)


def read_checkpoint(path: str | os.PathLike, device: str | torch.device = "cpu") -> dict:
    path = Path(path)
    if path.is_dir():
        path = path / CHECKPOINT
    if not path.is_file():
        raise UserError(f"{path}: no such checkpoint")
    try:
        state = torch.load(path, map_location=device, weights_only=True)
    except Exception as e:  # any unreadable file is the user's input
        raise UserError(f"{path}: not a readable checkpoint ({e})") from None
    if not isinstance(state, dict) or state.get("format") != CHECKPOINT_FORMAT:
        raise UserError(f"{path}: not a fluidgan GAN checkpoint")
    return state


def load_state(run: Run, state: dict[str, Any]) -> None:
    """Put a checkpoint's state into a run built from the same config."""
    for role, nets in run.models.items():
        nets.load_state_dict(state["models"][role])
    for role, opt in run.optimizers.items():
        opt.load_state_dict(state["optimizers"][role])
    if run.ema is not None:
        run.ema.load_state_dict(state["ema"])
    run.loss.state.update(state["loss"])
    for name, hook in run.hooks.items():
        hook.state.update(state["hooks"].get(name, {}))
    run.batcher.load_state_dict(state["batcher"])
    torch.set_rng_state(state["rng"]["torch"].cpu())
    if state["rng"]["cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all([s.cpu() for s in state["rng"]["cuda"]])
    run.iteration = int(state["iteration"])


def restore(path: str | os.PathLike, device: str | torch.device = "cpu") -> Run:
    """The run saved at ``path`` (a checkpoint or the run directory holding one)."""
    state = read_checkpoint(path, resolve_device(device))
    run = build_run(load_config(state["config"]), device)
    load_state(run, state)
    return run


def _trim_log(path: Path, iteration: int) -> None:
    """Drop log lines past ``iteration`` (written after the checkpoint a resume uses)."""
    if not path.exists():
        return
    keep = [
        line
        for line in path.read_text().splitlines()
        if line.strip() and json.loads(line).get("iteration", 0) <= iteration
    ]
    path.write_text("".join(line + "\n" for line in keep))


def available(run: Run, n: int) -> int:
    """n, or fewer when the game has fewer distinct samples (cycle models: |A|)."""
    limit = run.game.capacity(run.sources)
    return n if limit is None else min(n, limit)


def _evaluate(run: Run, evaluate_fn: EvaluateFn) -> dict[str, float]:
    """Metrics of eval.samples generated images (fewer if the game has fewer; logged as
    n_fake) against the reference images. Runs on a forked RNG so that evaluating never
    changes the training trajectory."""
    t = run.cfg.train
    with torch.random.fork_rng(devices=[]):
        n = available(run, run.cfg.eval.samples)
        fake = generate(run, n, seed=t.seed + 1, truncation=t.truncation)
        return {**evaluate_fn(to_uint8(fake), reference_images(run)), "n_fake": n}


class RunFiles:
    """What the cadence tasks write into the run directory: loss rows and metric rows in
    ``log.jsonl``, sample grids in ``samples/``; the last grid and metrics are kept."""

    def __init__(self, run: Run, out: Path, log: TextIO, evaluate_fn: EvaluateFn | None):
        self.run, self.out, self.log, self.evaluate_fn = run, out, log, evaluate_fn
        self.grid: Path | None = None
        self.metrics: dict[str, float] = {}

    def tasks(self) -> list[loop.Task]:
        """Losses every log_every, a grid every sample_every, metrics every eval.every
        iterations (0: only at the end), each also after the last iteration."""
        t = self.run.cfg.train
        tasks = [
            loop.Task(t.log_every, self.write_losses, at_end=True),
            loop.Task(t.sample_every, self.write_grid, at_end=True),
        ]
        if self.evaluate_fn is not None:
            tasks.append(loop.Task(self.run.cfg.eval.every, self.write_metrics, at_end=True))
        return tasks

    def write(self, row: dict[str, Any]) -> None:
        self.log.write(json.dumps(row) + "\n")
        self.log.flush()

    def write_losses(self, done: int, logs: dict[str, float]) -> None:
        self.write({"iteration": done, **logs})

    def write_grid(self, done: int, logs: dict[str, float]) -> None:
        t = self.run.cfg.train
        self.grid = self.out / "samples" / f"iter_{done:06d}.png"
        with torch.random.fork_rng(devices=[]):
            images = generate(self.run, available(self.run, t.grid), seed=t.seed, preview=True)
        save_grid(to_uint8(images), self.grid)

    def write_metrics(self, done: int, logs: dict[str, float]) -> None:
        self.metrics = _evaluate(self.run, self.evaluate_fn)
        self.write({"iteration": done, "metrics": self.metrics})


def train(
    cfg: GanConfig,
    out_dir: str | os.PathLike,
    *,
    iterations: int | None = None,
    resume: bool = False,
    device: str | torch.device = "cpu",
    evaluate_fn: EvaluateFn | None = None,
    progress: bool = False,
    max_seconds: float | None = None,
    clock: Callable[[], float] = time.perf_counter,
) -> dict[str, Any]:
    """Train ``cfg`` into ``out_dir`` up to ``iterations`` (default train.iterations).

    evaluate_fn(fake, real) gets eval.samples generated images and the reference images,
    both (N, H, W[, C]) uint8, every eval.every iterations and at the end, and returns
    metrics to log (FID/IS from fluidgan.metrics, see pipelines.gan_train).
    max_seconds: a time budget on ``clock`` (wall clock by default; time.process_time
    for CPU seconds); training stops after the iteration that exceeds it, with the
    end-of-run log, grid, metrics and checkpoint (status 'budget').
    Returns paths, the iteration reached, seconds per iteration, last losses, metrics.
    """
    out = Path(out_dir)
    (out / "samples").mkdir(parents=True, exist_ok=True)
    run = build_run(cfg, device)
    ckpt, log_path = out / CHECKPOINT, out / LOG
    if resume and ckpt.exists():
        load_state(run, read_checkpoint(ckpt, run.device))
        _trim_log(log_path, run.iteration)
    elif log_path.exists():
        log_path.unlink()
    cfgio.save_toml(cfgio.to_dict(cfg), out / "config.toml")
    total = cfg.train.iterations if iterations is None else iterations
    budget_start = clock()
    over_budget = None if max_seconds is None else (lambda: clock() - budget_start > max_seconds)

    def step() -> dict[str, float]:
        logs = train_step(run)
        run.iteration += 1
        return logs

    with log_path.open("a") as log:
        files = RunFiles(run, out, log, evaluate_fn)
        result = loop.run(
            loop.Loop(
                step=step,
                save=lambda done, logs: save_checkpoint(run, ckpt),
                checkpoint_every=cfg.train.checkpoint_every,
                tasks=files.tasks(),
                over_budget=over_budget,
                resume_hint="resume from it with --resume, e.g. with lower optim.lr_g / lr_d",
                progress=progress,
                desc=cfg.name,
                postfix=("d_loss", "g_loss"),
            ),
            run.iteration,
            total,
            ckpt if ckpt.exists() else None,
        )
    return {
        "status": result.status,
        "run_dir": out,
        "checkpoint": ckpt if ckpt.exists() else None,
        "log": log_path,
        "config": out / "config.toml",
        "samples": files.grid,
        "iterations": run.iteration,
        "seconds": result.seconds,
        "budget_seconds": clock() - budget_start,
        "seconds_per_iteration": result.seconds_per_iteration,
        "losses": result.metrics,
        "metrics": files.metrics,
    }
