"""The leaderboard's convergence protocol: the plateau rule by hand, and a --quick run
that writes curves, the table and its samples."""

from __future__ import annotations

import importlib.util
import json
import shutil
import sys
from types import SimpleNamespace

import pytest
import torch

from fluidgan.config import CONFIG_DIR


@pytest.fixture
def board(monkeypatch):
    path = CONFIG_DIR.parent / "benchmarks" / "gan_leaderboard.py"
    spec = importlib.util.spec_from_file_location("gan_leaderboard", path)
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "gan_leaderboard", module)  # dataclasses look it up
    spec.loader.exec_module(module)
    return module


def record_training(board, monkeypatch) -> list[tuple[int, bool]]:
    """From now on every ``trainer.train`` call of the protocol is recorded as
    (iterations, resume) in the returned list, and still trains."""
    trained, train = [], board.trainer.train

    def recording(cfg, out, iterations=None, resume=False, **kw):
        trained.append((iterations, resume))
        return train(cfg, out, iterations=iterations, resume=resume, **kw)

    monkeypatch.setattr(board.trainer, "train", recording)
    return trained


def test_plateau_rule(board):
    falling = [400.0, 200.0, 100.0, 60.0]
    assert not board.plateaued(falling, patience=2, tol=0.05)  # 60 < 0.95 * 200
    flat = [400.0, 100.0, 98.0, 97.0]  # best of the last 2 (97) vs best before (100): 3 %
    assert board.plateaued(flat, patience=2, tol=0.05)
    assert not board.plateaued(flat, patience=2, tol=0.02)
    assert not board.plateaued([100.0, 101.0], patience=2, tol=0.05)  # too few points
    worse = [100.0, 120.0, 130.0]
    assert board.plateaued(worse, patience=2, tol=0.0)


def test_quick_convergence_run_writes_curves_and_the_table(board, tmp_path):
    docs = tmp_path / "docs"
    args = ["--converge", "--quick", "--variants", "mmgan", "--seeds", "0,1"]
    board.main([*args, "--runs", str(tmp_path / "runs"), "--docs", str(docs)])
    saved = json.loads((docs / "gan" / "convergence.json").read_text())
    curves = saved["curves"]
    assert [c["seed"] for c in curves] == [0, 1]
    for c in curves:
        assert c["iterations"][0] == 2 and c["iterations"][-1] <= 6
        assert len(c["fid"]) == len(c["iterations"]) and all(f > 0 for f in c["fid"])
        assert c["status"] in ("plateau", "max_iterations")
        stopped_early = c["iterations"][-1] < 6
        assert stopped_early == (c["status"] == "plateau")
    assert (docs / "gan" / "converged" / "curves.png").is_file()
    assert (docs / "gan" / "converged" / "mmgan.png").is_file()
    lines = board.convergence_lines(saved)
    row = next(line for line in lines if line.startswith("| mmgan |"))
    assert "| 2 |" in row and "±" in row
    assert {c["classifier"] for c in curves} == {board.classifier_identity("digits")}
    assert saved["settings"]["classifier"] == board.classifier_identity("digits")
    assert not any("same `domain:digits` weights" in line for line in lines)
    refs = {r["name"]: r["metrics"] for r in saved["references"]}  # N real images
    assert set(refs) == {"real digits", "real domain B"}
    assert all(m["n"] == 40 for m in refs.values())
    speckle = min(c["fid"][-1] for c in curves)  # 6 iterations of a GAN
    assert 0 < refs["real digits"]["fid_domain"] < speckle / 5
    header = next(line for line in lines if line.startswith("| variant |"))
    row = next(line for line in lines if line.startswith("| real digits (N = 40) |"))
    cells = dict(zip(header.split("|"), row.split("|"), strict=True))
    assert cells[" FID_domain ↓ "].strip() == f"{refs['real digits']['fid_domain']:.2f}"
    assert cells[" IS_domain ↑ "].strip() == f"{refs['real digits']['is_domain']:.2f}"
    assert cells[" status "].strip() == "reference"


