"""tempoGAN losses against hand computations, and their assembly in the generator update."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch

from fluidgan.advection import align_triplet
from fluidgan.config import build
from fluidgan.errors import UserError
from fluidgan.gan.losses import LOSSES, Loss
from fluidgan.gan.regularizers import REGULARIZERS, Hook
from fluidgan.train import distributed as dist
from fluidgan.train.config import TrainConfig
from fluidgan.train.loop import ModelSpec, Trainer
from fluidgan.train.losses import adversarial_loss, feature_loss, l1_loss, temporal_l2_loss


def test_feature_loss_is_negative_half_sum_of_squares_per_layer():
    rng = np.random.default_rng(0)
    real = [rng.normal(size=(2, 3, 4, 4)), rng.normal(size=(2, 5, 2, 2))]
    fake = [rng.normal(size=(2, 3, 4, 4)), rng.normal(size=(2, 5, 2, 2))]
    weights = [-1e-5, -2e-5]
    # By hand: Σ_j λ_j · ½ Σ_all (F_j(y) - F_j(G(x)))², summed, not averaged.
    expected = sum(
        w * 0.5 * np.sum((r - f) ** 2) for r, f, w in zip(real, fake, weights, strict=True)
    )
    got = feature_loss([torch.tensor(a) for a in real], [torch.tensor(a) for a in fake], weights)
    assert expected < 0
    assert float(got) == pytest.approx(expected, rel=1e-6)


def test_feature_loss_is_sum_reduced_over_the_batch():
    real, fake = [torch.rand(3, 4, 5, 5)], [torch.rand(3, 4, 5, 5)]
    once = feature_loss(real, fake, [-1e-5])
    twice = feature_loss([torch.cat([real[0]] * 2)], [torch.cat([fake[0]] * 2)], [-1e-5])
    torch.testing.assert_close(twice, 2 * once)  # a mean would give once


def test_feature_loss_single_element_by_hand():
    # ½ · (3 - 1)² · (-1e-5) = -2e-5
    got = feature_loss([torch.tensor([[3.0]])], [torch.tensor([[1.0]])], [-1e-5])
    assert float(got) == pytest.approx(-2e-5)


def test_feature_loss_checks_the_number_of_layers():
    with pytest.raises(ValueError, match="weights"):
        feature_loss([torch.zeros(1)] * 4, [torch.zeros(1)] * 4, [1.0] * 3)


def test_l1_is_a_mean():
    generated = torch.tensor([[0.0, 1.0], [2.0, 3.0]])
    target = torch.tensor([[1.0, 1.0], [0.0, 0.0]])
    assert float(l1_loss(generated, target)) == pytest.approx((1 + 0 + 2 + 3) / 4)


def test_nsgan_is_bce_on_logits():
    nsgan = adversarial_loss("nsgan")
    real, fake = torch.tensor([2.0, -1.0]), torch.tensor([0.5, -3.0])
    sig = torch.sigmoid
    expected_d = -torch.log(sig(real)).mean() - torch.log(1 - sig(fake)).mean()
    expected_g = -torch.log(sig(fake)).mean()  # non-saturating
    torch.testing.assert_close(nsgan.d_loss(real, fake), expected_d)
    torch.testing.assert_close(nsgan.g_loss(fake), expected_g)


def test_temporal_l2_sums_the_mean_squared_differences_of_consecutive_frames():
    a = torch.zeros(2, 3, 4, 4)
    a[:, 1] = 1.0  # frames 0, 1, 2 = 0, 1, 0 -> mean (0-1)² + mean (1-0)² = 2
    assert float(temporal_l2_loss(a)) == pytest.approx(2.0)
    assert float(temporal_l2_loss(torch.ones(2, 3, 4, 4))) == 0.0


def tiny_trainer(**overrides) -> Trainer:
    data = {
        "batch_size": 6,
        "seed": 1,
        "amp": "off",  # float32: compared with float32 references
        "data": {"tile": 4, "channels": "rho+v"},
        "model": {
            "generator_widths": [[4, 4], [4, 4], [2, 2], [2, 1]],
            "discriminator_widths": [2, 4, 4, 4],
        },
    }
    for key, value in overrides.items():
        section, _, name = key.rpartition(".")
        (data.setdefault(section, {}) if section else data)[name] = value
    cfg = build(TrainConfig, data)
    return Trainer(cfg, ModelSpec(2, 4, 3, "rho+v"), dist.setup("cpu"))


def batches(seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    spatial = {
        "low": torch.rand(6, 3, 4, 4, generator=g),
        "high": torch.rand(6, 1, 16, 16, generator=g),
        "low_velocity": torch.randn(6, 2, 4, 4, generator=g),
    }
    temporal = {
        "low": torch.rand(2, 3, 3, 4, 4, generator=g),
        "high": torch.rand(2, 3, 1, 16, 16, generator=g),
        "low_velocity": torch.randn(2, 3, 2, 4, 4, generator=g),
    }
    return spatial, temporal


def test_generator_loss_is_the_weighted_sum_of_its_terms():
    trainer = tiny_trainer(**{"loss.lambda_l1": 5.0, "loss.lambda_t": 0.7})
    spatial, temporal = batches()
    m = trainer.update_generator(spatial, temporal)
    expected = 5.0 * m["g/l1"] + m["g/adv_s"] + m["g/feature"] + 0.7 * m["g/adv_t"]
    torch.testing.assert_close(m["g/loss"], expected)
    assert m["g/feature"] < 0  # λ_f < 0


def test_l2_temporal_ablation_replaces_the_temporal_discriminator():
    trainer = tiny_trainer(**{"ablation.temporal": "l2", "loss.lambda_t_l2": 2.0})
    assert "temporal" not in trainer.nets
    spatial, temporal = batches()
    m = trainer.update_generator(spatial, temporal)
    assert "g/adv_t" not in m
    expected = 5.0 * m["g/l1"] + m["g/adv_s"] + m["g/feature"] + 2.0 * m["g/l2_t"]
    torch.testing.assert_close(m["g/loss"], expected)


def test_temporal_term_uses_the_advection_warp_and_its_gradient_reaches_g():
    trainer = tiny_trainer()
    _, temporal = batches()
    frames = torch.rand(2, 3, 1, 16, 16, requires_grad=True)
    aligned = trainer.align(frames, temporal["low_velocity"])
    expected = align_triplet(frames.detach(), temporal["low_velocity"], 4)[:, :, 0]
    torch.testing.assert_close(aligned, expected)
    logits, _ = trainer.nets["temporal"](aligned)
    logits.sum().backward()
    # Frames t-1 and t+1 reach D_t through the warp, frame t directly: all get gradients.
    assert all(frames.grad[:, i].abs().sum() > 0 for i in range(3))


def test_no_advection_feeds_the_raw_frames():
    trainer = tiny_trainer(**{"ablation.advection": False})
    _, temporal = batches()
    frames = torch.rand(2, 3, 1, 16, 16)
    torch.testing.assert_close(trainer.align(frames, temporal["low_velocity"]), frames[:, :, 0])


def test_generator_update_leaves_discriminators_unchanged_and_trainable():
    trainer = tiny_trainer()
    spatial, temporal = batches()
    before = {
        k: [p.detach().clone() for p in trainer.nets[k].parameters()]
        for k in ("spatial", "temporal")
    }
    g_before = [p.detach().clone() for p in trainer.nets["generator"].parameters()]
    trainer.update_generator(spatial, temporal)
    for k, params in before.items():
        for p, q in zip(params, trainer.nets[k].parameters(), strict=True):
            assert torch.equal(p, q) and q.requires_grad
    changed = [
        not torch.equal(p, q)
        for p, q in zip(g_before, trainer.nets["generator"].parameters(), strict=True)
    ]
    assert all(changed)


@pytest.mark.parametrize("name", ["hinge", "lsgan", "wgan", "mmgan"])
def test_adversarial_loss_swaps_in_by_name(name):
    trainer = tiny_trainer(**{"loss.adversarial": name})
    spatial, temporal = batches()
    m = trainer.update_spatial(spatial)
    m.update(trainer.update_temporal(temporal))
    m.update(trainer.update_generator(spatial, temporal))
    assert all(torch.isfinite(v) for v in m.values())
    if name == "hinge":  # L_G = -E D(G(x)) for both discriminators' terms
        assert "g/adv_s" in m and "g/adv_t" in m


def test_batch_norm_switches_for_the_generator_and_the_discriminators_apart():
    trainer = tiny_trainer(**{"model.batch_norm": False})
    has_bn = {
        k: any(isinstance(m, torch.nn.BatchNorm2d) for m in net.modules())
        for k, net in trainer.nets.items()
    }
    assert has_bn == {"generator": False, "spatial": True, "temporal": True}
    trainer = tiny_trainer(**{"model.discriminator_batch_norm": False})
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in trainer.nets["spatial"].modules())


def test_wgan_clips_each_critic_after_its_own_step():
    trainer = tiny_trainer(**{"loss.adversarial": "wgan", "loss.companion_params": {"c": 0.02}})
    spatial, temporal = batches()
    trainer.update_spatial(spatial)
    assert max(p.abs().max() for p in trainer.nets["spatial"].parameters()) <= 0.02
    # D_t has not stepped yet: its biases are still the initial 0.1.
    assert max(p.abs().max() for p in trainer.nets["temporal"].parameters()) >= 0.1
    trainer.update_temporal(temporal)
    assert max(p.abs().max() for p in trainer.nets["temporal"].parameters()) <= 0.02


def test_wgan_gp_penalises_the_gradient_on_the_high_res_input_only():
    trainer = tiny_trainer(**{"loss.adversarial": "wgan_gp"})
    spatial, _ = batches()
    low, high = spatial["low"], spatial["high"]
    d_s = copy.deepcopy(trainer.nets["spatial"])
    with torch.no_grad():
        fake = copy.deepcopy(trainer.nets["generator"])(low)
    # ŷ = ε y + (1 - ε) G(x) per sample, the condition x held fixed; λ = 10.
    torch.manual_seed(7)
    eps = torch.rand(6, 1, 1, 1)
    y_hat = (eps * high + (1 - eps) * fake).requires_grad_(True)
    (grad,) = torch.autograd.grad(d_s(low[:, :1], y_hat)[0].sum(), y_hat)
    expected = 10.0 * ((grad.flatten(1).norm(dim=1) - 1.0) ** 2).mean()
    torch.manual_seed(7)
    m = trainer.update_spatial(spatial)
    torch.testing.assert_close(m["d_s/penalty"], expected)


@pytest.mark.parametrize("name", ["ebgan", "began"])
def test_energy_losses_are_refused(name):
    from fluidgan.errors import UserError

    with pytest.raises(UserError, match="autoencoder"):
        build(TrainConfig, {"loss": {"adversarial": name}})


def test_unknown_adversarial_loss_names_the_valid_ones():
    from fluidgan.errors import UserError

    with pytest.raises(UserError, match="nsgan"):
        build(TrainConfig, {"loss": {"adversarial": "nope"}})


# --- companions: registered regularisers of the GAN zoo, run as its hooks ----------------
# A new companion is one registration (a regulariser, and a loss naming it).


def register_loss_with(monkeypatch, companion: str) -> None:
    """'wgan_x': the WGAN loss whose companion is the regulariser ``companion``."""

    def wgan_x() -> Loss:
        return Loss("wgan_x", lambda r: -r.mean(), lambda f: f.mean(), lambda f: -f.mean(),
                    companion=companion)  # fmt: skip

    monkeypatch.setitem(LOSSES, "wgan_x", wgan_x)


@pytest.fixture
def mean_real_score(monkeypatch):
    """A 'pair' companion: scale · E D(x, y) on the real pair, through the hook's Pair."""

    def factory(scale: float = 1.0) -> Hook:
        return Hook(("d",), "pair", lambda c: scale * c.pair.D(c.pair.real).score.mean())

    monkeypatch.setitem(REGULARIZERS, "mean_real_score", factory)
    register_loss_with(monkeypatch, "mean_real_score")


