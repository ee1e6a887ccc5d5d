"""Heart data in CSV: RR intervals (``rr_ms`` [, ``time_s``]) or heart rate (``time_s,hr_bpm``).

RR files hold one interval per row in milliseconds; with a ``time_s`` column it is the time
of the beat that closes the interval (seconds from the recording start), and rows may skip
beats (lost notifications): an interval that does not start at the previous row's beat
opens a stretch of its own. Without ``time_s`` the intervals are taken as consecutive: beat
times are their cumulative sum (the first beat at 0 s). HR files hold
irregular or regular samples of heart rate in beats per minute.
"""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from dreamband.core.beats import BeatSeries, beats_from_intervals
from dreamband.errors import InputFileError
from dreamband.io.text import text_lines

__all__ = ["HeartRateSeries", "read_heart_csv", "read_hr_csv", "read_rr_csv"]

#: Physiological plausibility bounds: anything outside is a file error, not a heart (also
#: what ``dreamband export`` and batch restaging keep of a strap's stream).
RR_MS_RANGE = (200.0, 3000.0)
HR_BPM_RANGE = (20.0, 300.0)


@dataclass(frozen=True)
class HeartRateSeries:
    """Heart-rate samples: ``times`` in s from the recording start, ``hr`` in bpm."""

    times: np.ndarray
    hr: np.ndarray
    source: str = ""

    def __len__(self) -> int:
        return int(self.times.size)


def _rows(path: Path) -> tuple[list[str], list[tuple[int, list[str]]]]:
    if not path.is_file():
        raise InputFileError(path, "no such file")
    with text_lines(path) as fh:
        reader = csv.reader(fh)
        header: list[str] | None = None
        body = []
        for line_no, row in enumerate(reader, start=1):
            if not row or not "".join(row).strip() or row[0].lstrip().startswith("#"):
                continue
            if header is None:
                header = [h.strip().lower() for h in row]
                continue
            body.append((line_no, row))
    if header is None:
        raise InputFileError(path, "empty file")
    return header, body


def _column(path: Path, header: list[str], body, name: str, bounds=None) -> np.ndarray:
    j = header.index(name)
    out = np.empty(len(body))
    for k, (line_no, row) in enumerate(body):
        where = f"line {line_no}"
        if j >= len(row):
            raise InputFileError(path, f"missing {name!r} value", where)
        try:
            v = float(row[j])
        except ValueError:
            raise InputFileError(path, f"{name} is not a number: {row[j]!r}", where) from None
        if not np.isfinite(v) or (bounds and not bounds[0] <= v <= bounds[1]):
            raise InputFileError(
                path,
                f"{name} = {row[j]} outside {bounds[0]:g}..{bounds[1]:g}"
                if bounds
                else f"{name} is not finite",
                where,
            )
        out[k] = v
    return out


def _increasing(path: Path, body, times: np.ndarray, name: str) -> None:
    bad = np.flatnonzero(np.diff(times) <= 0)
    if bad.size:
        raise InputFileError(
            path, f"{name} must be strictly increasing", f"line {body[bad[0] + 1][0]}"
        )


def read_rr_csv(path: str | os.PathLike) -> BeatSeries:
    """Read RR intervals (column ``rr_ms``, optional ``time_s``) as beat times.

    Returns
    -------
    BeatSeries
        With ``time_s``: the given times, and the opening beat of every interval that does
        not start at the previous row's beat (the first, and each after skipped beats;
        :func:`dreamband.core.beats.beats_from_intervals`), so every interval of the file
        is an interval of the result and none spans a gap. Without: beats at
        ``0, cumsum(rr)``.

    Raises
    ------
    InputFileError
        Naming the line of a value that is missing, not a number, outside 200–3000 ms, or a
        ``time_s`` that does not increase.
    """
    path = Path(path)
    header, body = _rows(path)
    if "rr_ms" not in header:
        raise InputFileError(path, f"expected a 'rr_ms' column; got {','.join(header)}", "header")
    if not body:
        raise InputFileError(path, "no RR intervals")
    rr = _column(path, header, body, "rr_ms", RR_MS_RANGE) / 1000.0
    if "time_s" in header:
        t = _column(path, header, body, "time_s")
        _increasing(path, body, t, "time_s")
        times = beats_from_intervals(t, rr)
    else:
        times = np.concatenate([[0.0], np.cumsum(rr)])
    return BeatSeries(times=times, source=str(path), participant=path.stem)


def read_hr_csv(path: str | os.PathLike) -> HeartRateSeries:
    """Read heart-rate samples (columns ``time_s,hr_bpm``).

    Raises
    ------
    InputFileError
        Naming the line of a bad value (not a number, HR outside 20–300 bpm, time not
        increasing).
    """
    path = Path(path)
    header, body = _rows(path)
    if "time_s" not in header or "hr_bpm" not in header:
        raise InputFileError(
            path, f"expected columns time_s,hr_bpm; got {','.join(header)}", "header"
        )
    if not body:
        raise InputFileError(path, "no heart-rate samples")
    t = _column(path, header, body, "time_s")
    hr = _column(path, header, body, "hr_bpm", HR_BPM_RANGE)
    _increasing(path, body, t, "time_s")
    return HeartRateSeries(times=t, hr=hr, source=str(path))


def read_heart_csv(path: str | os.PathLike) -> BeatSeries | HeartRateSeries:
    """Read either kind, by header: ``rr_ms`` → :func:`read_rr_csv`, else :func:`read_hr_csv`."""
    header, _ = _rows(Path(path))
    return read_rr_csv(path) if "rr_ms" in header else read_hr_csv(path)
