"""REM periods from a hypnogram or REM probabilities.

REM epochs are joined into periods when the interruption between them is short
(``merge_gap``, 15 min by default after Feinberg & Floyd 1979, who joined REM episodes
less than 15 min apart into one period), then periods shorter than ``min_duration`` are
dropped. Periods are numbered by REM cycle in order of the night.
"""

from __future__ import annotations

import numpy as np

from dreamband.core.hypnogram import Hypnogram
from dreamband.core.periods import RemPeriod
from dreamband.core.stages import SleepStage, WearableStage

__all__ = ["count_eye_movements", "rem_latency", "rem_periods"]


def _rem_mask(hyp: Hypnogram, threshold: float | None) -> tuple[np.ndarray, np.ndarray]:
    rem_code = SleepStage.REM if hyp.scheme == "aasm" else WearableStage.REM
    col = len(hyp.classes) - 1
    if threshold is not None and hyp.probabilities is not None:
        p = np.nan_to_num(hyp.probabilities[:, col])
        return p >= threshold, p
    mask = hyp.stages == rem_code
    p = hyp.probabilities[:, col] if hyp.probabilities is not None else mask.astype(float)
    return mask, np.nan_to_num(p)


def rem_periods(
    hyp: Hypnogram,
    merge_gap: float = 900.0,
    min_duration: float = 120.0,
    threshold: float | None = None,
    participant: str = "",
) -> list[RemPeriod]:
    """REM periods of a night.

    Parameters
    ----------
    hyp : Hypnogram
        AASM or wearable hypnogram (onsets from :attr:`Hypnogram.onsets`).
    merge_gap : float
        Interruptions of REM up to this many seconds are bridged.
    min_duration : float
        Shorter periods (after merging) are dropped (s).
    threshold : float, optional
        Use ``P(REM) >= threshold`` instead of the hard stages.
    participant : str
        Stored in each period.

    Returns
    -------
    list of RemPeriod
        In time order, ``cycle`` = 1, 2, ...; ``confidence`` = mean P(REM) of the REM
        epochs in the period (1 without probabilities).
    """
    if merge_gap < 0 or min_duration < 0:
        raise ValueError("merge_gap and min_duration must be >= 0 seconds")
    mask, prob = _rem_mask(hyp, threshold)
    if not mask.any():
        return []
    d = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    starts, ends = np.flatnonzero(d == 1), np.flatnonzero(d == -1)
    ep = hyp.epoch_length
    gaps = (starts[1:] - ends[:-1]) * ep
    keep = np.concatenate([[True], gaps > merge_gap])
    first = np.flatnonzero(keep)
    last = np.concatenate([first[1:] - 1, [starts.size - 1]])
    out: list[RemPeriod] = []
    for a, b in zip(starts[first], ends[last], strict=True):
        if (b - a) * ep < min_duration:
            continue
        conf = float(prob[a:b][mask[a:b]].mean())
        out.append(
            RemPeriod(
                start=float(hyp.offset + a * ep),
                end=float(hyp.offset + b * ep),
                cycle=len(out) + 1,
                participant=participant,
                confidence=conf,
            )
        )
    return out


def rem_latency(hyp: Hypnogram, periods: list[RemPeriod] | None = None) -> float | None:
    """Seconds from sleep onset (first non-wake scored epoch) to the first REM period.

    Returns None when there is no sleep or no REM period.
    """
    sleep = np.flatnonzero(hyp.stages > 0)
    periods = rem_periods(hyp) if periods is None else periods
    if sleep.size == 0 or not periods:
        return None
    onset = hyp.offset + sleep[0] * hyp.epoch_length
    return float(periods[0].start - onset)


def count_eye_movements(periods: list[RemPeriod], times: np.ndarray) -> list[RemPeriod]:
    """Copies of ``periods`` with ``eye_movements`` = events whose time falls inside."""
    from dataclasses import replace

    t = np.sort(np.asarray(times, dtype=float))
    return [
        replace(p, eye_movements=int(np.searchsorted(t, p.end) - np.searchsorted(t, p.start)))
        for p in periods
    ]