def test_references_fill_in_saved_results_of_the_same_protocol(board, tmp_path, capsys):
    docs, runs = tmp_path / "docs", tmp_path / "runs"
    args = ["--converge", "--quick", "--runs", str(runs), "--docs", str(docs)]
    with pytest.raises(board.UserError, match="no results yet"):
        board.main([*args, "--references"])
    board.main([*args, "--variants", "mmgan", "--seeds", "0"])
    path = docs / "gan" / "convergence.json"
    saved = json.loads(path.read_text())
    del saved["references"]  # results written before the rows existed
    path.write_text(json.dumps(saved))
    board.main([*args, "--references"])
    filled = json.loads(path.read_text())
    assert filled["curves"] == saved["curves"]  # nothing retrained or lost
    assert [r["name"] for r in filled["references"]] == ["real digits", "real domain B"]
    with pytest.raises(board.UserError, match="--n 40"):  # another N: refused
        board.main([*args, "--references", "--n", "50"])


def test_smoke_references_are_the_frames_and_the_inverted_frames(board):
    args = SimpleNamespace(n=800, seed=0, inception=False)
    rows = board.reference_rows(args, board.PROTOCOL_DATA.get("smoke"))
    assert [(r.name, r.metrics["n"]) for r in rows] == [
        ("real frames", 224),  # half of the 448 reference frames against the other half
        ("real inverted frames", 112),  # domain B: 224 inverted frames
    ]
    assert rows[1].metrics["is_domain"] == pytest.approx(1.0, abs=0.01)  # one class
    args = SimpleNamespace(cpu_seconds=1.0, n=8, seed=0, inception=False)
    args.data = board.PROTOCOL_DATA.get("smoke")  # its results name its own classifier
    smoke = board.settings(args, 0.0)["classifier"]
    assert smoke == board.classifier_identity("smoke") != board.classifier_identity("digits")


def test_caps_per_variant(board):
    assert board.parse_caps("1500,cgan=6000, mmgan=3000") == {
        "": 1500,
        "cgan": 6000,
        "mmgan": 3000,
    }
    assert board.caps_text({"": 1500, "mmgan": 3000, "cgan": 6000}) == "1500,cgan=6000,mmgan=3000"
    for bad in ("cgan=6000", "1500,cgan=x", "many"):
        with pytest.raises(board.UserError, match="--max-iterations"):
            board.parse_caps(bad)
    with pytest.raises(board.UserError, match="--min-iterations"):
        board.parse_caps("cgan=900", "--min-iterations")


