"""Tile dataset on small analytic simulation files (see conftest.py): shapes, determinism,
alignment of the grids, physical transformation of velocity and vorticity, triplets, the
density rule, the split by simulation, and listing a dataset directory."""

from __future__ import annotations

import json
import shutil

import h5py
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from fluidgan.data import DataConfig, TileDataset, list_sims, make_datasets, make_loader
from fluidgan.data.augment import AugmentConfig
from fluidgan.data.dataset import split_by_simulation, triplet_frames
from fluidgan.errors import UserError

AUG = AugmentConfig()


def dataset(files, dim, **kw):
    tile = 8 if dim == 2 else 4
    return TileDataset(files, factor=4, tile=tile, **kw)


@pytest.fixture(params=[2, 3], ids=["2d", "3d"])
def files(request, sims_2d, sim_3d):
    return (sims_2d if request.param == 2 else [sim_3d]), request.param


@pytest.mark.parametrize("temporal", [False, True], ids=["spatial", "temporal"])
@pytest.mark.parametrize("channels, extra", [("rho", 0), ("rho+v", 1), ("rho+v+w", 2)])
def test_item_shapes(files, temporal, channels, extra):
    paths, dim = files
    ds = dataset(paths, dim, channels=channels, temporal=temporal, augment=AUG)
    item = ds[0]
    tile = 8 if dim == 2 else 4
    channels_count = [1, 1 + dim, 1 + dim + (1 if dim == 2 else 3)][extra]
    lead = (3,) if temporal else ()
    assert item["low"].shape == (*lead, channels_count, *(tile,) * dim)
    assert item["high"].shape == (*lead, 1, *(4 * tile,) * dim)
    assert item["low_velocity"].shape == (*lead, dim, *(tile,) * dim)
    assert all(v.dtype == torch.float32 for v in item.values())


def test_items_are_deterministic_for_a_seed(sims_2d):
    a = dataset(sims_2d, 2, augment=AUG, temporal=True, seed=3)
    b = dataset(sims_2d, 2, augment=AUG, temporal=True, seed=3)
    c = dataset(sims_2d, 2, augment=AUG, temporal=True, seed=4)
    for i in (0, 5, 17):
        for key in a[i]:
            assert torch.equal(a[i][key], b[i][key])
    assert not torch.equal(a[5]["high"], a[6]["high"])
    assert not torch.equal(a[5]["high"], c[5]["high"])


def test_cache_and_loader_workers_give_the_same_batches(sims_2d):
    lazy = dataset(sims_2d, 2, augment=AUG, length=16)
    cached = dataset(sims_2d, 2, augment=AUG, length=16, cache=True)
    serial = list(make_loader(lazy, batch_size=4, workers=0))
    parallel = list(make_loader(cached, batch_size=4, workers=2))
    resumed = list(make_loader(lazy, batch_size=4, workers=0, start=8))
    assert len(serial) == len(parallel) == 4 and len(resumed) == 2
    for s, p in zip(serial, parallel, strict=True):
        for key in s:
            assert torch.equal(s[key], p[key])
    assert torch.equal(resumed[0]["low"], serial[2]["low"])


@pytest.mark.parametrize("augment", [None, AUG], ids=["plain", "augmented"])
def test_low_and_high_tiles_cover_the_same_region(files, augment):
    """Density is linear in position, so the high tile averaged over each low cell equals the
    low tile exactly, wherever and however the tile was cut."""
    paths, dim = files
    ds = dataset(paths, dim, augment=augment, temporal=True)
    pool = (F.avg_pool2d, F.avg_pool3d)[dim - 2]
    for i in range(6):
        item = ds[i]
        torch.testing.assert_close(pool(item["high"], 4), item["low"][:, :1], rtol=0, atol=2e-6)


def test_unaugmented_tile_is_a_copy_of_the_file(sims_2d):
    ds = dataset(sims_2d, 2, augment=None, channels="rho+v")
    item = ds[2]
    recipe = ds.recipe(2)
    k, (t,) = recipe.sim, recipe.frames
    np.testing.assert_array_equal(recipe.transform, np.eye(2))
    with h5py.File(ds.sims[k].path) as f:
        low = f["low/density"][t]
        vel = f["low/velocity"][t]
    tile = item["low"].numpy()
    vel = np.moveaxis(vel, -1, 0)
    hits = [
        (j, i)
        for j in range(9)
        for i in range(9)
        if np.array_equal(low[j : j + 8, i : i + 8], tile[0])
        and np.array_equal(vel[:, j : j + 8, i : i + 8], tile[1:])
    ]
    assert len(hits) == 1
    assert np.array_equal(item["low_velocity"].numpy(), tile[1:])


