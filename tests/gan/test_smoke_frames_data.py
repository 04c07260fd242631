"""The ``smoke_frames`` data set of the GAN zoo: the labelled 32² plume frames of the
``domain:smoke`` classifier, so that GANs trained on them are scored in-domain."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from fluidgan.errors import UserError
from fluidgan.gan.config import load_config
from fluidgan.gan.data import load_dataset
from fluidgan.gan.metrics import resolve_features
from fluidgan.metrics import smoke_frames


@pytest.fixture
def frames(monkeypatch):
    """Six asymmetric 32² frames in three classes instead of the simulated set."""
    rng = np.random.default_rng(3)
    images = rng.integers(0, 256, size=(6, 32, 32, 1), dtype=np.uint8)
    images[:, :4] = 0  # an empty band at the top: a flip would move it
    labels = np.array([0, 1, 2, 0, 1, 2])
    asked = []

    def load(split="all"):
        asked.append(split)
        return images, labels

    monkeypatch.setattr(smoke_frames, "load_smoke_labelled", load)
    return images, labels, asked


def test_frames_keep_their_orientation_values_and_labels(frames):
    images, labels, asked = frames
    data = load_dataset("smoke_frames", size=(32, 32), channels=1)
    assert asked == ["train"]  # never the held-out simulations by default
    expected = torch.as_tensor(images[..., 0] / 255.0 * 2 - 1, dtype=torch.float32)
    torch.testing.assert_close(data.images[:, 0], expected)  # no flip, uint8 -> [-1, 1]
    assert data.labels.tolist() == labels.tolist()
    assert data.num_classes == len(smoke_frames.CLASSES) == 4
    assert data.class_names == [c.name for c in smoke_frames.CLASSES]


def test_split_option_and_resize(frames):
    _, _, asked = frames
    data = load_dataset("smoke_frames", size=(16, 16), channels=3, split="test")
    assert asked == ["test"] and tuple(data.images.shape) == (6, 3, 16, 16)


def test_a_path_is_refused():
    with pytest.raises(UserError, match="built in"):
        load_dataset("smoke_frames", size=(32, 32), channels=1, path="somewhere.npz")


def test_auto_features_are_the_domain_classifier_of_the_data_set():
    smoke = load_config("dcgan", sets=['data.name="smoke_frames"', "data.size=32"])
    assert resolve_features(smoke) == "domain:smoke"
    assert resolve_features(load_config("dcgan")) == "domain:digits"
    npz = load_config("dcgan", sets=['data.name="npz"', 'data.path="x.npz"'])
    assert resolve_features(npz) == "inception"
