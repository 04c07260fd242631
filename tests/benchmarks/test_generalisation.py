"""``benchmarks/generalisation.py``: the scene variants, the model-vs-cubic verdicts, the
card section, the crop of the pictures, and (slow) the whole study on tiny scenes."""

from __future__ import annotations

import importlib.util
import json
import math
import sys
from pathlib import Path

import numpy as np
import pytest

from fluidgan.errors import UserError

ROOT = Path(__file__).resolve().parents[2]


def load_script():
    spec = importlib.util.spec_from_file_location(
        "generalisation", ROOT / "benchmarks" / "generalisation.py"
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules["generalisation"] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


gen = load_script()


# --------------------------------------------------------------------------- variants


@pytest.mark.parametrize("dim", [2, 3])
def test_every_variant_resolves_to_the_scene_it_names(dim):
    configs = {v.name: v.config() for v in gen.VARIANTS[dim]}
    plume = next(c for c in configs.values() if not c.scene.obstacles)
    for variant in gen.VARIANTS[dim]:
        scene = configs[variant.name].scene
        assert scene.dim == dim and scene.factor == 4
        assert scene.res == [variant.res] * dim and scene.frames == variant.frames
        assert scene.generator == "fixed"  # never the randomised training scene
    gravities = {n: c.scene.gravity[1] for n, c in configs.items()}
    base = plume.scene.gravity[1]
    assert base == pytest.approx(-2e-4)
    half = next(n for n in gravities if n.startswith("buoyancy_half"))
    double = next(n for n in gravities if n.startswith("buoyancy_double"))
    assert gravities[half] == pytest.approx(0.5 * base)
    assert gravities[double] == pytest.approx(2 * base)
    obstacle = next(n for n in configs if n.startswith("obstacle"))
    assert len(configs[obstacle].scene.obstacles) == 1
    assert sum(bool(c.scene.obstacles) for c in configs.values()) == 1


def test_the_2d_resolution_variant_doubles_the_low_res_grid_of_training():
    res512 = {v.name: v for v in gen.VARIANTS[2]}["res512"].config().scene
    assert res512.low_shape == (128, 128)  # smoke2d was trained on 64² inputs


def test_the_3d_128_variant_is_exactly_the_existing_plume_dataset():
    """data/plume3d is reused, so its variant must resolve to the config stored there."""
    from fluidgan.config import to_dict

    variant = {v.name: v for v in gen.VARIANTS[3]}["plume128"]
    manifest = ROOT / variant.data / "manifest.json"
    if not manifest.is_file():
        pytest.skip("data/plume3d not simulated here")
    assert json.loads(manifest.read_text())["config"] == to_dict(variant.config())


def test_a_changed_variant_gets_a_new_data_key_and_so_a_fresh_cache():
    base = gen.Variant("v", "v", "plume", 2, 32, 8)
    same = gen.Variant("v", "another title", "plume", 2, 32, 8)
    assert gen.data_key(base) == gen.data_key(same)  # only the simulation counts
    changed = [
        gen.Variant("v", "v", "plume", 2, 32, 9),
        gen.Variant("v", "v", "plume", 2, 32, 8, seed=3),
        gen.Variant("v", "v", "plume", 2, 32, 8, sets=(gen.gravity(2),)),
        gen.Variant("v", "v", "plume_obstacle", 2, 32, 8),
    ]
    keys = {gen.data_key(v) for v in changed}
    assert len(keys) == len(changed) and gen.data_key(base) not in keys
    assert gen.dataset_dir(base, Path("d")) == Path("d/2d") / f"v-{gen.data_key(base)}"


def test_pick_keeps_order_and_rejects_unknown_names():
    variants = gen.VARIANTS[2]
    assert [v.name for v in gen.pick(variants, "res512, plume")] == ["res512", "plume"]
    assert gen.pick(variants, None) == variants
    with pytest.raises(UserError, match="nope"):
        gen.pick(variants, "plume,nope")


# --------------------------------------------------------------------------- verdicts


def test_closer_follows_each_metrics_direction():
    assert gen.closer(30.0, 29.0, "↑") and not gen.closer(29.0, 30.0, "↑")
    assert gen.closer(1.0, 2.0, "↓") and not gen.closer(2.0, 1.0, "↓")
    # →1 by the factor away from 1: |ln 0.8| = 0.22 < |ln 1.5| = 0.41 although
    # |0.8 - 1| < |1.5 - 1| would agree, |ln 0.6| = 0.51 > |ln 1.5| where |x - 1| would not
    assert gen.closer(0.8, 1.5, "→1")
    assert gen.closer(1.5, 0.6, "→1") and not gen.closer(0.6, 1.5, "→1")
    assert not gen.closer(0.5, 2.0, "→1") and not gen.closer(2.0, 0.5, "→1")
    assert gen.closer(1.0, math.nan, "↑") and not gen.closer(math.nan, 1.0, "↑")


def test_table_cells_are_model_over_cubic_with_the_better_one_bold():
    keys = [key for key, _, _ in gen.heldout.METRICS]
    model = dict.fromkeys(keys, 1.0) | {"psnr": 25.0, "lsd": 2.0}
    cubic = dict.fromkeys(keys, 1.0) | {"psnr": 27.0, "lsd": 9.0, "hf_energy_fraction": 0.2}
    row = {"title": "a scene", "grid": "8² / 2²", "frames": 3, "model": model, "cubic": cubic}
    table = gen.markdown_table({"a": row})
    head, _, line = table.split("\n")
    cells = [c.strip() for c in line.strip("|").split("|")]
    header = [c.strip() for c in head.strip("|").split("|")]
    assert cells[header.index("PSNR dB ↑")] == "25 / **27**"
    assert cells[header.index("LSD dB ↓")] == "**2** / 9"
    assert cells[header.index("HF energy →1")] == "**1** / 0.2"
    assert cells[header.index("SSIM ↑")] == "1 / 1"  # a tie: nothing bold
    assert set(gen.wins(row)) == {"lsd", "hf_energy_fraction"}
    assert cells[-1] == f"2 of {len(keys)}"


def test_summary_groups_metrics_by_how_many_scenes_the_model_wins():
    rows = {"a": {"wins": ["lsd", "psnr"]}, "b": {"wins": ["lsd"]}}
    text = gen.summary(rows)
    assert text.startswith("Better than cubic: in every scene on LSD dB; in some scenes on ")
    some = text.split("in some scenes on ")[1].split(";")[0]
    assert some == "PSNR dB"
    none = text.split("in none on ")[1].rstrip(".").split(", ")
    assert len(none) == len(gen.heldout.METRICS) - 2 and "SSIM" in none


# --------------------------------------------------------------------------- card, crop


CARD = "# Model card\n\nintro\n\n## Held-out metrics\n\ntable\n\n## Config\n\ntoml\n"


def test_the_section_goes_before_config_and_is_replaced_not_repeated():
    first = gen.replace_section(CARD, "## Generalisation\n\nold table")
    assert first.index("## Generalisation") < first.index("## Config")
    second = gen.replace_section(first, "## Generalisation\n\nnew table")
    assert second.count("## Generalisation") == 1
    assert "new table" in second and "old table" not in second
    assert second.replace("new table", "old table") == first
    assert gen.replace_section(second, "## Generalisation\n\nnew table") == second
    last = gen.replace_section("# card\n\ntext\n", "## Generalisation\n\nx")
    assert last.endswith("## Generalisation\n\nx\n")


def test_smoke_box_holds_all_smoke_on_whole_low_res_cells():
    high = np.zeros((32, 48), np.float32)
    high[5:9, 20:31] = 0.5
    box = gen.smoke_box(high, factor=4, margin=2)
    assert box == (slice(0, 12), slice(16, 36))  # 5-2=3 -> 0, 9+2=11 -> 12; 18 -> 16, 33 -> 36
    assert high[box].sum() == high.sum()
    assert gen.smoke_box(np.zeros((8, 8)), 4) == (slice(0, 8), slice(0, 8))


@pytest.mark.parametrize("dim", [2, 3])
def test_picture_of_a_kept_frame_is_a_small_png(tmp_path, dim):
    rng = np.random.default_rng(0)
    high = np.zeros((1,) + (32,) * dim, np.float32)
    high[(0, *(slice(8, 20),) * dim)] = rng.random((12,) * dim)
    low = high[0].reshape(sum(((8, 4),) * dim, ())).mean(axis=tuple(range(1, 2 * dim, 2)))
    frames = tmp_path / "frames.npz"
    np.savez(frames, sr=high * 0.9, high=high, low=low[None], time=np.array([7.5]))
    path = gen.picture(frames, tmp_path / "p.png", "a scene", "model")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert 1000 < path.stat().st_size < gen.MAX_PNG_BYTES


# --------------------------------------------------------------------------- end to end


def pooled_psnr(predicted: np.ndarray, reference: np.ndarray) -> float:
    mse = float(np.mean((predicted.astype(np.float64) - reference) ** 2))
    return 10 * math.log10(1.0 / mse)


@pytest.mark.slow
def test_tiny_study_end_to_end(tmp_path):
    """Two 32² scenes of 8 frames: the table has a row per scene with model and cubic
    numbers that agree with an independent upscaling and cubic interpolation; a rerun
    simulates nothing; the card section links the pictures it copied."""
    from fluidgan.evaluation.baselines import upsample
    from fluidgan.io.simfile import open_sim
    from pipelines.upscale import upscale

    variants = (
        gen.Variant("tiny", "tiny plume", "plume", 2, 32, 8),
        gen.Variant("tiny_obstacle", "tiny obstacle", "plume_obstacle", 2, 32, 8),
    )
    out, data = tmp_path / "out", tmp_path / "data"
    result = gen.run("pretrained:smoke2d", variants, out, data, log=lambda _: None)
    assert list(result["scenes"]) == ["tiny", "tiny_obstacle"]
    table = (out / f"smoke2d-{result['sha256'][:12]}" / "generalisation.md").read_text()
    rows = [line for line in table.split("\n") if line.startswith("| tiny")]
    assert [r.split("|")[1].strip() for r in rows] == ["tiny plume", "tiny obstacle"]
    assert all(" / " in cell for cell in rows[0].split("|")[4:-2])
    saved = json.loads(
        (out / f"smoke2d-{result['sha256'][:12]}" / "generalisation.json").read_text()
    )
    assert saved["scenes"]["tiny"]["model"] == pytest.approx(result["scenes"]["tiny"]["model"])

    sim = gen.dataset_dir(variants[0], data) / "sim_00000.h5"
    assert sim.parent.parent == data / "2d" and sim.parent.name.startswith("tiny-")
    with open_sim(sim) as f:
        low, high = f["low/density"][:], f["high/density"][:]
    cubic = upsample(low, 4, "cubic", axes=(1, 2))
    row = result["scenes"]["tiny"]
    assert row["cubic"]["psnr"] == pytest.approx(pooled_psnr(cubic, high), abs=1e-3)
    upscale("pretrained:smoke2d", sim, tmp_path / "sr.h5")
    with open_sim(tmp_path / "sr.h5") as f:
        sr = f["sr/density"][:]
    assert row["model"]["psnr"] == pytest.approx(pooled_psnr(sr, high), abs=1e-3)
    assert row["model"]["psnr"] != pytest.approx(row["cubic"]["psnr"], abs=1e-3)

    mtime = sim.stat().st_mtime_ns
    again = gen.run("pretrained:smoke2d", variants, out, data, log=lambda _: None)
    assert sim.stat().st_mtime_ns == mtime
    assert again["scenes"]["tiny"]["seconds"]["simulate"] == 0.0
    assert again["scenes"]["tiny"]["model"] == row["model"]

    card = tmp_path / "card" / "smoke2d.md"
    card.parent.mkdir()
    card.write_text(CARD)
    images = tmp_path / "img"
    pictures = gen.write_card(result, card, images)
    assert [p.name for p in pictures] == ["smoke2d_tiny.png", "smoke2d_tiny_obstacle.png"]
    for p in pictures:
        assert p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and p.stat().st_size < 300_000
    text = card.read_text()
    assert "(../img/smoke2d_tiny.png)" in text and text.count("## Generalisation") == 1
