"""``fluidgan import mantaflow``, ``upscale --input DIR`` and ``export uni`` as a user runs
them: tempoGAN-layout directories written with our .uni writer, converted by value,
trained on, upscaled, exported and read back; bad directories are one-line errors."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import numpy as np
import pytest
import tomli_w
import torch
from cli_checks import cli, one_line_error

from fluidgan.io.simfile import open_sim, read_sim
from fluidgan.io.uni import read_uni, to_grid_layout, write_uni
from solvers.lowres import derive_low

LOW, FACTOR, FRAMES = (16, 12), 4, 6  # low-res (x, y): non-square
TINY = {  # a training run of seconds (as tests/train)
    "iterations": 2,
    "batch_size": 4,
    "seed": 3,
    "checkpoint_every": 2,
    "preview_every": 2,
    "preview_samples": 1,
    "validation_samples": 2,
    "tensorboard": False,
    "deterministic": True,
    "data": {"tile": 8, "channels": "rho+v", "workers": 0, "val_fraction": 0.5},
    "model": {
        "generator_widths": [[4, 8], [8, 8], [4, 4], [2, 1]],
        "discriminator_widths": [4, 8, 8, 8],
    },
}




def density(nx: int, ny: int, t: int, seed: int) -> np.ndarray:
    """(1, ny, nx) smooth blobs drifting with t: mantaflow's 2D layout."""
    rng = np.random.default_rng(seed)
    y, x = np.meshgrid((np.arange(ny) + 0.5) / ny, (np.arange(nx) + 0.5) / nx, indexing="ij")
    out = np.zeros((ny, nx))
    for _ in range(3):
        cx, cy, w = rng.uniform(0.3, 0.7), rng.uniform(0.3, 0.7), rng.uniform(0.1, 0.2)
        out += np.exp(-((x - cx - 0.01 * t) ** 2 + (y - cy) ** 2) / (2 * w**2))
    return (out / out.max())[None].astype(np.float32)


def mac_velocity(nx: int, ny: int, scale: float) -> np.ndarray:
    """A known MAC field (1, ny, nx, 3), cells per mantaflow time unit, on the faces:
    u_x(face i, j) = scale·(i/nx)², u_y(i, face j) = scale·(0.5 j/ny + 0.2 i/nx)."""
    j, i = np.meshgrid(np.arange(ny), np.arange(nx), indexing="ij")
    mac = np.zeros((1, ny, nx, 3), np.float32)
    mac[0, ..., 0] = scale * (i / nx) ** 2
    mac[0, ..., 1] = scale * (0.5 * j / ny + 0.2 * i / nx)
    return mac


def centred_by_hand(nx: int, ny: int, scale: float) -> np.ndarray:
    """The cell-centred (ny, nx, 2) of :func:`mac_velocity`, from the formulas: the mean of
    the two faces of a cell, the last cell (upper face not stored) its lower face."""
    out = np.zeros((ny, nx, 2))
    for j in range(ny):
        for i in range(nx):
            ux = [scale * (f / nx) ** 2 for f in (i, min(i + 1, nx - 1))]
            uy = [scale * (0.5 * f / ny + 0.2 * i / nx) for f in (j, min(j + 1, ny - 1))]
            out[j, i] = (np.mean(ux), np.mean(uy))
    return out


def write_sim_dir(
    root: Path,
    seed: int,
    frames=range(FRAMES),
    low=LOW,
    high=None,
    single: bool = False,
) -> Path:
    """One directory of tempoGAN-layout frames (or density_NNNN.uni when ``single``)."""
    root.mkdir(parents=True, exist_ok=True)
    high = high or (low[0] * FACTOR, low[1] * FACTOR)
    grids = {"high": high} if single else {"low": low, "high": high}
    for t in frames:
        for res, (nx, ny) in grids.items():
            tag = "" if single else f"{res}_"
            scale = 0.5 if res == "low" else 0.5 * FACTOR
            write_uni(root / f"density_{tag}{t:04d}.uni", density(nx, ny, t, seed))
            write_uni(root / f"velocity_{tag}{t:04d}.uni", mac_velocity(nx, ny, scale), "mac")
    return root


