"""Every ablation switch of the study changes what it should, in a real (tiny) training run.

Each test has a positive control: the same check on the full model must see the thing
the switch removes, so a check that can never fail does not pass silently.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from fluidgan.config import build
from fluidgan.data import make_datasets
from fluidgan.io.simfile import open_sim
from fluidgan.train import checkpoint as ckpt
from fluidgan.train import loop
from fluidgan.train.config import TrainConfig
from fluidgan.train.logging import read_metrics
from pipelines.train import train


def configure(config: dict, **sections) -> dict:
    """Two iterations, no previews; ``sections`` merged into the tiny config."""
    config.update(iterations=2, preview_every=0, checkpoint_every=2)
    for section, values in sections.items():
        if isinstance(values, dict):
            config.setdefault(section, {}).update(values)
        else:
            config[section] = values
    return config


def snapshot(module: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in module.state_dict().items()}


class Recorder:
    """after_iteration hook: the networks' weights after every iteration."""

    def __init__(self):
        self.weights: list[dict[str, dict[str, torch.Tensor]]] = []
        self.nets: set[str] = set()
        self.optimizers: set[str] = set()

    def __call__(self, done, metrics, trainer):
        self.nets = set(trainer.nets)
        self.optimizers = set(trainer.optimizers)
        self.weights.append({k: snapshot(v) for k, v in trainer.nets.items()})


@pytest.mark.parametrize("temporal", ["off", "l2"])
def test_no_temporal_discriminator_exists_or_is_updated_without_it(
    dataset2d, tiny_config, tmp_path, temporal
):
    full = Recorder()
    train(configure(tiny_config), dataset2d, tmp_path / "full", device="cpu", after_iteration=full)
    assert "temporal" in full.nets and "temporal" in full.optimizers  # the control
    before, after = full.weights[0]["temporal"], full.weights[1]["temporal"]
    assert any(not torch.equal(before[k], after[k]) for k in before)  # D_t does learn

    ablated = Recorder()
    config = configure(tiny_config, ablation={"temporal": temporal})
    result = train(config, dataset2d, tmp_path / temporal, device="cpu", after_iteration=ablated)
    assert ablated.nets == {"generator", "spatial"}
    assert ablated.optimizers == {"generator", "spatial"}
    state = ckpt.load_checkpoint(result["checkpoint"])
    assert state["temporal_discriminator"] is None
    assert "temporal" not in state["optimizers"]
    assert not any(k.startswith("d_t/") for k in result["metrics"])
    # the generator's temporal term is the L2 loss or nothing at all
    assert ("g/l2_t" in result["metrics"]) == (temporal == "l2")
    assert "g/adv_t" not in result["metrics"]


def test_no_advection_call_when_advection_is_off(dataset2d, tiny_config, tmp_path, monkeypatch):
    calls = []
    real = loop.align_triplet

    def counting(*args, **kwargs):
        calls.append(args[0].shape)
        return real(*args, **kwargs)

    monkeypatch.setattr(loop, "align_triplet", counting)
    train(configure(tiny_config), dataset2d, tmp_path / "on", device="cpu")
    # per iteration: k_dt = 2 D_t updates warp the real and the generated triplets, and
    # k_g = 2 generator updates warp the generated ones: 6; two iterations: 12
    assert len(calls) == 12
    calls.clear()
    config = configure(tiny_config, ablation={"advection": False})
    result = train(config, dataset2d, tmp_path / "off", device="cpu")
    assert calls == []
    assert "d_t/loss" in result["metrics"]  # D_t still trains, on the raw frames


@pytest.mark.parametrize("lambda_f, sign", [(0.0, 0), (-1e-3, -1), (1e-3, 1)])
def test_feature_term_follows_lambda_f(dataset2d, tiny_config, tmp_path, lambda_f, sign):
    config = configure(tiny_config, loss={"lambda_f": [lambda_f] * 4})
    train(config, dataset2d, tmp_path / "run", device="cpu")
    rows = read_metrics(tmp_path / "run")
    assert len(rows) == 2
    for row in rows:
        assert np.sign(row["g/feature"]) == sign
        if sign == 0:
            assert row["g/feature"] == 0.0
            # L_G = λ_L1 L1 + adv_s + λ_t adv_t: nothing else left in it (means over updates)
            expected = 5.0 * row["g/l1"] + row["g/adv_s"] + row["g/adv_t"]
            assert row["g/loss"] == pytest.approx(expected, rel=1e-5)


def first_convolution(module: nn.Module) -> nn.Module:
    return next(m for m in module.modules() if isinstance(m, (nn.Conv2d, nn.Conv3d)))


@pytest.mark.parametrize("channels, width", [("rho", 1), ("rho+v", 3), ("rho+v+w", 4)])
def test_input_channels_set_the_generator_input_width(
    dataset2d, tiny_config, tmp_path, channels, width
):
    seen = Recorder()
    config = configure(tiny_config, data={"channels": channels}, iterations=1)
    result = train(config, dataset2d, tmp_path / "run", device="cpu", after_iteration=seen)
    state = ckpt.load_checkpoint(result["checkpoint"])
    assert state["model"]["in_channels"] == width
    assert state["model"]["channels"] == channels
    generator, _ = ckpt.load_generator(result["checkpoint"])
    assert first_convolution(generator).in_channels == width
    low = torch.rand(2, width, 8, 8)
    assert generator(low).shape == (2, 1, 32, 32)
    with pytest.raises(RuntimeError):  # a wrong input width does not slip through
        generator(torch.rand(2, width + 1, 8, 8))


def raw_crop(dataset, recipe):
    """The unaugmented low and high density tiles a recipe's centre points at."""
    sim = dataset.sims[recipe.sim]
    half = np.array(dataset.tile[::-1]) / 2.0
    start = (recipe.centre - half)[::-1]  # (y, x) low-res cells
    assert np.allclose(start, np.round(start))
    start = start.astype(int)
    t = recipe.frames[0]
    tile, f = dataset.tile, dataset.factor
    with open_sim(sim.path) as fh:
        low = fh["low/density"][t, start[0] : start[0] + tile[0], start[1] : start[1] + tile[1]]
        high = fh["high/density"][
            t,
            f * start[0] : f * (start[0] + tile[0]),
            f * start[1] : f * (start[1] + tile[1]),
        ]
    return low, high


def test_augmentation_off_gives_untransformed_tiles(dataset2d, tiny_config):
    def training_set(augmentation: bool):
        data = dict(tiny_config["data"], augmentation=augmentation, val_fraction=0.0)
        return make_datasets(build(TrainConfig, {**tiny_config, "data": data}).data, dataset2d)[0]

    plain = training_set(False)
    for index in range(12):
        recipe = plain.recipe(index)
        np.testing.assert_array_equal(recipe.transform, np.eye(2))
        item = plain.cut(recipe)
        low, high = raw_crop(plain, recipe)
        np.testing.assert_allclose(item["low"][0].numpy(), low, atol=1e-6)
        np.testing.assert_allclose(item["high"][0].numpy(), high, atol=1e-6)

    augmented = training_set(True)  # the control: transforms are drawn, tiles change
    recipes = [augmented.recipe(i) for i in range(12)]
    moved = [r for r in recipes if not np.allclose(r.transform, np.eye(2))]
    assert len(moved) >= 6
    item = augmented.cut(moved[0])
    identity = type(moved[0])(moved[0].sim, moved[0].frames, np.eye(2), moved[0].centre)
    assert not np.allclose(item["high"][0].numpy(), augmented.cut(identity)["high"][0].numpy())
