"""--frames and --group selections, checked against the file."""

from __future__ import annotations

from pathlib import Path

import pytest

from fluidgan.errors import UserError
from fluidgan.io.selection import frame_selection, select_groups


def test_frame_selection():
    assert frame_selection(None, 5) == range(5)
    assert list(frame_selection("1:3", 5)) == [1, 2]
    assert list(frame_selection("-2:", 5)) == [3, 4]
    assert list(frame_selection(":2", 5)) == [0, 1]
    assert list(frame_selection("4", 5)) == [4]
    with pytest.raises(UserError, match="expected A:B"):
        frame_selection("a:b", 5)
    assert list(frame_selection((1, None), 5)) == [1, 2, 3, 4]
    assert list(frame_selection("-1", 5)) == [4]  # the last frame, not an empty -1:0
    with pytest.raises(UserError, match="selects no frame of the 5"):
        frame_selection("7:9", 5)


def test_group_selection():
    present = ["high", "low"]
    assert select_groups(present, None, Path("f.h5")) == ["high", "low"]
    assert select_groups(present, ["low", "high", "low"], Path("f.h5")) == ["low", "high"]
    with pytest.raises(UserError, match="f.h5: has no /sr group"):
        select_groups(present, ["sr"], Path("f.h5"))
    with pytest.raises(UserError, match="--group 'mid': valid groups are high, low, sr"):
        select_groups(present, ["mid"], Path("f.h5"))