@pytest.fixture(scope="module")
def source(tmp_path_factory) -> Path:
    """tempoGAN's generator layout: sim_0000/, sim_0001/ with four files per frame."""
    src = tmp_path_factory.mktemp("tempogan") / "data"
    write_sim_dir(src / "sim_0000", seed=1)
    write_sim_dir(src / "sim_0001", seed=2)
    (src / "sim_0001" / "description.json").write_text("{}")  # other files are ignored
    return src


@pytest.fixture(scope="module")
def trained(source, tmp_path_factory) -> dict:
    """The source imported (dt = 1) and trained on for 2 iterations."""
    d = tmp_path_factory.mktemp("chain")
    config = d / "tiny.toml"
    config.write_text(tomli_w.dumps(TINY))
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        assert cli("import", "mantaflow", source, "--out", d / "ds", "-q") == 0
        args = ("--data", d / "ds", "--out", d / "run", "--config", config, "--device", "cpu")
        assert cli("train", *args, "-q") == 0
    finally:
        torch.set_num_threads(threads)
    return {"dir": d, "dataset": d / "ds", "run": d / "run"}


# --------------------------------------------------------------------------- import


def test_import_writes_the_simulate_schema(trained, source, capsys):
    ds = trained["dataset"]
    manifest = json.loads((ds / "manifest.json").read_text())
    assert [s["file"] for s in manifest["sims"]] == ["sim_00000.h5", "sim_00001.h5"]
    assert all(s["status"] == "complete" and s["frames"] == FRAMES for s in manifest["sims"])
    assert (manifest["dim"], manifest["factor"]) == (2, FACTOR)
    assert manifest["sims"][1]["source"] == str(source / "sim_0001")
    for k, sim_dir in enumerate(("sim_0000", "sim_0001")):
        with open_sim(ds / f"sim_{k:05d}.h5") as f:  # the schema check of simulation files
            assert f["low/density"].shape == (FRAMES, LOW[1], LOW[0])
            assert f["high/velocity"].shape == (FRAMES, LOW[1] * 4, LOW[0] * 4, 2)
            assert (f.attrs["dim"], f.attrs["factor"], f.attrs["dt"]) == (2, 4, 1.0)
            np.testing.assert_array_equal(f["time"][:], np.arange(FRAMES))
            for res in ("low", "high"):
                for t in (0, FRAMES - 1):
                    written = read_uni(source / sim_dir / f"density_{res}_{t:04d}.uni").data
                    np.testing.assert_array_equal(f[f"{res}/density"][t], written[0])
    assert cli("info", ds) == 0
    out = capsys.readouterr().out
    assert "mantaflow" in out and "factor: 4" in out


def test_velocity_is_centred_and_in_cells_per_frame(source, tmp_path):
    """--dt 0.5: every velocity is the hand-averaged MAC field × 0.5, by value."""
    out = tmp_path / "ds"
    assert cli("import", "mantaflow", source / "sim_0000", "--out", out, "--dt", "0.5", "-q") == 0
    sim = read_sim(out / "sim_00000.h5")
    assert sim["meta"].dt == 0.5
    np.testing.assert_array_equal(sim["time"], 0.5 * np.arange(FRAMES))
    for res, (nx, ny), scale in (("low", LOW, 0.5), ("high", (64, 48), 0.5 * FACTOR)):
        expected = 0.5 * centred_by_hand(nx, ny, scale)
        for t in (0, 3):
            np.testing.assert_allclose(sim[f"{res}/velocity"][t], expected, rtol=1e-6, atol=1e-7)
    # the MAC values themselves would be wrong: the averaging is there
    mac = read_uni(source / "sim_0000" / "velocity_low_0000.uni").data[0, ..., :2]
    assert np.abs(0.5 * mac - sim["low/velocity"][0]).max() > 1e-3


