"""Structure and validation the formula tests do not reach, each added because a
mutation of it survived the other tests: activation slopes, which blocks are
pre-activated, channel conversions, the image-folder loader, option checks."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

from fluidgan.errors import UserError
from fluidgan.gan.architectures import DISCRIMINATORS, GENERATORS
from fluidgan.gan.architectures.icgan import Encoder
from fluidgan.gan.config import load_config
from fluidgan.gan.core import NetSpec
from fluidgan.gan.data import ImageData, load_dataset, match_channels
from fluidgan.gan.layers import SelfAttention


def test_dcgan_discriminator_uses_leaky_relu_0_2_and_checks_the_generator_norm():
    D = DISCRIMINATORS.get("dcgan")(NetSpec(1, (16, 16), width=4))
    slopes = {m.negative_slope for m in D.modules() if isinstance(m, nn.LeakyReLU)}
    assert slopes == {0.2}
    with pytest.raises(UserError, match="model.g.norm"):
        GENERATORS.get("dcgan")(NetSpec(1, (16, 16), width=4), norm="layer")


def test_biggan_discriminator_pre_activates_every_block_but_the_first():
    spec = NetSpec(1, (32, 32), width=4, num_classes=3, conditional="projection")
    D = DISCRIMINATORS.get("biggan")(spec)
    flags = [b.preactivation for b in D.blocks if hasattr(b, "preactivation")]
    assert len(flags) >= 3 and flags[0] is False and all(flags[1:])


def test_icgan_encoder_at_a_size_with_three_halvings():
    spec = NetSpec(1, (32, 32), z_dim=7, width=4, num_classes=3, conditional="concat")
    z, logits = Encoder(spec)(torch.randn(2, 1, 32, 32))
    assert z.shape == (2, 7) and logits.shape == (2, 3)


def test_self_attention_keeps_at_least_one_key_channel():
    att = SelfAttention(4)  # 4 // 8 = 0 -> 1 key channel, 4 // 2 = 2 value channels
    assert att.f.out_channels == 1 and att.g.out_channels == 1 and att.h.out_channels == 2
    att = SelfAttention(2)  # 2 // 2 = 1 value channel
    assert att.f.out_channels == 1 and att.h.out_channels == 1


def test_digits_span_the_full_range_and_unlabelled_data_has_no_classes():
    """The digits' 0..16 ink levels map onto [-1, 1] exactly (blank paper -1, full ink 1);
    an unlabelled set has 0 classes."""
    import numpy as np
    from sklearn.datasets import load_digits

    data = load_dataset("digits", size=None, channels=1)
    assert data.images.min() == -1.0 and data.images.max() == 1.0
    want = torch.as_tensor(load_digits().images[5] / 8.0 - 1.0, dtype=torch.float32)
    torch.testing.assert_close(data.images[5, 0], want)
    assert data.num_classes == 10 and ImageData(data.images[:2]).num_classes == 0
    assert np.array_equal(data.labels[:10].numpy(), load_digits().target[:10])


def test_channel_conversions():
    rgba = torch.rand(2, 4, 3, 3)
    assert torch.equal(match_channels(rgba, 3), rgba[:, :3])  # alpha dropped
    grey = match_channels(rgba, 1)
    want = 0.299 * rgba[:, 0] + 0.587 * rgba[:, 1] + 0.114 * rgba[:, 2]
    assert torch.allclose(grey[:, 0], want, atol=1e-6)
    assert match_channels(grey, 3).shape == (2, 3, 3, 3)
    with pytest.raises(UserError, match="2 channels"):
        match_channels(torch.rand(1, 2, 3, 3), 3)


def test_image_folder_reads_images_only_labels_by_folder_and_needs_equal_sizes(tmp_path):
    for cls, value in (("cats", 0), ("dogs", 255)):
        (tmp_path / cls).mkdir()
        for i in range(2):
            Image.fromarray(np.full((6, 4), value, np.uint8)).save(tmp_path / cls / f"{i}.png")
    (tmp_path / "cats" / "notes.txt").write_text("not an image")
    data = load_dataset("image_folder", size=None, channels=1, path=str(tmp_path))
    assert data.images.shape == (4, 1, 6, 4) and data.class_names == ["cats", "dogs"]
    assert data.labels.tolist() == [0, 0, 1, 1]
    assert float(data.images[0].max()) == -1.0 and float(data.images[3].min()) == 1.0
    Image.fromarray(np.zeros((5, 5), np.uint8)).save(tmp_path / "dogs" / "odd.png")
    with pytest.raises(UserError, match="differ in size"):
        load_dataset("image_folder", size=None, channels=1, path=str(tmp_path))
    assert load_dataset("image_folder", size=(8, 8), channels=1, path=str(tmp_path)).images.shape[
        2:
    ] == (8, 8)


def test_config_checks_generator_options_and_loads_defaults_without_a_source():
    with pytest.raises(UserError, match="model.g"):
        load_config("dcgan", sets=["model.g.nope=1"])
    assert load_config().model.generator == "dcgan"
    with pytest.raises(UserError, match="eval.samples"):
        load_config("dcgan", sets=["eval.samples=1"])
    assert load_config("dcgan", sets=["eval.samples=2"]).eval.samples == 2


# --- the trainer: what each step adds up, what a run writes -----------------------------

TINY = ["train.batch_size=8", "model.width=8", "model.z_dim=8", "eval.metrics=[]"]


def test_the_step_losses_are_the_sums_of_their_logged_terms():
    from fluidgan.gan import trainer

    sets = [*TINY, "regularizers.orthogonal.nets=['g', 'd']", "regularizers.r1.gamma=1.0"]
    run = trainer.build_run(load_config("dcgan", sets=sets))
    d = trainer.d_step(run, run.batcher.next())
    assert d["d_loss"] == pytest.approx(d["d/adv"] + d["d/r1"] + d["d/orthogonal"], rel=1e-5)
    g = trainer.g_step(run, run.batcher.next())
    assert g["g_loss"] == pytest.approx(g["g/adv"] + g["g/orthogonal"], rel=1e-5)
    run = trainer.build_run(load_config("cyclegan", sets=TINY))
    g = trainer.g_step(run, run.batcher.next())
    assert g["g_loss"] == pytest.approx(g["g/adv"] + g["g/cycle"], rel=1e-5)


def test_a_small_generator_step_lowers_its_loss():
    """The update descends L_G: on the same batch and noise, a small SGD step lowers it."""
    from fluidgan.gan import trainer

    sets = [*TINY, 'optim.name="sgd"', "optim.lr_g=1e-3", "optim.betas=[0.0, 0.999]"]
    run = trainer.build_run(load_config("mmgan", sets=sets))
    run.models["g"].eval(), run.models["d"].eval()  # no batch statistics in the way
    batch = run.batcher.next()
    losses = []
    for _ in range(2):
        torch.manual_seed(11)  # the same z both times
        losses.append(trainer.g_step(run, batch)["g_loss"])
    assert losses[1] < losses[0]


def test_ema_exists_only_with_a_positive_decay_and_is_what_samples():
    from fluidgan.gan import trainer

    run = trainer.build_run(load_config("biggan", sets=TINY))
    assert run.ema is not None and run.sampler is run.ema
    run = trainer.build_run(load_config("dcgan", sets=TINY))
    assert run.ema is None and run.sampler is run.models["g"]


def test_cadence_zero_means_never_and_the_run_saves_its_config(tmp_path):
    from fluidgan.config import to_dict
    from fluidgan.gan import trainer
    from fluidgan.loop import Task

    def due(iteration, every, last):  # the trainer's log / sample / eval cadence
        return Task(every, lambda done, logs: None, at_end=True).due(iteration, last)

    assert due(5, 0, False) is False and due(5, 0, True) is True
    assert due(6, 3, False) and not due(7, 3, False)
    cfg = load_config("dcgan", sets=[*TINY, "train.seed=3"])
    trainer.train(cfg, tmp_path, iterations=1)
    assert to_dict(load_config(tmp_path / "config.toml")) == to_dict(cfg)


def test_class_conditional_samples_carry_their_labels():
    from fluidgan.gan import trainer
    from fluidgan.gan.sample import sample_labels

    run = trainer.build_run(load_config("cgan", sets=TINY))
    assert sample_labels(run, 12).tolist() == [i % 10 for i in range(12)]
    assert sample_labels(trainer.build_run(load_config("dcgan", sets=TINY)), 4) is None
