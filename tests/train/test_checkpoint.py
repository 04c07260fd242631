"""Checkpoints: atomic files, the last K kept, RNG states, the generator alone reloadable."""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch

from fluidgan.errors import UserError
from fluidgan.models.tempogan import Generator
from fluidgan.train import checkpoint as ckpt
from pipelines.train import train


def test_save_keeps_the_newest_k_and_leaves_no_temporary(tmp_path):
    for it in (2, 4, 6, 8):
        ckpt.save_checkpoint({"iteration": it}, ckpt.checkpoint_path(tmp_path, it), keep=2)
    names = [p.name for p in ckpt.list_checkpoints(tmp_path)]
    assert names == ["ckpt_00000006.pt", "ckpt_00000008.pt"]
    assert not list((tmp_path / "checkpoints").glob("*.tmp"))
    assert ckpt.load_checkpoint(tmp_path)["iteration"] == 8  # a run dir: the newest


def test_a_temporary_file_is_never_listed(tmp_path):
    ckpt.save_checkpoint({"iteration": 1}, ckpt.checkpoint_path(tmp_path, 1))
    (tmp_path / "checkpoints" / "ckpt_00000002.pt.tmp").write_bytes(b"half")
    assert ckpt.latest_checkpoint(tmp_path).name == "ckpt_00000001.pt"


def test_rng_states_round_trip_through_a_weights_only_file(tmp_path):
    state = ckpt.rng_state()
    # The legacy global numpy generator is what the checkpoint must restore.
    expected = (torch.rand(3), np.random.rand(3), random.random())  # noqa: NPY002
    path = ckpt.save_checkpoint({"iteration": 0, "rng": state}, tmp_path / "c" / "x.pt")
    ckpt.set_rng_state(torch.load(path, weights_only=True)["rng"])
    got = (torch.rand(3), np.random.rand(3), random.random())  # noqa: NPY002
    torch.testing.assert_close(got[0], expected[0])
    np.testing.assert_array_equal(got[1], expected[1])
    assert got[2] == expected[2]


def test_unreadable_or_foreign_files_are_user_errors(tmp_path):
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a checkpoint")
    with pytest.raises(UserError, match="not a readable checkpoint"):
        ckpt.load_checkpoint(bad)
    torch.save({"hello": 1}, tmp_path / "other.pt")
    with pytest.raises(UserError, match="not a fluidgan"):
        ckpt.load_checkpoint(tmp_path / "other.pt")
    with pytest.raises(UserError, match="no checkpoint"):
        ckpt.load_checkpoint(tmp_path)


@pytest.mark.parametrize("residual", ["none", "linear"])
def test_generator_reloads_from_the_checkpoint_alone(dataset2d, tiny_config, tmp_path, residual):
    tiny_config.update(iterations=2, preview_every=0)
    tiny_config["model"]["input_residual"] = residual
    result = train(tiny_config, dataset2d, tmp_path / "run", device="cpu")
    generator, info = ckpt.load_generator(result["checkpoint"])
    assert info == {
        "dim": 2,
        "factor": 4,
        "in_channels": 4,
        "channels": "rho+v+w",
        "tile": 8,
        "generator": "tempogan",
        "generator_widths": [[4, 8], [8, 8], [4, 4], [2, 1]],
        "kernel": 5,
        "batch_norm": True,
        "bn_momentum": 0.001,
        "bn_eps": 1e-3,
        "input_residual": residual,
    }
    assert not generator.training and generator.input_residual == residual
    x = torch.rand(1, 4, 12, 10)  # fully convolutional: any low-res size
    state = torch.load(result["checkpoint"], weights_only=True)
    assert state["iteration"] == 2 and state["config"]["batch_size"] == 6
    assert generator(x).shape == (1, 1, 48, 40)
    # The trained weights, not a fresh network: the reloaded G repeats the saved one's output.
    trained = Generator(2, 4, 4, widths=info["generator_widths"], input_residual=residual)
    trained.load_state_dict(state["generator"])
    with torch.no_grad():
        torch.testing.assert_close(generator(x), trained.eval()(x))