def test_3d_non_cubic_import_by_value(tmp_path):
    """3D, (x, y, z) = (5, 6, 4) low, factor 2: u_c = a_c · (face index along axis c),
    so the centred value is a_c (i + ½), and a_c (N − 1) in the last cell."""
    src = tmp_path / "sim3d"
    slopes = (0.1, -0.2, 0.05)
    for t in range(3):
        for res, (nx, ny, nz) in (("low", (5, 6, 4)), ("high", (10, 12, 8))):
            z, y, x = np.meshgrid(np.arange(nz), np.arange(ny), np.arange(nx), indexing="ij")
            mac = np.stack([a * i for a, i in zip(slopes, (x, y, z))], axis=-1)
            write_uni(src / f"velocity_{res}_{t:04d}.uni", mac.astype(np.float32), "mac")
            write_uni(src / f"density_{res}_{t:04d}.uni", (x + 10 * y + 100 * z + t) * 1e-3)
    assert cli("import", "mantaflow", src, "--out", tmp_path / "ds", "--dt", "2", "-q") == 0
    sim = read_sim(tmp_path / "ds" / "sim_00000.h5")
    assert sim["meta"].dim == 3 and sim["meta"].factor == 2
    assert sim["low/velocity"].shape == (3, 4, 6, 5, 3)  # (T, Z, Y, X, 3)
    z, y, x = np.meshgrid(np.arange(4), np.arange(6), np.arange(5), indexing="ij")
    np.testing.assert_allclose(sim["low/density"][2], (x + 10 * y + 100 * z + 2) * 1e-3)
    for c, (a, i, n) in enumerate(zip(slopes, (x, y, z), (5, 6, 4))):
        expected = 2 * a * np.where(i < n - 1, i + 0.5, n - 1)
        np.testing.assert_allclose(sim["low/velocity"][1][..., c], expected, rtol=1e-6)


def test_single_resolution_sequence_derives_low_res(tmp_path, capsys):
    src = write_sim_dir(tmp_path / "single", seed=5, low=(8, 6), single=True)
    out = tmp_path / "ds"
    args = ("--out", out, "--frames", "1:4", "--dt", "2", "-q")
    assert cli("import", "mantaflow", src, *args) == 0
    sim = read_sim(out / "sim_00000.h5")
    assert sim["high/density"].shape == (3, 24, 32) and sim["low/density"].shape == (3, 6, 8)
    np.testing.assert_array_equal(sim["time"], [2.0, 4.0, 6.0])
    for k in range(3):
        low_d, low_v = derive_low(sim["high/density"][k], sim["high/velocity"][k], 4)
        np.testing.assert_array_equal(sim["low/density"][k], low_d)
        np.testing.assert_array_equal(sim["low/velocity"][k], low_v)
    # a factor that does not divide the grid is refused
    args = ("--out", tmp_path / "ds3", "--factor", "5")
    assert cli("import", "mantaflow", src, *args) == 2
    one_line_error(capsys, "density_0000.uni", "32x24", "factor 5")


# --------------------------------------------------------------------------- train, upscale


def test_upscale_the_dataset_and_the_directory_alike(trained, source, tmp_path):
    run, ds = trained["run"], trained["dataset"]
    assert sorted(p.name for p in (run / "checkpoints").glob("*.pt"))  # trained
    a, b = tmp_path / "from_h5.h5", tmp_path / "from_dir.h5"
    assert (
        cli("upscale", "--checkpoint", run, "--input", ds / "sim_00000.h5", "--out", a, "-q") == 0
    )
    assert (
        cli("upscale", "--checkpoint", run, "--input", source / "sim_0000", "--out", b, "-q") == 0
    )
    up_a, up_b = (read_sim(p, ("high", "low", "sr")) for p in (a, b))
    assert up_b["sr/density"].shape == (FRAMES, 48, 64)
    for key in ("low/density", "low/velocity", "high/density", "high/velocity", "sr/density"):
        np.testing.assert_array_equal(up_a[key], up_b[key], err_msg=key)
    np.testing.assert_array_equal(up_b["time"], np.arange(FRAMES))
    # and the upscaled file goes back to mantaflow
    out = tmp_path / "uni"
    assert cli("export", "uni", b, "--out", out, "--group", "sr", "-q") == 0
    files = sorted(p.name for p in out.glob("*.uni"))
    assert files[0] == "density_sr_0000.uni" and len(files) == 2 * FRAMES
    sr = read_uni(out / "density_sr_0003.uni")
    assert sr.header.size == (64, 48, 1) and sr.header.kind == "real"
    np.testing.assert_array_equal(sr.data[0], up_b["sr/density"][3])


