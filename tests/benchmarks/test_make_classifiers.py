"""``benchmarks/make_classifiers.py``: what it ships is what the package then loads."""

from __future__ import annotations

import tomllib
from scripts import load_script

from fluidgan.metrics import domain

make = load_script("make_classifiers")


def test_shipped_file_is_loaded_back_with_its_recorded_digests(tmp_path, monkeypatch):
    assert make.main(["--domains", "digits", "--dest", str(tmp_path)]) == 0
    manifest = tomllib.loads((tmp_path / "classifiers.toml").read_text())
    spec = domain.DOMAINS["digits"]
    entry = manifest[domain.classifier_name(spec)]
    monkeypatch.setattr(domain, "SHIPPED_DIR", tmp_path)
    monkeypatch.setattr(domain, "SHIPPED_MANIFEST", tmp_path / "classifiers.toml")
    net, info = domain.load_or_train_classifier(spec)
    assert info["path"] == str(tmp_path / domain.classifier_name(spec))
    assert domain.state_digest(net) == entry["weights_sha1"]


def test_manifest_replaces_a_domains_file_of_another_key_and_keeps_the_others(tmp_path):
    for name in ("digits-old.pt", "smoke-kept.pt", "digits-new.pt"):
        (tmp_path / name).write_bytes(b"weights")
    (tmp_path / "classifiers.toml").write_text(
        '["digits-old.pt"]\nsha256 = "a"\n["smoke-kept.pt"]\nsha256 = "b"\n'
    )
    make.write_manifest(tmp_path, {"digits-new.pt": {"sha256": "c"}})
    manifest = tomllib.loads((tmp_path / "classifiers.toml").read_text())
    assert manifest == {"digits-new.pt": {"sha256": "c"}, "smoke-kept.pt": {"sha256": "b"}}
    assert not (tmp_path / "digits-old.pt").exists() and (tmp_path / "smoke-kept.pt").exists()


def test_an_unknown_domain_is_one_line_and_exit_2(tmp_path, capsys):
    assert make.main(["--domains", "faces", "--dest", str(tmp_path)]) == 2
    assert (
        capsys.readouterr()
        .err.strip()
        .startswith("error: unknown domain classifier 'domain:faces'")
    )
    assert not (tmp_path / "classifiers.toml").exists()
