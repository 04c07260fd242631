"""Stage ``export``: simulation files -> VTK volumes for ParaView.

``export_vtk`` writes, for every group (``high``, ``low``, ``sr``) of one simulation file,
``<stem>_<group>_NNNN.vti`` per frame (NNNN = the frame's index in the file) and a
``<stem>_<group>.pvd`` collection with the frame times, rewritten atomically after each
frame so an interrupted export still opens. All groups share the box [0, 1] along the
longest axis (see :mod:`fluidgan.io.vtk`), so low-res, upscaled and ground truth overlay
in ParaView: open the three .pvd files side by side (or in one view) and link cameras.

An interrupted export (Ctrl-C, ``kill -9``, a full disk) resumes: while it runs,
``<stem>.export.json`` records the input (path, size, modification time), the fields and
the frames done, and a rerun skips the ``.vti`` files it lists (each was written
atomically) as long as the input and fields are the same; the files are byte for byte
those of an uninterrupted run. A complete export removes the record (a rerun then writes
everything again). A lock file ``<stem>.export.lock`` keeps a second export of the same
input off the folder.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fluidgan.config import from_command_line
from fluidgan.errors import Interrupted, UserError
from fluidgan.io.atomic import write_text
from fluidgan.io.faults import faults_named
from fluidgan.io.lock import run_lock
from fluidgan.io.simfile import GROUPS, open_sim
from fluidgan.io.vtk import write_frame_vti, write_pvd

DEFAULT_FIELDS = ("density", "velocity")


@dataclass
class ExportConfig:
    """``fluidgan export vtk``: ``groups`` (empty = every group in the file), ``fields``,
    ``frames`` ("A:B", "" = all)."""

    groups: list[str] = field(default_factory=list)
    fields: list[str] = field(default_factory=lambda: list(DEFAULT_FIELDS))
    frames: str = ""


def resolve_config(
    config_file: str | os.PathLike | None = None, sets: Sequence[str] = (), **options
) -> ExportConfig:
    """Defaults <- ``config_file`` <- explicit options (None = not given) <- ``--set``."""
    return from_command_line(ExportConfig, config_file, sets, **options)


def frame_selection(spec: str | tuple[int | None, int | None] | None, frames: int) -> range:
    """The frames ``A:B`` (Python slice semantics, negative counts from the end) of ``frames``.

    ``None`` or ``":"`` selects all; ``"5"`` selects frame 5 alone. An empty or out-of-range
    selection is a UserError naming the value.
    """
    if spec is None:
        return range(frames)
    if isinstance(spec, str):
        text = spec.strip()
        try:
            if ":" in text:
                a, b = text.split(":")
                bounds = (int(a) if a.strip() else None, int(b) if b.strip() else None)
            else:
                index = int(text)
                bounds = (index, index + 1 if index != -1 else None)
        except ValueError:
            raise UserError(f"--frames {spec!r}: expected A:B, A:, :B or N") from None
    else:
        bounds = tuple(spec)
    selected = range(frames)[slice(*bounds)]
    if len(selected) == 0:
        raise UserError(f"--frames {spec!r} selects no frame of the {frames} in the file")
    return selected


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


def export_vtk(
    input: str | os.PathLike,
    out_dir: str | os.PathLike,
    groups: Sequence[str] | None = None,
    fields: Sequence[str] = DEFAULT_FIELDS,
    frames: str | tuple[int | None, int | None] | None = None,
    *,
    progress: bool = False,
) -> list[Path]:
    """Write .vti per frame and .pvd per group of ``input`` into ``out_dir``; return the paths.

    ``groups``: any of high, low, sr (default: all present); ``fields``: datasets of each
    group, (T, *S) scalars or (T, *S, dim) vectors (a field missing from one group is left
    out of that group; missing from all is an error); ``frames``: ``"A:B"``.
    """
    from tqdm.auto import tqdm

    source = Path(input)
    out = Path(out_dir)
    if not fields:
        raise UserError("--fields: name at least one field, e.g. density,velocity")
    written: list[Path] = []
    with open_sim(source) as f:
        dim = int(f.attrs["dim"])
        present = [g for g in GROUPS if g in f]
        chosen = select_groups(present, groups, source)
        names = {g: [n for n in fields if n in f[g]] for g in chosen}
        for name in fields:
            if not any(name in names[g] for g in chosen):
                raise UserError(
                    f"{source}: no field {name!r} in group(s) {', '.join(chosen)} "
                    f"(has: {', '.join(sorted(f[chosen[0]].keys()))})"
                )
        total = f["time"].shape[0]
        selected = frame_selection(frames, total)
        times = f["time"][:]
        for group in chosen:
            check_field_shapes(f, group, names[group], dim, source)
        total = len(chosen) * len(selected)
        bar = tqdm(total=total, desc="export vtk", unit="frame", disable=not progress, leave=False)

        def completed() -> str:
            done = sum(p.suffix == ".vti" for p in written)
            return f"{done} of {total} frames exported to {out}"

        with (
            faults_named(out, completed),
            run_lock(out / f"{source.stem}.export.lock", "export vtk"),
        ):
            progress_file = out / f"{source.stem}.export.json"
            record = ExportRecord(progress_file, export_key(source, names))
            try:
                for group in chosen:
                    stem = f"{source.stem}_{group}"
                    entries: list[tuple[float, str]] = []
                    for t in selected:
                        path = out / f"{stem}_{t:04d}.vti"
                        if not record.is_done(path):
                            frame = {name: f[group][name][t] for name in names[group]}
                            write_frame_vti(path, frame, dim, float(times[t]))
                            record.mark_done(path)
                        entries.append((float(times[t]), path.name))
                        written.append(path)
                        write_pvd(out / f"{stem}.pvd", entries)
                        bar.update(1)
                    written.append(out / f"{stem}.pvd")
                record.finish()
            except KeyboardInterrupt:
                raise Interrupted(
                    f"interrupted: {completed()}; rerun the same command to resume"
                ) from None
        bar.close()
    return written


def export_key(source: Path, names: dict[str, list[str]]) -> dict[str, Any]:
    """What the .vti files of ``source`` depend on: its content (path, size, modification
    time as a cheap stand-in) and the fields of each group."""
    st = source.stat()
    return {
        "input": str(source.resolve()),
        "size": st.st_size,
        "mtime_ns": st.st_mtime_ns,
        "fields": names,
    }


class ExportRecord:
    """``<stem>.export.json``: the export key and the .vti files done under it, kept
    until the export is complete. A record of another key (another input, a changed file,
    other fields) starts empty."""

    def __init__(self, path: Path, key: dict[str, Any]):
        self.path, self.key = path, key
        self.done: list[str] = []
        try:
            saved = json.loads(path.read_text())
        except (OSError, ValueError):
            saved = None
        if isinstance(saved, dict) and saved.get("key") == key:
            self.done = list(saved.get("done", []))
        self._names = set(self.done)

    def is_done(self, vti: Path) -> bool:
        return vti.name in self._names and vti.is_file()

    def mark_done(self, vti: Path) -> None:
        if vti.name not in self._names:
            self.done.append(vti.name)
            self._names.add(vti.name)
        write_text(self.path, json.dumps({"key": self.key, "done": self.done}, indent=1))

    def finish(self) -> None:
        """The export is complete: nothing left to resume."""
        self.path.unlink(missing_ok=True)


def check_field_shapes(f, group: str, names: Sequence[str], dim: int, source: Path) -> None:
    """Every exported dataset must be a (T, *S) scalar or (T, *S, dim) vector on the group grid."""
    shape = f[group]["density"].shape
    for name in names:
        got = f[group][name].shape
        if got not in (shape, (*shape, dim)):
            raise UserError(
                f"{source}: /{group}/{name} has shape {got}; exportable fields are "
                f"{shape} (scalar) or {(*shape, dim)} (vector)"
            )
