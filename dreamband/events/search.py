"""Searching a night for events the way staging reads it, and writing event tables."""

from __future__ import annotations

import csv
import dataclasses
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from dreamband.core.stages import SleepStage
from dreamband.signal.filters import mains_notch_sos, remove_mains
from dreamband.staging.gaps import bridge_small_gaps

__all__ = [
    "EventTable",
    "check_event_signal",
    "event_summary",
    "searchable_pieces",
    "stage_at_centres",
    "stage_label",
    "write_event_rows",
]


class EventTable:
    """What a frozen dataclass of per-event arrays (``start``, ``end``, ... and ``meta``)
    shares: its length, durations and selection. ``ARRAYS`` names its per-event fields."""

    ARRAYS: ClassVar[tuple[str, ...]] = ()
    start: np.ndarray
    end: np.ndarray
    stage: np.ndarray
    meta: dict

    def __len__(self) -> int:
        return int(self.start.size)

    @property
    def duration(self) -> np.ndarray:
        """Durations in seconds."""
        return self.end - self.start

    def select(self, keep: np.ndarray) -> Any:
        """The events where ``keep`` (a boolean mask) is True."""
        arrays = {name: getattr(self, name)[keep] for name in self.ARRAYS}
        return dataclasses.replace(self, **arrays, meta=dict(self.meta))


def check_event_signal(
    x: np.ndarray,
    fs: float,
    epoch_length: float,
    min_fs: float,
    what: str,
    include: tuple[int, ...] | None = None,
    stages: np.ndarray | None = None,
) -> np.ndarray:
    """``x`` as a 1-D float64 array, or a one-line ``ValueError`` saying what is wrong.

    Parameters
    ----------
    x : numpy.ndarray
        The EEG (µV).
    fs : float
        Its sampling rate (Hz).
    epoch_length : float
        Epoch length (s): the signal must last one.
    min_fs : float
        Lowest sampling rate the detector works at.
    what : str
        The events, for messages (``"spindles (11-16 Hz)"``).
    include, stages
        An ``include`` needs the night's ``stages``.
    """
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 1:
        raise ValueError(f"EEG must be 1-D; got shape {x.shape}")
    if fs < min_fs:
        raise ValueError(f"EEG sampling rate {fs:g} Hz is too low for {what}; need at least "
                         f"{min_fs:g} Hz")
    if x.size < epoch_length * fs:
        raise ValueError(f"EEG lasts {x.size / fs:.1f} s; searching for {what} needs at least "
                         f"one {epoch_length:g}-s epoch")
    if include is not None and stages is None:
        raise ValueError("include needs the night's stages")
    return x


def searchable_pieces(
    x: np.ndarray, fs: float, epoch_length: float
) -> Iterator[tuple[int, np.ndarray]]:
    """The stretches of a night to search, as staging reads them: ``(first sample, piece)``.

    A band's lost samples (NaN) are bridged by the staging rule
    (:func:`dreamband.staging.gaps.bridge_small_gaps`: an epoch missing at most 20 % is
    interpolated); the pieces between larger gaps are given one by one, mains hum removed
    as the staging evidence removes it; pieces shorter than one epoch are skipped.
    """
    x = bridge_small_gaps(x, fs, epoch_length)
    finite = np.isfinite(x)
    edges = np.flatnonzero(np.diff(np.concatenate([[0], finite.view(np.int8), [0]])))
    for a, b in zip(edges[::2], edges[1::2], strict=True):
        if b - a < epoch_length * fs:
            continue
        piece = x[a:b]
        if mains_notch_sos(fs) is not None:
            piece = remove_mains(piece, fs)
        yield int(a), piece


def stage_at_centres(
    start: np.ndarray,
    end: np.ndarray,
    stages: np.ndarray | None,
    epoch_length: float,
    offset: float = 0.0,
) -> np.ndarray:
    """Stage code of the epoch holding each event's centre (-1: outside or unstaged)."""
    out = np.full(np.asarray(start).size, -1, dtype=np.int8)
    if stages is None:
        return out
    st = np.asarray(stages)
    k = np.floor(((start + end) / 2.0 - offset) / epoch_length).astype(np.int64)
    ok = (k >= 0) & (k < st.size)
    out[ok] = st[k[ok]]
    return out


def stage_label(code: int) -> str:
    """``W N1 N2 N3 REM`` or ``?``."""
    try:
        return SleepStage(int(code)).label
    except ValueError:
        return "?"


def write_event_rows(
    path: str | os.PathLike, columns: Sequence[str], rows: list[tuple[float, list]]
) -> Path:
    """Write ``(start, row)`` pairs as CSV under ``columns``, sorted by start.

    Returns
    -------
    pathlib.Path
        The file written.
    """
    rows = sorted(rows, key=lambda r: r[0])
    p = Path(path)
    with open(p, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(columns)
        w.writerows(r for _, r in rows)
    return p


def event_summary(
    events: EventTable,
    stages: np.ndarray | None,
    epoch_length: float,
    density_stages: Sequence[SleepStage],
    means: dict[str, np.ndarray],
) -> dict:
    """A night's event figures: count, density per minute of stages, means.

    Parameters
    ----------
    events : EventTable
        The night's events, with a ``stage`` per event (set from ``stages``).
    stages : numpy.ndarray, optional
        Stage codes of the night's epochs, for the densities.
    epoch_length : float
        Epoch length of ``stages`` in seconds.
    density_stages : sequence of SleepStage
        Stages to give a density for (those the night holds).
    means : dict
        Name -> per-event values, averaged over the finite ones (NaN without any).

    Returns
    -------
    dict
        ``count``, ``density`` (stage label -> events per minute of that stage), and one
        mean per entry of ``means``.
    """
    out: dict = {"count": len(events), "density": {}}
    if stages is not None:
        st = np.asarray(stages)
        for code in density_stages:
            minutes = np.count_nonzero(st == code) * epoch_length / 60.0
            if minutes > 0:
                out["density"][code.label] = np.count_nonzero(events.stage == code) / minutes
    for name, values in means.items():
        v = values[np.isfinite(values)]
        out[name] = float(v.mean()) if v.size else float("nan")
    return out