def test_extend_continues_a_capped_curve_as_a_fresh_run_with_the_higher_cap(
    board, tmp_path, monkeypatch
):
    """Cap 4 then --extend to 8 gives the curve (iterations and FIDs) of a fresh run with
    cap 8: the checkpoint resumes exactly and nothing is retrained."""

    def run(where, *extra):
        board.main(
            [
                *("--converge", "--quick", "--variants", "mmgan", "--seeds", "0"),
                *("--patience", "9", "--runs", str(where / "runs")),
                *("--docs", str(where / "docs"), *extra),
            ]
        )
        return json.loads((where / "docs" / "gan" / "convergence.json").read_text())

    fresh = run(tmp_path / "fresh", "--max-iterations", "8")["curves"][0]
    capped = run(tmp_path / "two", "--max-iterations", "4")["curves"][0]
    assert capped["iterations"] == [2, 4] and capped["status"] == "max_iterations"
    trained = record_training(board, monkeypatch)
    extended = run(tmp_path / "two", "--max-iterations", "1,mmgan=8", "--extend")["curves"][0]
    assert extended["iterations"] == fresh["iterations"] == [2, 4, 6, 8]
    assert extended["fid"] == pytest.approx(fresh["fid"], rel=1e-6)
    assert extended["max_iterations"] == 8
    assert trained == [(6, True), (8, True)]  # on from the checkpoint at 4, not again
    saved = json.loads((tmp_path / "two" / "docs" / "gan" / "convergence.json").read_text())
    row = next(x for x in board.convergence_lines(saved) if x.startswith("| mmgan |"))
    assert "| 8 | 8 | max_iterations |" in row
    k = min(range(4), key=lambda i: fresh["fid"][i])  # the best FID and where it was reached
    assert f"| {fresh['fid'][k]:.1f} ({fresh['iterations'][k]}) |" in row
    assert "--max-iterations 1,mmgan=8" in "\n".join(board.convergence_lines(saved))

    trained.clear()  # rerun with the same cap: kept as it is, nothing trained
    kept = run(tmp_path / "two", "--max-iterations", "1,mmgan=8", "--extend")["curves"][0]
    assert trained == [] and kept["iterations"] == [2, 4, 6, 8] and kept["fid"] == fresh["fid"]

    shutil.rmtree(tmp_path / "two" / "runs" / "converge")  # a fresh checkout: no checkpoints
    kept = run(tmp_path / "two", "--max-iterations", "1,mmgan=8", "--extend")["curves"][0]
    assert trained == [] and kept["iterations"] == [2, 4, 6, 8] and kept["fid"] == fresh["fid"]
    higher = run(tmp_path / "two", "--max-iterations", "1,mmgan=10", "--extend")["curves"][0]
    assert trained[0] == (2, False) and higher["iterations"] == [2, 4, 6, 8, 10]  # retrained


def test_min_iterations_delays_the_plateau_stop_and_extend_continues_early_stops(
    board, tmp_path, monkeypatch
):
    """With tol = 1 the rule stops at the second evaluation; --min-iterations 6 holds it
    until iteration 6, and --extend continues a curve that stopped before the new minimum
    from its checkpoint into the curve a fresh run gives."""

    def run(where, *extra):
        board.main(
            [
                *("--converge", "--quick", "--variants", "mmgan", "--seeds", "0"),
                *("--tol", "1", "--max-iterations", "8", "--runs", str(where / "runs")),
                *("--docs", str(where / "docs"), *extra),
            ]
        )
        return json.loads((where / "docs" / "gan" / "convergence.json").read_text())

    fresh = run(tmp_path / "fresh", "--min-iterations", "2,mmgan=6")  # mmgan's own minimum
    assert fresh["curves"][0]["iterations"] == [2, 4, 6]
    assert fresh["curves"][0]["status"] == "plateau"
    assert fresh["settings"]["min_iterations"] == 2 and fresh["curves"][0]["min_iterations"] == 6
    text = "\n".join(board.convergence_lines(fresh))
    assert "--min-iterations 2,mmgan=6" in text and "not before iteration 2 (mmgan: 6; why" in text
    early = run(tmp_path / "two")["curves"][0]
    assert early["iterations"] == [2, 4] and early["status"] == "plateau"
    trained = record_training(board, monkeypatch)
    extended = run(tmp_path / "two", "--min-iterations", "6", "--extend")["curves"][0]
    assert extended["iterations"] == [2, 4, 6] and trained == [(6, True)]
    assert extended["fid"] == pytest.approx(fresh["curves"][0]["fid"], rel=1e-6)
    shutil.rmtree(tmp_path / "two" / "runs" / "converge")  # a fresh checkout: no checkpoints
    trained.clear()
    kept = run(tmp_path / "two", "--min-iterations", "6", "--extend")["curves"][0]
    assert trained == [] and kept["iterations"] == [2, 4, 6]  # plateaued after the minimum
    run(tmp_path / "two", "--min-iterations", "8", "--extend")
    assert trained[0] == (2, False)  # plateaued before the new minimum: trained from the start
    assert "--min-iterations" not in "\n".join(board.convergence_lines(run(tmp_path / "two")))


