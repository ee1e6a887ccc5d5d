"""The REM table file: ``start,end,duration,cycle,eye_movements`` (+ density, confidence)."""

from __future__ import annotations

import csv
import os
from pathlib import Path

from dreamband.core.periods import RemPeriod

__all__ = ["REM_COLUMNS", "write_rem_csv"]

#: Columns of the REM CSV; times in seconds from the recording start.
REM_COLUMNS = ("start", "end", "duration", "cycle", "eye_movements", "density", "confidence")


def write_rem_csv(
    periods: list[RemPeriod], path: str | os.PathLike, eye_movements_counted: bool = True
) -> Path:
    """Write REM periods as CSV (one row per period; density = eye movements per minute).

    Parameters
    ----------
    periods : list of RemPeriod
        The night's REM periods.
    path : str or PathLike
        The CSV file to write.
    eye_movements_counted : bool
        False when the night had no EOG (a hypnogram alone): ``eye_movements`` and
        ``density`` are then left empty rather than written as 0, which would read as
        "measured, none".

    Returns
    -------
    pathlib.Path
        The file written.
    """
    p = Path(path)
    with open(p, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(REM_COLUMNS)
        for r in periods:
            moves, density = (r.eye_movements, f"{r.density:.3f}") if eye_movements_counted \
                else ("", "")
            w.writerow([
                f"{r.start:.3f}", f"{r.end:.3f}", f"{r.duration:.3f}", r.cycle,
                moves, density, f"{r.confidence:.4f}",
            ])
    return p
