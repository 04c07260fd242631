"""Per-iteration metrics: ``metrics.jsonl`` and ``metrics.csv`` in the run directory, and
TensorBoard event files (``<run>/tensorboard``) when the ``tensorboard`` package is
installed.

On resume, rows past the checkpoint's iteration (logged by the interrupted run after its
last save) are dropped first, so the files read as one uninterrupted run.
"""

from __future__ import annotations

import csv
import json
import math
import os
from pathlib import Path
from typing import Any

JSONL = "metrics.jsonl"
CSV = "metrics.csv"


def read_metrics(run_dir: str | os.PathLike) -> list[dict[str, Any]]:
    """All rows of ``metrics.jsonl``, in order."""
    path = Path(run_dir) / JSONL
    if not path.is_file():
        return []
    with path.open() as f:
        return [json.loads(line) for line in f if line.strip()]


def _json_value(v: Any) -> Any:
    # JSON has no NaN/Inf; a diverged loss is logged as the string 'nan'/'inf'.
    return v if not isinstance(v, float) or math.isfinite(v) else str(v)


class MetricsLogger:
    """Append one row per iteration; ``start`` drops rows with ``iteration > start``."""

    def __init__(self, run_dir: str | os.PathLike, start: int = 0, tensorboard: bool = True):
        self.run_dir = Path(run_dir)
        self.run_dir.mkdir(parents=True, exist_ok=True)
        rows = [r for r in read_metrics(self.run_dir) if r["iteration"] <= start]
        self._rewrite(rows)
        self._jsonl = (self.run_dir / JSONL).open("a")
        self._csv_file = (self.run_dir / CSV).open("a", newline="")
        self._csv = csv.writer(self._csv_file)
        self._tb = _summary_writer(self.run_dir / "tensorboard", start) if tensorboard else None

    def _rewrite(self, rows: list[dict[str, Any]]) -> None:
        with (self.run_dir / JSONL).open("w") as f:
            f.writelines(json.dumps(r) + "\n" for r in rows)
        self._columns = list(dict.fromkeys(k for r in rows for k in r)) or None
        self._write_csv(rows)

    def _write_csv(self, rows: list[dict[str, Any]]) -> None:
        with (self.run_dir / CSV).open("w", newline="") as f:
            if self._columns:
                writer = csv.writer(f)
                writer.writerow(self._columns)
                writer.writerows([r.get(k, "") for k in self._columns] for r in rows)

    def log(self, iteration: int, metrics: dict[str, float]) -> None:
        row = {"iteration": iteration, **metrics}
        self._jsonl.write(json.dumps({k: _json_value(v) for k, v in row.items()}) + "\n")
        self._jsonl.flush()
        if self._columns is None or not set(row) <= set(self._columns):
            # A new column (e.g. the first validation value): rewrite with a wider header.
            self._columns = [
                *(self._columns or []),
                *(k for k in row if k not in (self._columns or [])),
            ]
            self._csv_file.close()
            self._write_csv(read_metrics(self.run_dir))
            self._csv_file = (self.run_dir / CSV).open("a", newline="")
            self._csv = csv.writer(self._csv_file)
        else:
            self._csv.writerow([row.get(k, "") for k in self._columns])
        self._csv_file.flush()
        if self._tb is not None:
            for key, value in metrics.items():
                if isinstance(value, (int, float)):
                    self._tb.add_scalar(key, value, iteration)

    def close(self) -> None:
        self._jsonl.close()
        self._csv_file.close()
        if self._tb is not None:
            self._tb.close()


def _summary_writer(folder: Path, start: int):
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:  # tensorboard is optional
        return None
    # purge_step drops events past the resume point, as the text logs do.
    return SummaryWriter(str(folder), purge_step=start + 1 if start else None)
