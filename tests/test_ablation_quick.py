"""``benchmarks/ablation.py``: the variant table, the aggregation over seeds, the verdicts
on the paper's findings, and the whole study in its ``--quick`` mode (~45 s)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from scripts import load_script

from fluidgan.config import to_dict
from fluidgan.errors import UserError

ROOT = Path(__file__).resolve().parents[1]


ablation = load_script("ablation")


def flatten(data: dict, prefix: str = "") -> dict:
    out = {}
    for key, value in data.items():
        if isinstance(value, dict):
            out |= flatten(value, f"{prefix}{key}.")
        else:
            out[f"{prefix}{key}"] = value
    return out


# What each variant must change relative to the full model, and nothing else.
EXPECTED = {
    "ds_only": {"ablation.temporal": "off"},
    "ds_l2": {"ablation.temporal": "l2"},
    "dt_raw": {"ablation.advection": False},
    "lambda_f_0": {"loss.lambda_f": [0.0] * 4},
    "lambda_f_pos": {"loss.lambda_f": [1e-5] * 4},
    "rho": {"data.channels": "rho"},
    "rho_v_w": {"data.channels": "rho+v+w"},
    "no_augmentation": {"data.augmentation": False},
}


def test_each_variant_changes_exactly_its_switch():
    base = ablation.base_config("cpu_small2d", quick=False)
    names = list(ablation.VARIANTS)
    configs = ablation.variant_configs(base, names, [0, 1], 40)
    full = flatten(to_dict(configs["full", 0]))
    assert full["data.channels"] == "rho+v" and all(x < 0 for x in full["loss.lambda_f"])
    for name, changes in EXPECTED.items():
        for seed in (0, 1):
            mine = flatten(to_dict(configs[name, seed]))
            differs = {k: v for k, v in mine.items() if full.get(k) != v and k != "seed"}
            assert differs == changes, name
            assert mine["seed"] == seed and mine["iterations"] == 40
    # the preset's inputs are ρ+v: that variant is the full model and shares its runs
    plan = ablation.run_plan(configs)
    assert plan["rho_v", 1] == ("full", 1)
    assert all(plan[k] == k for k in configs if k[0] != "rho_v")


def test_the_full_variant_needs_a_negative_lambda_f():
    base = ablation.base_config("cpu_small2d", quick=False, sets=("loss.lambda_f=[0,0,0,0]",))
    with pytest.raises(UserError, match="λ_f < 0"):
        ablation.variant_configs(base, ["full"], [0], 10)
    with pytest.raises(UserError, match="unknown \\['nope'\\]"):
        ablation.parse_variants("full,nope")


def test_preset_falls_back_to_the_cpu_preset_only_without_fast2d():
    fast = (ROOT / "configs" / "train" / "fast2d.toml").is_file()
    assert ablation.choose_preset(None) == ("fast2d" if fast else "cpu_small2d")
    assert ablation.choose_preset("paper2d") == "paper2d"
    with pytest.raises(UserError, match="available"):
        ablation.choose_preset("nonsense")


def test_aggregate_is_mean_and_sample_std_over_seeds():
    two = ablation.aggregate([1.0, 3.0])
    assert two["mean"] == 2.0 and two["std"] == pytest.approx(math.sqrt(2)) and two["n"] == 2
    one = ablation.aggregate([5.0, float("nan"), None])
    assert one == {"mean": 5.0, "std": 0.0, "n": 1, "values": [5.0]}
    assert math.isnan(ablation.aggregate([None])["mean"])
    assert ablation.cell(two) == "2 ± 1.4" and ablation.cell(one) == "5"
    runs = [
        {"heldout": {"psnr": 20.0, "flicker_ratio": 1.5}, "training": {"d_t/real": 0.5}},
        {"heldout": {"psnr": 22.0, "flicker_ratio": 2.5}, "training": {"d_t/real": 0.7}},
    ]
    table = ablation.aggregate_variant(runs)
    assert table["psnr"]["mean"] == 21.0 and table["flicker_ratio"]["mean"] == 2.0
    assert table["d_t/real"]["mean"] == pytest.approx(0.6)
    assert table["lsd"]["n"] == 0  # missing everywhere: no value, not zero


def stats(mean: float, std: float, n: int = 2) -> dict:
    return {"mean": mean, "std": std, "n": n}


@pytest.mark.parametrize(
    "a, b, direction, word",
    [
        (stats(1.0, 0.1), stats(2.0, 0.1), "lower", "reproduced"),
        (stats(1.0, 0.5), stats(1.4, 0.5), "lower", "same direction, within the seed spread"),
        (stats(3.0, 0.1), stats(2.0, 0.1), "lower", "not reproduced (the opposite, beyond"),
        (stats(1.9, 0.5), stats(2.0, 0.5), "higher", "not reproduced (the opposite, within"),
        (stats(1.1, 0.0), stats(0.5, 0.0), "closer to 1", "reproduced"),
        (stats(1.0, 0.0), stats(1.001, 0.0), "lower", "no difference"),
        (stats(1.0, 0.0, 1), stats(2.0, 0.0, 1), "lower", "reproduced (one seed"),
    ],
)
def test_verdicts_compare_the_margin_with_the_seed_spread(a, b, direction, word):
    table = {"x": {"m": a}, "y": {"m": b}}
    assert ablation.verdict(table, "m", "x", "y", direction)["verdict"].startswith(word)
    assert ablation.verdict(table, "m", "x", "missing", direction)["verdict"] == "not run"


def test_markdown_tables_hold_every_variant_baseline_and_claim():
    metric_keys = [k for k, _, _ in ablation.heldout.METRICS]
    table = {
        "full": {k: stats(1.0, 0.1) for k in metric_keys},
        "ds_only": {k: stats(2.0, 0.2) for k in metric_keys},
    }
    results = {
        "study": {"preset": "p", "iterations": 9, "seeds": [0, 1], "test_command": "T"},
        "variants": {"full": {"label": "full model"}, "ds_only": {"label": "D_s only"}},
        "table": table,
        "baselines": {"cubic": {k: 0.5 for k in metric_keys}},
        "claims": [
            {
                "claim": "c",
                "metric": "flicker_ratio",
                "direction": "lower",
                "a_variant": "full",
                "b_variant": "ds_only",
                **ablation.verdict(table, "flicker_ratio", "full", "ds_only", "lower"),
            }
        ],
    }
    text = ablation.markdown_tables(results)
    assert "| full model | 1 ± 0.1 |" in text and "| D_s only | 2 ± 0.2 |" in text
    assert "| cubic interpolation | 0.5 |" in text
    assert "| c | flicker_ratio (lower) | full vs ds_only | 1 | 2 | reproduced |" in text
    assert "9 iterations per run" in text


def test_a_cached_score_is_used_only_when_it_has_every_column(tmp_path):
    heldout = ablation.heldout
    checkpoint = tmp_path / "ckpt.pt"
    checkpoint.write_bytes(b"weights")
    out = tmp_path / "heldout"
    full = {key: 1.0 for key, _, _ in heldout.METRICS}
    stamp = {"sha256": heldout.file_sha256(checkpoint), "keep_frames": None, "weights": "ema"}
    heldout.write_score(out, {**stamp, "mean": full})
    # cached: no held-out data is needed
    assert heldout.score_checkpoint(checkpoint, tmp_path / "none", out)["mean"] == full
    # a score written before a column existed is recomputed (here: no data to do it with)
    older = {k: v for k, v in full.items() if k != "smoke_detail_incoherence_ratio"}
    heldout.write_score(out, {**stamp, "mean": older})
    with pytest.raises(UserError, match="none: no such dataset directory"):
        heldout.score_checkpoint(checkpoint, tmp_path / "none", out)


def test_quick_study_runs_every_variant_and_resumes(tmp_path):
    out = tmp_path / "study"
    assert ablation.main(["--quick", "--out", str(out), "--device", "cpu"]) == 0
    results = json.loads((out / "results" / "ablation.json").read_text())
    assert set(results["table"]) == set(ablation.VARIANTS)
    for name, stats_ in results["table"].items():
        assert stats_["psnr"]["n"] == 1 and math.isfinite(stats_["psnr"]["mean"]), name
        assert stats_["flicker_ratio"]["mean"] > 0, name
        assert stats_["smoke_detail_incoherence_ratio"]["mean"] > 0, name
    assert results["study"]["iterations"] == 2
    assert len(results["claims"]) == len(ablation.CLAIMS)
    table = (out / "results" / "table.md").read_text()
    assert all(v.label in table for v in ablation.VARIANTS.values())
    for png in ("curves.png", "spectra.png", "time_strips.png", "strips/ds_only.png"):
        assert (out / "results" / png).stat().st_size > 1000, png
    # the same command again, two runs at a time (the process pool path): every run is
    # complete, every score cached, and each result lands under its own variant and seed
    checkpoint = out / "runs" / "full" / "seed0" / "checkpoints" / "ckpt_00000002.pt"
    stamp = checkpoint.stat().st_mtime_ns
    assert ablation.main(["--quick", "--out", str(out), "--device", "cpu", "--jobs", "2"]) == 0
    assert checkpoint.stat().st_mtime_ns == stamp
    again = json.loads((out / "results" / "ablation.json").read_text())
    assert again["table"] == results["table"]
