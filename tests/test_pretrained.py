"""Pretrained models: the registry, hash verification, ``pretrained:NAME`` in the CLI, and
``benchmarks/make_pretrained.py`` turning a run into a shipped model."""

from __future__ import annotations

import fnmatch
from pathlib import Path

import numpy as np
import pytest
import tomllib
import torch
from scripts import load_script

import fluidgan.pretrained as pretrained
from fluidgan.cli import main
from fluidgan.config import build
from fluidgan.errors import UserError
from fluidgan.train import checkpoint as ckpt
from fluidgan.train import distributed as dist
from fluidgan.train.config import TrainConfig
from fluidgan.train.loop import ModelSpec, Trainer

pytestmark = pytest.mark.usefixtures("one_thread")  # tests/conftest.py

ROOT = Path(__file__).resolve().parents[1]
TINY = {
    "batch_size": 6,
    "data": {"tile": 4, "channels": "rho"},
    "model": {
        "generator_widths": [[4, 4], [4, 4], [2, 2], [2, 1]],
        "discriminator_widths": [2, 4, 4, 4],
    },
}


def run_cli(*args: str) -> int:
    with pytest.raises(SystemExit) as e:
        main(list(args))
    return e.value.code


@pytest.fixture
def run_dir(tmp_path) -> Path:
    """A training run's checkpoint, written by the trainer's own save path (all networks,
    optimisers, RNG states), with generator weights that are not the initial ones."""
    cfg = build(TrainConfig, TINY)
    trainer = Trainer(cfg, ModelSpec(2, 4, 1, "rho"), dist.setup("cpu"))
    with torch.no_grad():
        for p in trainer.nets["generator"].parameters():
            p.add_(0.01 * torch.randn_like(p))
    run = tmp_path / "run"
    ckpt.save_checkpoint(trainer.state_dict(7, {"g/l1": 0.5}), ckpt.checkpoint_path(run, 7))
    return run


@pytest.fixture
def shipped(run_dir, tmp_path, monkeypatch) -> Path:
    """``run_dir`` made into pretrained:tiny2d of a temporary registry."""
    make = load_script("make_pretrained")
    dest = tmp_path / "registry"
    assert make.main([str(run_dir), "--name", "tiny2d", "--dest", str(dest)]) == 0
    monkeypatch.setattr(pretrained, "REGISTRY", dest / "models.toml")
    return dest


def test_make_pretrained_keeps_the_generator_only_and_registers_its_hash(run_dir, shipped):
    file = shipped / "tiny2d.pt"
    entry = tomllib.loads((shipped / "models.toml").read_text())["models"]["tiny2d"]
    assert entry["file"] == "tiny2d.pt" and entry["card"] == "tiny2d.md"
    assert entry["sha256"] == pretrained.sha256_of(file)
    assert entry["size"] == file.stat().st_size
    assert (entry["dim"], entry["factor"], entry["channels"]) == (2, 4, "rho")
    full = torch.load(ckpt.latest_checkpoint(run_dir), weights_only=True)
    small = torch.load(file, weights_only=True)
    assert small["iteration"] == 7
    for key in ("spatial_discriminator", "temporal_discriminator", "optimizers", "rng"):
        assert full[key] is not None and key not in small
    assert file.stat().st_size < ckpt.latest_checkpoint(run_dir).stat().st_size / 2
    card = (shipped / "tiny2d.md").read_text()
    assert entry["sha256"] in card and "pretrained:tiny2d" in card and "[model]" in card


def test_make_pretrained_puts_a_data_text_in_the_card(run_dir, tmp_path):
    """Training data that is not one fluidgan dataset (several scenes in one directory) is
    described in words: the card shows the text instead of 'Not recorded'."""
    make = load_script("make_pretrained")
    dest = tmp_path / "registry2"
    text = "10 `training` simulations and 6 plumes, one directory"
    assert (
        make.main([str(run_dir), "--name", "mixed", "--dest", str(dest), "--data-text", text]) == 0
    )
    card = (dest / "mixed.md").read_text()
    section = card.split("## Training data")[1].split("## Training command")[0]
    assert text in section and "Not recorded" not in section


def test_pretrained_name_loads_the_same_generator(run_dir, shipped):
    original, info = ckpt.load_generator(run_dir)
    loaded, info2 = ckpt.load_generator("pretrained:tiny2d")
    assert info2 == info
    x = torch.rand(2, 1, 6, 5)
    torch.testing.assert_close(loaded(x), original(x), rtol=0, atol=0)
    assert ckpt.load_checkpoint("pretrained:tiny2d")["path"] == str(shipped / "tiny2d.pt")