def test_an_interrupted_batch_keeps_its_curve_and_the_same_command_resumes_it(
    board, tmp_path, monkeypatch
):
    """Killed while training iterations 4-6: the results hold the curve to 4 (status
    'running', shown as still training); rerunning the same command (no --extend) trains
    on from the checkpoint to the curve an uninterrupted run gives."""

    def run(where):
        board.main(
            [
                *("--converge", "--quick", "--variants", "mmgan", "--seeds", "0"),
                *("--patience", "9", "--max-iterations", "8", "--runs", str(where / "runs")),
                *("--docs", str(where / "docs")),
            ]
        )
        return json.loads((where / "docs" / "gan" / "convergence.json").read_text())

    fresh = run(tmp_path / "fresh")["curves"][0]
    train, trained, killed = board.trainer.train, [], []

    def killed_at_6(cfg, out, iterations=None, resume=False, **kw):
        trained.append((iterations, resume))
        if iterations == 6 and not killed:  # once, like a Ctrl-C
            killed.append(True)
            raise KeyboardInterrupt
        return train(cfg, out, iterations=iterations, resume=resume, **kw)

    monkeypatch.setattr(board.trainer, "train", killed_at_6)
    with pytest.raises(KeyboardInterrupt):
        run(tmp_path / "two")
    path = tmp_path / "two" / "docs" / "gan" / "convergence.json"
    saved = json.loads(path.read_text())
    assert saved["curves"][0]["iterations"] == [2, 4]
    assert saved["curves"][0]["status"] == "running"
    assert "Still training" in "\n".join(board.convergence_lines(saved))
    row = next(x for x in board.convergence_lines(saved) if x.startswith("| mmgan |"))
    assert row.endswith("| still training |")  # no grid of an earlier run
    trained.clear()
    resumed = run(tmp_path / "two")["curves"][0]
    assert trained == [(6, True), (8, True)]
    assert resumed["iterations"] == fresh["iterations"] == [2, 4, 6, 8]
    assert resumed["fid"] == pytest.approx(fresh["fid"], rel=1e-6)
    assert resumed["status"] == "max_iterations"


def test_canonical_scores_the_first_seeds_final_checkpoint(board, tmp_path, monkeypatch):
    """--canonical: FID of N samples of the seed-0 model that ended the curve, against the
    training images, with the extractor it names (here the fast digits classifier stands
    in for Inception), recorded per variant and shown as a column of the digits table."""
    import numpy as np

    from fluidgan.metrics import features
    from fluidgan.metrics.fid import fid_from_features

    runs, docs = tmp_path / "runs", tmp_path / "docs"
    common = ["--variants", "mmgan", "--runs", str(runs), "--docs", str(docs)]
    board.main(["--cpu-seconds", "0.2", "--n", "40", *common])  # the page's budget table
    board.main(["--converge", "--quick", "--seeds", "0,1", *common])
    digits = features.get_extractor("domain:digits")
    monkeypatch.setattr(features, "get_extractor", lambda name, options=None: digits)
    board.main(["--canonical", "60", *common])
    rows = json.loads((docs / "gan" / "canonical.json").read_text())
    curve = json.loads((docs / "gan" / "convergence.json").read_text())["curves"][0]
    assert rows["mmgan"]["seed"] == 0 and rows["mmgan"]["iteration"] == curve["iterations"][-1]

    run = board.trainer.restore(runs / "converge" / "mmgan_seed0")
    fake = board.to_uint8(board.generate(run, 60, seed=1))[..., None]
    real = board.reference_images(run)[..., None]
    expected = fid_from_features(digits.extract(real).pool, digits.extract(fake).pool)
    assert rows["mmgan"]["fid"] == pytest.approx(expected, rel=1e-4)
    page = (docs / "GAN_RESULTS.md").read_text().splitlines()  # rebuilt with the column
    assert "## Convergence protocol: digits, 16×16 (domain:digits features)" in page
    row = [x for x in page if x.startswith("| mmgan |")][-1]  # budget table, then protocol
    assert f"| {rows['mmgan']['fid']:.1f} |" in row and "FID (Inception)" in "\n".join(page)
    assert np.isfinite(rows["mmgan"]["images_per_cpu_second"])


