"""Atomic writes: the target appears whole or not at all, an old file survives a failure."""

from __future__ import annotations

import pytest

from fluidgan.io.atomic import atomic_path, write_text


def test_success_renames_and_keeps_the_suffix(tmp_path):
    target = tmp_path / "sub" / "figure.png"
    with atomic_path(target) as tmp:
        assert tmp.parent == target.parent and tmp.suffix == ".png" and tmp != target
        tmp.write_bytes(b"png")
        assert not target.exists()  # nothing visible before the block succeeds
    assert target.read_bytes() == b"png"
    assert sorted(p.name for p in target.parent.iterdir()) == ["figure.png"]


def test_failure_leaves_the_old_file_and_no_temporary(tmp_path):
    target = write_text(tmp_path / "state.json", "old")
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("killed mid-write")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["state.json"]