def test_velocity_and_vorticity_transform_as_physical_fields(files, analytic):
    """The fixture velocity is linear, u = J x + b: after any rotation, scale and flip its
    divergence (trace J) is unchanged, and so is the vorticity magnitude; without flips the
    2D vorticity keeps its sign. An unrotated velocity would change both."""
    paths, dim = files
    jac = analytic.velocity_jacobian[dim]
    curl = (
        np.array([jac[1, 0] - jac[0, 1]])
        if dim == 2
        else np.array([jac[2, 1] - jac[1, 2], jac[0, 2] - jac[2, 0], jac[1, 0] - jac[0, 1]])
    )
    for flip in (False, True):
        ds = dataset(paths, dim, augment=AugmentConfig(flip=flip), channels="rho+v+w")
        for i in range(4):
            item = ds[i]
            vel = item["low_velocity"].double()
            assert torch.equal(item["low"][1 : 1 + dim], item["low_velocity"])
            grads = [torch.gradient(vel[a], dim=dim - 1 - a)[0] for a in range(dim)]
            torch.testing.assert_close(
                sum(grads), torch.full_like(grads[0], np.trace(jac)), rtol=0, atol=1e-5
            )
            omega = item["low"][1 + dim :].double()
            norm = omega.square().sum(0).sqrt()
            torch.testing.assert_close(
                norm, torch.full_like(norm, np.linalg.norm(curl)), rtol=0, atol=1e-5
            )
            if dim == 2 and not flip:
                torch.testing.assert_close(
                    omega[0], torch.full_like(omega[0], curl[0]), rtol=0, atol=1e-5
                )


def test_triplets_are_consecutive_frames_clamped_at_the_ends(sims_2d, analytic):
    assert triplet_frames(0, 8) == (0, 0, 1)
    assert triplet_frames(4, 8) == (3, 4, 5)
    assert triplet_frames(7, 8) == (6, 7, 7)
    ds = dataset(sims_2d, 2, augment=AUG, temporal=True)
    steps = set()
    for i in range(40):
        low = ds[i]["low"][:, 0].double()
        step = (low[1:] - low[:-1]).mean(dim=(1, 2)) / analytic.density_rate  # frames
        assert torch.allclose(step, step.round(), atol=1e-4)
        steps.add(tuple(int(s) for s in step.round()))
    assert (1, 1) in steps and steps <= {(1, 1), (0, 1), (1, 0)}


def test_density_threshold_rejects_empty_tiles(sparse_sim):
    def means(**kw):
        ds = TileDataset([sparse_sim], factor=2, tile=6, channels="rho", augment=AUG, **kw)
        return np.array([float(ds[i]["low"].mean()) for i in range(30)])

    assert (means(max_tries=100) >= 0.02).all()
    assert (means(max_tries=1) < 0.02).mean() > 0.5  # without rejection most tiles are empty
    assert len(means(density_threshold=10.0, max_tries=3)) == 30  # gives up, uses the last


def test_split_by_simulation_is_disjoint_and_deterministic(tmp_path):
    files = [tmp_path / f"sim_{k:05d}.h5" for k in range(10)]
    train, val = split_by_simulation(files[::-1], 0.2, seed=1)
    assert len(val) == 2 and len(train) == 8
    assert set(train).isdisjoint(val) and set(train) | set(val) == set(files)
    assert (train, val) == split_by_simulation(files, 0.2, seed=1)  # order of input irrelevant
    assert any(split_by_simulation(files, 0.2, seed=s)[1] != val for s in range(2, 6))
    assert split_by_simulation(files[:2], 0.01, seed=0)[1] != []  # at least one when asked
    assert split_by_simulation(files, 0.0)[1] == []
    with pytest.raises(UserError, match="val_fraction"):
        split_by_simulation(files, 1.0)


def test_training_set_never_reads_a_validation_sim(sims_2d):
    root = sims_2d[0].parent
    train, val = make_datasets(DataConfig(tile=8, val_fraction=0.5), root)
    train_paths = {s.path for s in train.sims}
    val_paths = {s.path for s in val.sims}
    assert train_paths.isdisjoint(val_paths) and len(train_paths) == len(val_paths) == 1
    for i in range(20):  # every item of the train set comes from a train file
        assert train.sims[train.recipe(i).sim].path in train_paths
    assert train.augment is not None and val.augment is None


def test_list_sims_from_glob_and_manifest(tmp_path, sims_2d):
    for k, src in enumerate(sims_2d):
        shutil.copy(src, tmp_path / f"sim_{k:05d}.h5")
    (tmp_path / "sim_00002.h5.tmp").write_bytes(b"")  # an unfinished sim is never listed
    assert [p.name for p in list_sims(tmp_path)] == ["sim_00000.h5", "sim_00001.h5"]
    manifest = {
        "sims": [
            {"file": "sim_00000.h5", "status": "running"},
            {"file": "sim_00001.h5", "status": "complete"},
        ]
    }
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    assert [p.name for p in list_sims(tmp_path)] == ["sim_00001.h5"]
    manifest = {"sims": {"sim_00000.h5": {"status": "complete"}}}
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    assert [p.name for p in list_sims(tmp_path)] == ["sim_00000.h5"]
    with pytest.raises(UserError, match="no such dataset"):
        list_sims(tmp_path / "missing")


def test_bad_input_is_a_user_error(sims_2d, sim_3d):
    with pytest.raises(UserError, match="factor"):
        TileDataset(sims_2d, factor=2)
    with pytest.raises(UserError, match="larger than the low-res grid"):
        TileDataset(sims_2d, factor=4, tile=32)
    with pytest.raises(UserError, match="channels"):
        TileDataset(sims_2d, factor=4, tile=8, channels="rho+p")
    with pytest.raises(UserError, match="dim"):
        TileDataset([*sims_2d, sim_3d], factor=4, tile=4)
    with pytest.raises(IndexError):
        TileDataset(sims_2d, factor=4, tile=8, length=5)[5]