def test_canonical_two_mapping_models_translate_every_digit(board, tmp_path, monkeypatch):
    """A two-mapping model's domain A holds 898 digits; canonical N = 1000 translates the
    first 1000 of all 1797 digits with G_ab and scores them against all 1797 inverted
    (discogan's domain B is the inversion x -> -x)."""
    from fluidgan.gan.data import load_dataset
    from fluidgan.metrics import features
    from fluidgan.metrics.fid import fid_from_features

    runs, docs = tmp_path / "runs", tmp_path / "docs"
    common = ["--variants", "discogan", "--runs", str(runs), "--docs", str(docs)]
    board.main(["--converge", "--quick", "--seeds", "0", "--max-iterations", "2", *common])
    digits = features.get_extractor("domain:digits")
    monkeypatch.setattr(features, "get_extractor", lambda name, options=None: digits)
    board.main(["--canonical", "1000", *common])
    row = json.loads((docs / "gan" / "canonical.json").read_text())["discogan"]
    assert row["n"] == 1000

    run = board.trainer.restore(runs / "converge" / "discogan_seed0")
    every = load_dataset("digits", size=(16, 16), channels=1).images
    assert len(every) == 1797 and len(run.sources[0]["a"]) == 898
    with torch.no_grad():
        fake = board.to_uint8(run.sampler["ab"].eval()(every[:1000]))[..., None]
    real = board.to_uint8(-every)[..., None]
    expected = fid_from_features(digits.extract(real).pool, digits.extract(fake).pool)
    assert row["fid"] == pytest.approx(expected, rel=1e-4)


def test_two_mapping_models_sample_at_most_their_domain_a(board, tmp_path):
    """discogan's domain A holds 898 digits: with N = 2000 each protocol evaluation
    translates those 898 (the curve records its own N, the table says so); canonical
    FID's view of it translates all 1797 (:func:`sample_view`), and with N = 800 the
    view is the run itself."""
    from fluidgan.gan.data import load_dataset

    runs, docs = tmp_path / "runs", tmp_path / "docs"
    common = ["--variants", "discogan", "--runs", str(runs), "--docs", str(docs)]
    board.main(["--converge", "--quick", "--seeds", "0", "--max-iterations", "2", *common])
    run = board.trainer.restore(runs / "converge" / "discogan_seed0")
    assert board.sample_view(run, 800)[0] is run
    view, key = board.sample_view(run, 2000)
    every = load_dataset("digits", size=(16, 16), channels=1).images
    assert torch.equal(view.sources[0]["a"], every) and torch.equal(view.sources[1]["b"], -every)
    assert key == "cycle_all" and len(board.reference_images(view)) == 1797
    board.main(
        [
            "--converge",
            "--quick",
            "--seeds",
            "0",
            "--max-iterations",
            "2",
            *common[:2],
            "--runs",
            str(tmp_path / "r2"),
            "--docs",
            str(tmp_path / "d2"),
            "--n",
            "2000",
        ]
    )
    saved = json.loads((tmp_path / "d2" / "gan" / "convergence.json").read_text())
    assert saved["curves"][0]["n"] == 898
    assert "discogan N = 898" in "\n".join(board.convergence_lines(saved))


