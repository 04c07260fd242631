"""benchmarks/gan_dynamics.py --plot: existing runs' logs overlaid, without training."""

from __future__ import annotations

import json

import pytest

from tests.scripts import load_script


@pytest.fixture(scope="module")
def dynamics():
    return load_script("gan_dynamics")


def write_log(folder, rows):
    folder.mkdir()
    (folder / "log.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n")


def test_plot_overlays_each_runs_logged_keys_and_trains_nothing(dynamics, tmp_path, monkeypatch):
    monkeypatch.setattr(dynamics.trainer, "train", lambda *a, **k: pytest.fail("trained"))
    write_log(
        tmp_path / "began_seed0",
        [
            {"iteration": 25, "k": 0.015, "M": 0.25, "d/adv": 0.2},
            {"iteration": 50, "k": 0.031, "M": 0.19, "d/adv": 0.1},
            {"iteration": 50, "metrics": {"fid_domain": 80.5}},
        ],
    )
    write_log(tmp_path / "began_seed1", [{"iteration": 25, "k": 0.02, "M": 0.3}])
    figure = tmp_path / "fig" / "control.png"
    runs = [str(tmp_path / "began_seed0"), str(tmp_path / "began_seed1")]
    drawn = dynamics.main(["--plot", *runs, "--keys", "M,k,nope", "--figure", str(figure)])
    assert figure.stat().st_size > 0
    assert list(drawn) == ["M", "k"]  # in --keys order; a key nobody logged is left out
    assert drawn["k"]["began_seed0"] == ((25, 50), (0.015, 0.031))
    assert drawn["M"]["began_seed1"] == ((25,), (0.3,))
    everything = dynamics.main(["--plot", runs[0], "--figure", str(figure)])
    assert everything["metrics/fid_domain"]["began_seed0"] == ((50,), (80.5,))
    assert sorted(everything) == ["M", "d/adv", "k", "metrics/fid_domain"]


def test_plot_of_a_folder_without_a_log_is_one_line(dynamics, tmp_path, capsys):
    code = dynamics.exit_status(lambda: dynamics.main(["--plot", str(tmp_path / "gone")]))
    assert code == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "gone/log.jsonl" in err and "\n" not in err
