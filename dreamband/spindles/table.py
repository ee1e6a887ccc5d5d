"""The spindle table file, reference scorings, and a night's spindle summary."""

from __future__ import annotations

import csv
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from dreamband.core.stages import SleepStage
from dreamband.errors import InputFileError
from dreamband.events.search import event_summary, stage_label, write_event_rows
from dreamband.spindles.detect import Spindles

__all__ = [
    "SPINDLE_COLUMNS",
    "read_event_intervals",
    "spindle_summary",
    "write_spindles_csv",
]

#: Columns of the spindle CSV; times in seconds from the recording start.
SPINDLE_COLUMNS = (
    "start", "end", "duration", "peak", "amplitude", "rms", "frequency", "oscillations",
    "symmetry", "stage", "channel",
)


def write_spindles_csv(tables: Sequence[Spindles], path: str | os.PathLike) -> Path:
    """Write spindles as CSV, one row per spindle, sorted by start (channels interleaved).

    Parameters
    ----------
    tables : sequence of Spindles
        One table per channel searched.
    path : str or PathLike
        The CSV file to write.

    Returns
    -------
    pathlib.Path
        The file written.
    """
    rows = []
    for t in tables:
        for i in range(len(t)):
            f = t.frequency[i]
            rows.append((t.start[i], [
                f"{t.start[i]:.2f}", f"{t.end[i]:.2f}", f"{t.duration[i]:.2f}",
                f"{t.peak[i]:.3f}", f"{t.amplitude[i]:.2f}", f"{t.rms[i]:.2f}",
                "" if not np.isfinite(f) else f"{f:.2f}", int(t.oscillations[i]),
                f"{t.symmetry[i]:.3f}", stage_label(t.stage[i]), t.channel,
            ]))
    return write_event_rows(path, SPINDLE_COLUMNS, rows)


def _read_csv_intervals(p: Path) -> tuple[np.ndarray, np.ndarray]:
    with open(p, newline="", encoding="utf-8", errors="replace") as fh:
        reader = csv.reader(fh)
        header = [h.strip().lower() for h in next(reader, [])]
        if "start" not in header or not ({"end", "duration"} & set(header)):
            raise InputFileError(
                p, "an event CSV needs a start column and an end or duration column; "
                f"its header has {','.join(header) or 'nothing'}", "header",
            )
        i_s = header.index("start")
        i_e = header.index("end") if "end" in header else None
        i_d = header.index("duration") if i_e is None else None
        starts, ends = [], []
        for line_no, row in enumerate(reader, start=2):
            if not row or all(not c.strip() for c in row):
                continue
            try:
                s = float(row[i_s])
                e = float(row[i_e]) if i_e is not None else s + float(row[i_d])
            except (ValueError, IndexError):
                raise InputFileError(p, f"not a number in row {row!r}", f"line {line_no}") \
                    from None
            if not (np.isfinite(s) and np.isfinite(e)) or e <= s:
                raise InputFileError(p, f"an event must end after it starts; got {row!r}",
                                     f"line {line_no}")
            starts.append(s)
            ends.append(e)
    return np.asarray(starts, dtype=float), np.asarray(ends, dtype=float)


def read_event_intervals(path: str | os.PathLike) -> tuple[np.ndarray, np.ndarray]:
    """Read scored events (spindles...) as start and end times in seconds.

    Parameters
    ----------
    path : str or PathLike
        A DREAMS ``Visual_scoringK_excerptN.txt`` expert scoring (onset and duration per
        line), or a CSV with a ``start`` column and an ``end`` or ``duration`` column (the
        table ``dreamband spindles`` writes).

    Returns
    -------
    tuple of numpy.ndarray
        Starts and ends, in the file's order.

    Raises
    ------
    InputFileError
        If the file is missing or a line is malformed (naming the line).
    """
    p = Path(path)
    if not p.is_file():
        raise InputFileError(p, "no such file")
    if p.suffix.lower() == ".txt":
        from dreamband.io.dreams import read_dreams_spindles

        sc = read_dreams_spindles(p)
        return sc.onsets.copy(), sc.onsets + sc.durations
    if p.suffix.lower() == ".csv":
        return _read_csv_intervals(p)
    raise InputFileError(
        p, "not an event scoring; expected a DREAMS Visual_scoring .txt or a CSV with "
        "start and end (or duration) columns", "extension",
    )


def spindle_summary(sp: Spindles, stages: np.ndarray | None, epoch_length: float = 30.0) -> dict:
    """A night's spindle figures: count, density per minute of each NREM stage, means.

    Parameters
    ----------
    sp : Spindles
        The night's spindles (their ``stage`` set from ``stages``).
    stages : numpy.ndarray, optional
        Stage codes of the night's epochs, for the densities.
    epoch_length : float
        Epoch length of ``stages`` in seconds.

    Returns
    -------
    dict
        ``count``, ``density`` (stage label → spindles per minute of that stage, for the
        NREM stages the night holds), ``duration``, ``frequency``, ``amplitude`` (means).
    """
    return event_summary(
        sp, stages, epoch_length, (SleepStage.N1, SleepStage.N2, SleepStage.N3),
        {"duration": sp.duration, "frequency": sp.frequency, "amplitude": sp.amplitude},
    )