def test_a_registered_pair_companion_joins_each_discriminator_loss(mean_real_score):
    trainer = tiny_trainer(
        **{"loss.adversarial": "wgan_x", "loss.companion_params": {"scale": 3.0}}
    )
    spatial, temporal = batches()
    low, high = spatial["low"], spatial["high"]
    with torch.no_grad():  # by hand, before the step changes D_s: the real pair is (x, y)
        expected_s = 3.0 * trainer.nets["spatial"](low[:, :1], high)[0].mean()
    m = trainer.update_spatial(spatial)
    torch.testing.assert_close(m["d_s/penalty"], expected_s)
    real_t = trainer.align(temporal["high"], temporal["low_velocity"])
    with torch.no_grad():
        expected_t = 3.0 * trainer.nets["temporal"](real_t)[0].mean()
    m = trainer.update_temporal(temporal)
    torch.testing.assert_close(m["d_t/penalty"], expected_t)


def test_a_registered_after_step_companion_runs_after_each_discriminator_step(monkeypatch):
    seen = []

    def factory(tag: str = "") -> Hook:
        return Hook(("d",), "after_step", lambda c: seen.append((tag, c.net)))

    monkeypatch.setitem(REGULARIZERS, "count_steps", factory)
    register_loss_with(monkeypatch, "count_steps")
    trainer = tiny_trainer(**{"loss.adversarial": "wgan_x", "loss.companion_params": {"tag": "t"}})
    spatial, temporal = batches()
    trainer.update_spatial(spatial)
    trainer.update_temporal(temporal)
    trainer.update_generator(spatial, temporal)  # no companion on G
    assert seen == [("t", trainer.nets["spatial"]), ("t", trainer.nets["temporal"])]