def test_low_res_only_directory_upscales(trained, tmp_path):
    src = tmp_path / "coarse"
    for t in range(3):
        write_uni(src / f"density_low_{t:04d}.uni", density(*LOW, t, 7))
        write_uni(src / f"velocity_low_{t:04d}.uni", mac_velocity(*LOW, 0.5), "mac")
    out = tmp_path / "up.h5"
    assert cli("upscale", "--checkpoint", trained["run"], "--input", src, "--out", out, "-q") == 0
    up = read_sim(out, ("low", "sr"))
    assert up["sr/density"].shape == (3, 48, 64)
    with open_sim(out) as f:
        assert "high" not in f


# --------------------------------------------------------------------------- export uni


def test_export_uni_then_import_gives_the_file_back(trained, tmp_path):
    sim_path = trained["dataset"] / "sim_00001.h5"
    sim = read_sim(sim_path)
    # cell-centred Vec3 grids: exact round trip, velocity through mantaflow units (/ dt)
    out = tmp_path / "centred"
    args = ("--out", out, "--group", "low,high", "--velocity", "centred", "--dt", "0.25", "-q")
    assert cli("export", "uni", sim_path, *args) == 0
    v = read_uni(out / "velocity_high_0002.uni")
    assert v.header.kind == "vec3"
    np.testing.assert_allclose(v.data, to_grid_layout(sim["high/velocity"][2], 2) / 0.25)
    assert (out / "export.config.toml").is_file()
    back = tmp_path / "back"
    assert cli("import", "mantaflow", out, "--out", back, "--dt", "0.25", "-q") == 0
    again = read_sim(back / "sim_00000.h5")
    for key in ("low/density", "high/density"):
        np.testing.assert_array_equal(again[key], sim[key])
    for key in ("low/velocity", "high/velocity"):
        np.testing.assert_allclose(again[key], sim[key], rtol=1e-6, atol=1e-7)


