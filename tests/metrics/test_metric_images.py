"""Image sources and the uint8 quantisation shared by real and generated images."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from fluidgan.errors import UserError
from fluidgan.metrics.images import digits_split_indices, load_image_set, to_uint8


def test_quantisation_levels_by_hand():
    x = np.array([0.0, 0.5, 1 / 255, 1.0, 0.998])
    # 0.5 * 255 = 127.5 -> 128 (half up); 0.998 * 255 = 254.49 -> 254
    np.testing.assert_array_equal(to_uint8(x, "0,1"), [0, 128, 1, 255, 254])


def test_minus_one_one_matches_stylegan_rounding():
    x = np.random.default_rng(0).uniform(-1.05, 1.05, size=1000)
    stylegan = np.clip(x * 127.5 + 128, 0, 255).astype(np.uint8)  # truncation after +128
    np.testing.assert_array_equal(to_uint8(x, "-1,1"), stylegan)


def test_auto_range_and_failures():
    assert to_uint8(np.array([0.0, 1.0]))[1] == 255  # [0, 1]
    assert to_uint8(np.array([-1.0, 1.0]))[0] == 0  # [-1, 1]
    with pytest.raises(UserError, match="fake.npz: float values span"):
        to_uint8(np.array([0.0, 7.0]), what="fake.npz")
    with pytest.raises(UserError, match="expected 0..255"):
        to_uint8(np.array([0, 300]))
    np.testing.assert_array_equal(to_uint8(np.array([0.0, 255.0]), "0,255"), [0, 255])


def _write_pngs(folder, images):
    folder.mkdir()
    for i, im in enumerate(images):
        Image.fromarray(im.squeeze(-1) if im.shape[-1] == 1 else im).save(folder / f"{i:03d}.png")


def test_folder_npz_and_run_dir_agree(tmp_path):
    rng = np.random.default_rng(1)
    images = rng.integers(0, 256, size=(5, 6, 7, 3), dtype=np.uint8)
    _write_pngs(tmp_path / "png", images)
    np.savez(tmp_path / "a.npz", images=images.astype(np.float32) / 255.0)
    (tmp_path / "run").mkdir()
    np.savez(tmp_path / "run" / "samples.npz", images)
    sets = [load_image_set(tmp_path / p) for p in ("png", "a.npz", "run")]
    for s in sets:
        np.testing.assert_array_equal(s.images, images)
    assert len({s.digest() for s in sets}) == 1  # identity is the pixels, not the path


def test_grey_images_and_mixed_folders(tmp_path):
    grey = np.arange(12, dtype=np.uint8).reshape(1, 3, 4, 1)
    np.savez(tmp_path / "g.npz", grey[..., 0])  # (N, H, W) is grey
    assert load_image_set(tmp_path / "g.npz").shape == (3, 4, 1)
    folder = tmp_path / "mixed"
    _write_pngs(folder, [grey[0]])
    Image.fromarray(np.zeros((3, 4, 3), np.uint8)).save(folder / "zz.png")
    s = load_image_set(folder)
    assert s.shape == (3, 4, 3)
    np.testing.assert_array_equal(s.images[0, ..., 2], grey[0, ..., 0])


def test_bad_sources(tmp_path):
    with pytest.raises(UserError, match="no such file"):
        load_image_set(tmp_path / "missing")
    np.savez(tmp_path / "two.npz", a=np.zeros((2, 3, 3)), b=np.zeros((2, 3, 3)))
    with pytest.raises(UserError, match="two.npz: holds arrays a, b"):
        load_image_set(tmp_path / "two.npz")
    np.savez(tmp_path / "shape.npz", images=np.zeros((2, 3, 3, 5)))
    with pytest.raises(UserError, match=r"shape.npz: array shape \(2, 3, 3, 5\)"):
        load_image_set(tmp_path / "shape.npz")
    folder = tmp_path / "sizes"
    _write_pngs(folder, [np.zeros((4, 4, 1), np.uint8)])
    Image.fromarray(np.zeros((5, 4), np.uint8)).save(folder / "b.png")
    with pytest.raises(UserError, match="b.png: size 4x5 differs"):
        load_image_set(folder)
    with pytest.raises(UserError, match="unknown built-in"):
        load_image_set("builtin:nope")


def test_builtin_digits_splits():
    train, test, every = (load_image_set(f"builtin:digits:{s}") for s in ("train", "test", "all"))
    assert train.n + test.n == every.n == 1797 and test.n == 359
    assert train.shape == (8, 8, 1) and train.images.max() == 255
    assert not set(digits_split_indices("train", 1797)) & set(digits_split_indices("test", 1797))
    assert train.head(10).n == 10 and train.head(None) is train
