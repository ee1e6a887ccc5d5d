"""The REM table file: ``start,end,duration,cycle,eye_movements`` (+ density, confidence)."""

from __future__ import annotations

import csv
import os
from pathlib import Path

from dreamband.core.periods import RemPeriod

__all__ = ["REM_COLUMNS", "write_rem_csv"]

#: Columns of the REM CSV; times in seconds from the recording start.
REM_COLUMNS = ("start", "end", "duration", "cycle", "eye_movements", "density", "confidence")


def write_rem_csv(periods: list[RemPeriod], path: str | os.PathLike) -> Path:
    """Write REM periods as CSV (one row per period; density = eye movements per minute)."""
    p = Path(path)
    with open(p, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(REM_COLUMNS)
        for r in periods:
            w.writerow([
                f"{r.start:.3f}", f"{r.end:.3f}", f"{r.duration:.3f}", r.cycle,
                r.eye_movements, f"{r.density:.3f}", f"{r.confidence:.4f}",
            ])
    return p