def test_a_batch_keeps_what_another_batch_wrote_while_it_ran(board, tmp_path, monkeypatch):
    """Two protocol batches at once: the one that ends last merges the file as it is then,
    not as it was when it started."""
    runs, docs = tmp_path / "runs", tmp_path / "docs"
    common = ["--converge", "--quick", "--seeds", "0", "--runs", str(runs), "--docs", str(docs)]
    board.main([*common, "--variants", "nsgan"])
    path = docs / "gan" / "convergence.json"
    real = board.converge_variant

    def meanwhile(name, seed, args, start=None, publish=None):
        other = json.loads(path.read_text())  # the other batch finishes lsgan now
        other["curves"].append({**other["curves"][0], "name": "lsgan"})
        path.write_text(json.dumps(other))
        return real(name, seed, args, start, publish)

    monkeypatch.setattr(board, "converge_variant", meanwhile)
    board.main([*common, "--variants", "mmgan"])
    names = sorted(c["name"] for c in json.loads(path.read_text())["curves"])
    assert names == ["lsgan", "mmgan", "nsgan"]


def test_seeds_of_one_variant_may_run_in_separate_batches(board, tmp_path):
    runs, docs = tmp_path / "runs", tmp_path / "docs"
    common = ["--converge", "--quick", "--variants", "mmgan", "--runs", str(runs)]
    board.main([*common, "--docs", str(docs), "--seeds", "1"])
    board.main([*common, "--docs", str(docs), "--seeds", "0"])
    saved = json.loads((docs / "gan" / "convergence.json").read_text())
    assert sorted(c["seed"] for c in saved["curves"]) == [0, 1]
    assert "--seeds 0,1" in "\n".join(board.convergence_lines(saved))


def test_the_table_says_which_curves_another_classifier_scored(board):
    curves = [
        board.Curve("dcgan", "gan", 0, classifier="weights sha1 aaa"),
        board.Curve("dcgan", "gan", 1, classifier="weights sha1 bbb"),
        board.Curve("lsgan", "gan", 0),  # from before curves recorded it
    ]
    [note, _] = board.classifier_note(curves, "smoke")
    assert "`domain:smoke`" in note
    assert "not recorded: lsgan 0; weights sha1 aaa: dcgan 0; weights sha1 bbb: dcgan 1" in note
    assert board.classifier_note(curves[:1], "smoke") == []
    real = [{"name": "real frames", "classifier": "weights sha1 ccc"}]
    [note, _] = board.classifier_note(curves[:1], "smoke", real)
    assert "weights sha1 aaa: dcgan 0; weights sha1 ccc: real frames" in note


def test_real_rows_score_real_images_against_the_rest_of_their_set(board, monkeypatch):
    seen = []
    monkeypatch.setattr(
        board, "score", lambda images, real, fns: seen.append((images, real)) or {"fid_domain": 1.0}
    )
    rows = board.reference_rows(SimpleNamespace(n=1000, seed=0, inception=False))
    assert [len(images) + len(real) for images, real in seen] == [1797, 899]  # digits, domain B
    assert [r.metrics["n"] for r in rows] == [898, 449]  # at most half of a set, not 1000
    for images, real in seen:
        flat = {row.tobytes() for row in real.reshape(len(real), -1)}
        assert not any(row.tobytes() in flat for row in images.reshape(len(images), -1))


def test_the_cap_column_is_per_seed_where_the_seeds_had_different_caps(board):
    """A seed extended with a higher cap shows both caps, like its iterations."""

    def curve(seed, cap, last):
        return board.Curve(
            "icgan", "gan", seed, [150, last], [9.0, 8.0], [2.0, 2.1], 1.0, "plateau", cap
        ).__dict__

    settings = {"chunk": 150, "patience": 2, "tol": 0.05, "n": 800, "max_iterations": 1500}
    settings.update(wall_minutes=1.0, machine="m", written="w")
    saved = {"settings": settings, "curves": [curve(0, 1500, 1500), curve(1, 3000, 1650)]}
    row = next(x for x in board.convergence_lines(saved) if x.startswith("| icgan |"))
    assert row.startswith("| icgan | 2 | 1500/1650 | 1500/3000 | plateau/plateau |")
    saved["curves"][1] = curve(1, 1500, 1350)
    row = next(x for x in board.convergence_lines(saved) if x.startswith("| icgan |"))
    assert row.startswith("| icgan | 2 | 1500/1350 | 1500 | plateau/plateau |")