def test_companion_options_are_checked_against_the_registered_regulariser():
    with pytest.raises(UserError, match=r"loss\.companion_params\.weight'.*weight_clip.*valid: c"):
        build(TrainConfig, {"loss": {"adversarial": "wgan", "companion_params": {"weight": 1}}})
    with pytest.raises(UserError, match=r"'nsgan' has no companion"):
        build(TrainConfig, {"loss": {"companion_params": {"c": 0.1}}})
    cfg = build(
        TrainConfig, {"loss": {"adversarial": "wgan_gp", "companion_params": {"center": 0}}}
    )
    assert cfg.loss.companion_params == {"center": 0}


@pytest.mark.parametrize(
    "stages, scope",
    [(("g",), "pair"), (("d",), "net"), (("d",), "fake_batch"), (("d", "g"), "pair")],
)
def test_a_companion_tempogan_cannot_run_is_refused_at_config_load(monkeypatch, stages, scope):
    monkeypatch.setitem(REGULARIZERS, "odd", lambda: Hook(stages, scope, lambda c: None))
    register_loss_with(monkeypatch, "odd")
    with pytest.raises(UserError, match="tempoGAN runs only pair and after_step"):
        build(TrainConfig, {"loss": {"adversarial": "wgan_x"}})


def test_temporal_input_reaches_d_t():
    assert tiny_trainer().nets["temporal"].input == "frames"  # the paper's by default
    trainer = tiny_trainer(**{"model.temporal_input": "differences"})
    assert trainer.nets["temporal"].input == "differences"
    _, temporal = batches()
    frames = trainer.align(temporal["high"], temporal["low_velocity"])
    d_t = trainer.nets["temporal"]
    changes = torch.cat([frames[:, 1:2], frames[:, 0:1] - frames[:, 1:2], frames[:, 2:]], 1)
    changes[:, 2:] -= frames[:, 1:2]
    d_t.eval()
    assert torch.allclose(d_t(frames)[0], super(type(d_t), d_t).forward(changes)[0])
