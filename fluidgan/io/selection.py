"""Which frames and groups of a simulation file a stage reads: ``--frames A:B`` and
``--group`` checked against the file, with a one-line error naming the value."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from fluidgan.errors import UserError
from fluidgan.io.simfile import GROUPS


def frame_selection(spec: str | tuple[int | None, int | None] | None, frames: int) -> range:
    """The frames ``A:B`` (Python slice semantics, negative counts from the end) of ``frames``.

    ``None`` or ``":"`` selects all; ``"5"`` selects frame 5 alone. An empty or out-of-range
    selection is a UserError naming the value.
    """
    if spec is None:
        return range(frames)
    bounds = _parse_frames(spec) if isinstance(spec, str) else tuple(spec)
    selected = range(frames)[slice(*bounds)]
    if len(selected) == 0:
        raise UserError(f"--frames {spec!r} selects no frame of the {frames} in the file")
    return selected


def _parse_frames(spec: str) -> tuple[int | None, int | None]:
    text = spec.strip()
    try:
        if ":" in text:
            a, b = text.split(":")
            return (int(a) if a.strip() else None, int(b) if b.strip() else None)
        index = int(text)
    except ValueError:
        raise UserError(f"--frames {spec!r}: expected A:B, A:, :B or N") from None
    return (index, index + 1 if index != -1 else None)


def select_groups(present: Sequence[str], groups: Sequence[str] | None, source: Path) -> list[str]:
    """``groups`` checked against those in the file; ``None`` means all that are present."""
    if groups is None:
        return [g for g in GROUPS if g in present]
    for group in groups:
        if group not in GROUPS:
            raise UserError(f"--group {group!r}: valid groups are {', '.join(GROUPS)}")
        if group not in present:
            raise UserError(f"{source}: has no /{group} group (present: {', '.join(present)})")
    return list(dict.fromkeys(groups))
