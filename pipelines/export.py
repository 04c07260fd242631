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

from fluidgan.config import save_toml, to_dict
from fluidgan.errors import Interrupted, UserError
from fluidgan.io.atomic import write_text
from fluidgan.io.faults import faults_named
from fluidgan.io.lock import run_lock
from fluidgan.io.selection import frame_selection, select_groups
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


def export_vtk(
    input: str | os.PathLike,
    out_dir: str | os.PathLike,
    config: ExportConfig | None = None,
    *,
    progress: bool = False,
) -> list[Path]:
    """Write .vti per frame and .pvd per group of ``input`` into ``out_dir``; return the
    paths. The resolved config goes beside them as ``export.config.toml``.

    ``config.groups``: any of high, low, sr (default: all present); ``fields``: datasets
    of each group, (T, *S) scalars or (T, *S, dim) vectors (a field missing from one group
    is left out of that group; missing from all is an error); ``frames``: ``"A:B"``.
    """
    from tqdm.auto import tqdm

    config = config or ExportConfig()
    source, out = Path(input), Path(out_dir)
    if not config.fields:
        raise UserError("--fields: name at least one field, e.g. density,velocity")
    written: list[Path] = []
    with open_sim(source) as f:
        names = export_fields(f, source, config.groups or None, config.fields)
        selected = frame_selection(config.frames or None, f["time"].shape[0])
        total = len(names) * len(selected)
        bar = tqdm(total=total, desc="export vtk", unit="frame", disable=not progress, leave=False)

        def completed() -> str:
            done = sum(p.suffix == ".vti" for p in written)
            return f"{done} of {total} frames exported to {out}"

        with (
            faults_named(out, completed),
            run_lock(out / f"{source.stem}.export.lock", "export vtk"),
        ):
            record = ExportRecord(out / f"{source.stem}.export.json", export_key(source, names))
            try:
                for group in names:
                    frames_of = GroupFrames(f, group, names[group], out / f"{source.stem}_{group}")
                    frames_of.write(selected, record, written, bar.update)
                record.finish()
                save_toml(to_dict(config), out / "export.config.toml")
            except KeyboardInterrupt:
                raise Interrupted(
                    f"interrupted: {completed()}; rerun the same command to resume"
                ) from None
        bar.close()
    return written


def export_fields(
    f, source: Path, groups: Sequence[str] | None, fields: Sequence[str]
) -> dict[str, list[str]]:
    """The fields to export of every chosen group (in file order), checked: each field in
    at least one group, each a scalar or vector on its group's grid."""
    chosen = select_groups([g for g in GROUPS if g in f], groups, source)
    names = {g: [n for n in fields if n in f[g]] for g in chosen}
    for name in fields:
        if not any(name in names[g] for g in chosen):
            raise UserError(
                f"{source}: no field {name!r} in group(s) {', '.join(chosen)} "
                f"(has: {', '.join(sorted(f[chosen[0]].keys()))})"
            )
    for group in chosen:
        check_field_shapes(f, group, names[group], int(f.attrs["dim"]), source)
    return names


@dataclass
class GroupFrames:
    """The frames of one group of an open simulation file ``f``, written as
    ``<stem>_NNNN.vti`` with their collection ``<stem>.pvd``."""

    f: Any
    group: str
    fields: list[str]
    stem: Path

    def write(self, selected: range, record: ExportRecord, written: list[Path], done) -> None:
        """Write the frames ``selected`` not yet in ``record`` (the .pvd rewritten after
        each, so an interrupted export still opens); append every path to ``written``,
        call ``done(1)`` per frame."""
        out, dim, times = self.stem.parent, int(self.f.attrs["dim"]), self.f["time"][:]
        entries: list[tuple[float, str]] = []
        for t in selected:
            path = out / f"{self.stem.name}_{t:04d}.vti"
            if not record.is_done(path):
                frame = {name: self.f[self.group][name][t] for name in self.fields}
                write_frame_vti(path, frame, dim, float(times[t]))
                record.mark_done(path)
            entries.append((float(times[t]), path.name))
            written.append(path)
            write_pvd(out / f"{self.stem.name}.pvd", entries)
            done(1)
        written.append(out / f"{self.stem.name}.pvd")


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