def test_export_uni_mac_grids_hold_face_values(tmp_path):
    """A linear cell-centred field: its faces are half-way between the centres."""
    from fluidgan.io.simfile import SimMeta, SimWriter

    ny, nx = 6, 10
    y, x = np.meshgrid(np.arange(ny), np.arange(nx), indexing="ij")
    vel = np.stack([0.1 * x + 0.02 * y, -0.05 * y], axis=-1).astype(np.float32)
    path = tmp_path / "lin.h5"
    with SimWriter(path, SimMeta(2, 2, 0.5, 0), 1, (ny, nx), (ny // 2, nx // 2)) as w:
        w.write_frame(
            0.5,
            **{
                "high/density": np.ones((ny, nx), np.float32),
                "high/velocity": vel,
                "low/density": np.ones((ny // 2, nx // 2), np.float32),
                "low/velocity": vel[::2, ::2] / 2,
            },
        )
    assert cli("export", "uni", path, "--out", tmp_path / "u", "--group", "high", "-q") == 0
    mac = read_uni(tmp_path / "u" / "velocity_high_0000.uni")
    assert mac.header.kind == "mac" and mac.header.size == (nx, ny, 1)
    face_x = (0.1 * (x - 0.5) + 0.02 * y) / 0.5  # the file's dt = 0.5 per frame
    face_y = -0.05 * (y - 0.5) / 0.5
    np.testing.assert_allclose(mac.data[0, :, 1:, 0], face_x[:, 1:], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(mac.data[0, 1:, :, 1], face_y[1:], rtol=1e-5, atol=1e-6)
    assert not mac.data[..., 2].any()


# --------------------------------------------------------------------------- bad input


def damage(path: Path, how: str) -> None:
    raw = gzip.decompress(path.read_bytes())
    if how == "magic":
        raw = b"NOPE" + raw[4:]
    elif how == "truncate":
        raw = raw[: len(raw) // 2]
    path.write_bytes(gzip.compress(raw))


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("magic", "magic b'NOPE'"),
        ("truncate", "truncated file"),
        ("sizes", "is not an integer multiple"),
        ("missing", "missing"),
        ("gap", "frame numbers jump from 2 to 4"),
        ("kind", "velocity must be a vec3 or mac grid"),
        ("low only", "low-res frames only"),
        ("velocity size", "is not the size of density_low_0000.uni"),
    ],
)
def test_bad_directories_are_one_line_errors(tmp_path, capsys, case, message):
    sim = write_sim_dir(tmp_path / "src" / "sim_0000", seed=3, frames=range(4))
    bad = {
        "magic": sim / "density_high_0003.uni",
        "truncate": sim / "velocity_low_0002.uni",
        "sizes": sim / "density_high_0000.uni",
        "missing": sim / "velocity_high_0001.uni",
        "gap": sim / "density_low_0003.uni",
        "kind": sim / "velocity_low_0001.uni",
        "low only": sim,
        "velocity size": sim / "velocity_low_0000.uni",
    }[case]
    if case in ("magic", "truncate"):
        damage(bad, case)
    elif case == "sizes":  # mantaflow-style mismatch: high 60x48 for low 16x12
        for t in range(4):
            write_uni(sim / f"density_high_{t:04d}.uni", density(60, 48, t, 3))
            write_uni(sim / f"velocity_high_{t:04d}.uni", mac_velocity(60, 48, 1.0), "mac")
    elif case == "missing":
        bad.unlink()
    elif case == "gap":
        for name in ("density_low", "velocity_low", "density_high", "velocity_high"):
            (sim / f"{name}_0003.uni").rename(sim / f"{name}_0004.uni")
        bad = sim / "density_low_0003.uni"
    elif case == "kind":
        write_uni(bad, density(*LOW, 1, 3))
    elif case == "low only":
        for p in sim.glob("*_high_*.uni"):
            p.unlink()
    elif case == "velocity size":  # a 3D velocity (z = 2) beside 2D density
        for t in range(4):
            write_uni(sim / f"velocity_low_{t:04d}.uni", np.zeros((2, 12, 16, 3)), "mac")
    out = tmp_path / "ds"
    if case == "magic":
        # the header of every file is checked before anything is written
        assert cli("import", "mantaflow", tmp_path / "src", "--out", out, "-q") == 2
        one_line_error(capsys, bad, message)
        assert not out.exists()
        return
    code = cli("import", "mantaflow", tmp_path / "src", "--out", out, "-q")
    if case == "truncate":  # only the data is short: found when the frame is read
        assert code == 2 and not list(out.glob("*.h5"))
    assert code == 2
    one_line_error(capsys, bad, message)


def test_existing_output_and_bad_options(source, tmp_path, capsys):
    out = tmp_path / "ds"
    out.mkdir()
    (out / "mine.txt").write_text("keep")
    assert cli("import", "mantaflow", source, "--out", out) == 2
    one_line_error(capsys, out, "--overwrite")
    assert cli("import", "mantaflow", source, "--out", out, "--overwrite") == 2
    one_line_error(capsys, out, "not a fluidgan dataset")
    assert (out / "mine.txt").read_text() == "keep"
    assert cli("import", "mantaflow", tmp_path / "none", "--out", tmp_path / "x") == 2
    one_line_error(capsys, "none", "no such directory")
    assert cli("import", "mantaflow", source, "--out", tmp_path / "y", "--dt", "-1") == 2
    one_line_error(capsys, "dt")
    assert cli("import", "mantaflow", source, "--out", tmp_path / "z", "--frames", "9:") == 2
    one_line_error(capsys, "--frames")


def test_upscale_a_directory_of_simulations_says_pick_one(trained, source, tmp_path, capsys):
    args = ("--checkpoint", trained["run"], "--input", source, "--out", tmp_path / "o.h5")
    assert cli("upscale", *args) == 2
    one_line_error(capsys, source, "sim_0000")