def test_upscale_and_info_take_a_pretrained_name(shipped, tmp_path, capsys):
    rng = np.random.default_rng(0)
    source = tmp_path / "coarse.npz"
    np.savez(source, density=rng.random((3, 6, 5)).astype(np.float32))
    out = tmp_path / "up.h5"
    args = ["upscale", "--checkpoint", "pretrained:tiny2d", "--input", str(source)]
    assert run_cli(*args, "--out", str(out), "--device", "cpu", "--quiet") == 0
    import h5py

    with h5py.File(out) as f:
        assert f["sr/density"].shape == (3, 24, 20)
    capsys.readouterr()
    assert run_cli("info", "pretrained:") == 0
    listing = capsys.readouterr().out
    assert "tiny2d" in listing and "Model card: `pretrained:tiny2d`" in listing
    assert run_cli("info", "pretrained:tiny2d", "--json") == 0
    assert '"verified": true' in capsys.readouterr().out


def test_hash_mismatch_is_refused_in_one_line(shipped, tmp_path, capsys):
    file = shipped / "tiny2d.pt"
    expected = pretrained.sha256_of(file)
    data = bytearray(file.read_bytes())
    data[len(data) // 2] ^= 0xFF  # one flipped byte somewhere in the weights
    file.write_bytes(bytes(data))
    actual = pretrained.sha256_of(file)
    source = tmp_path / "coarse.npz"
    np.savez(source, density=np.ones((2, 6, 5), np.float32))
    capsys.readouterr()
    args = ["upscale", "--checkpoint", "pretrained:tiny2d", "--input", str(source)]
    assert run_cli(*args, "--out", str(tmp_path / "up.h5")) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert str(file) in err and expected in err and actual in err
    assert run_cli("info", "pretrained:tiny2d") == 2
    with pytest.raises(UserError, match="does not match"):
        ckpt.load_checkpoint("pretrained:tiny2d")


def test_unknown_or_missing_models_name_the_valid_ones(shipped, tmp_path, capsys):
    capsys.readouterr()
    assert run_cli("info", "pretrained:smoke9d") == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "pretrained:smoke9d" in err and "valid: pretrained:tiny2d" in err
    (shipped / "tiny2d.pt").unlink()
    with pytest.raises(UserError, match="tiny2d.pt: the file of pretrained:tiny2d is missing"):
        pretrained.resolve("pretrained:tiny2d")
    empty = tmp_path / "empty" / "models.toml"
    with pytest.raises(UserError, match="none are installed"):
        pretrained.resolve("pretrained:smoke2d", empty)
    assert pretrained.describe("pretrained:", empty)["models"] == "none are installed"


def test_registry_entries_are_validated(tmp_path):
    path = tmp_path / "models.toml"
    path.write_text('[models.a]\nfile = "a.pt"\nsha256 = "00"\ncolour = "red"\n')
    with pytest.raises(UserError, match=r"models.a: unknown keys \['colour'\]"):
        pretrained.registry(path)
    path.write_text('[models.a]\nfile = "a.pt"\n')
    with pytest.raises(UserError, match=r"missing \['sha256'\]"):
        pretrained.registry(path)


def test_size_limit_refuses_a_large_model(run_dir, tmp_path, capsys):
    make = load_script("make_pretrained")
    dest = tmp_path / "registry"
    assert make.main([str(run_dir), "--name", "big", "--dest", str(dest), "--max-mb", "1e-4"]) == 2
    assert "over --max-mb" in capsys.readouterr().err
    assert not (dest / "big.pt").exists() and not (dest / "models.toml").exists()


# --- the models shipped in this package ------------------------------------------------


def test_shipped_registry_parses_and_is_packaged():
    models = pretrained.registry()
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    patterns = pyproject["tool"]["setuptools"]["package-data"]["fluidgan.pretrained"]
    assert "models.toml" in patterns
    for model in models.values():
        for path in (model.file, model.card):
            assert path is not None and path.parent == pretrained.REGISTRY.parent
            assert any(fnmatch.fnmatch(path.name, p) for p in patterns), path.name
        assert model.size is None or model.size <= 5 * 2**20


@pytest.mark.parametrize("name", sorted(pretrained.registry()))
def test_each_shipped_model_verifies_and_upscales_a_small_sequence(name, tmp_path):
    model = pretrained.lookup(name)
    generator, info = ckpt.load_generator(f"pretrained:{name}")  # verifies the hash
    assert (info["dim"], info["factor"], info["channels"]) == (
        model.dim,
        model.factor,
        model.channels,
    )
    low = torch.rand(1, info["in_channels"], *([8] * info["dim"]))
    with torch.no_grad():
        high = generator(low)
    assert high.shape == (1, 1, *([8 * info["factor"]] * info["dim"]))
    assert torch.isfinite(high).all() and high.min() >= 0
