"""The :class:`BeatSeries`: heart beats (R-peak times) of one recording."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import numpy as np

__all__ = ["STRETCH_GAP_S", "BeatSeries", "beats_from_intervals"]

#: Smallest gap (s) between an interval's opening beat and the previous interval's closing
#: beat that counts as lost beats: a lost beat takes at least 0.2 s, while the two sides of
#: one beat differ only by rounding (a file's printed decimals, 1/1024-s RR units).
STRETCH_GAP_S = 0.1


def beats_from_intervals(closes: np.ndarray, rr: np.ndarray,
                         gap: float = STRETCH_GAP_S) -> np.ndarray:
    """Beat times from RR intervals given with the time of the beat that closes each.

    Every closing beat is a beat. An interval's opening beat (``closes - rr``) is a beat of
    its own where it does not fall on the previous interval's closing beat: for the first
    interval, and after lost intervals (a stretch of the series missing, e.g. lost BLE
    notifications). So no interval of the input is lost, and none is made up across a gap.

    Parameters
    ----------
    closes : numpy.ndarray
        Closing-beat times (s), increasing.
    rr : numpy.ndarray
        Intervals (s), one per closing beat.
    gap : float
        Smallest opening-to-previous-closing distance (s) taken as missing beats
        (:data:`STRETCH_GAP_S`).

    Returns
    -------
    numpy.ndarray
        Strictly increasing beat times.
    """
    closes = np.asarray(closes, dtype=float)
    rr = np.asarray(rr, dtype=float)
    if closes.size == 0:
        return closes
    opens = closes - rr
    starts = np.concatenate([[True], opens[1:] - closes[:-1] > gap])
    times = np.sort(np.concatenate([opens[starts], closes]))
    return times[np.concatenate([[True], np.diff(times) > 1e-6])]


@dataclass(frozen=True)
class BeatSeries:
    """R-peak times of one recording, with optional beat-type symbols.

    Parameters
    ----------
    times : numpy.ndarray
        Beat times in seconds since the recording start, ``float64``, finite and strictly
        increasing.
    symbols : numpy.ndarray or None
        One WFDB beat symbol per beat (``"N"``, ``"S"``, ``"V"``, ...), or None when unknown.
    start_time : datetime or None
        Wall-clock time of the recording start (naive = the recording's local clock).
    source : str
        File or stream the beats came from, used in messages.
    participant : str
        Participant or record identifier.

    Raises
    ------
    ValueError
        If ``times`` is not 1-D, not finite, not strictly increasing, or ``symbols`` has a
        different length.
    """

    times: np.ndarray
    symbols: np.ndarray | None = None
    start_time: datetime | None = None
    source: str = ""
    participant: str = ""
    meta: dict = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        where = self.source or "beat series"
        times = np.asarray(self.times, dtype=np.float64)
        if times.ndim != 1:
            raise ValueError(f"{where}: beat times must be 1-D; got shape {times.shape}")
        if not np.all(np.isfinite(times)):
            i = int(np.flatnonzero(~np.isfinite(times))[0])
            raise ValueError(f"{where}: beat time {i} is not finite ({times[i]})")
        if times.size > 1:
            steps = np.diff(times)
            if np.any(steps <= 0):
                i = int(np.flatnonzero(steps <= 0)[0]) + 1
                raise ValueError(
                    f"{where}: beat times must be strictly increasing; beat {i} at "
                    f"{times[i]:.3f} s follows {times[i - 1]:.3f} s"
                )
        object.__setattr__(self, "times", times)
        if self.symbols is not None:
            symbols = np.asarray(self.symbols, dtype=str)
            if symbols.shape != times.shape:
                raise ValueError(
                    f"{where}: {symbols.size} beat symbols for {times.size} beat times"
                )
            object.__setattr__(self, "symbols", symbols)

    def __len__(self) -> int:
        return int(self.times.size)

    @property
    def rr(self) -> np.ndarray:
        """RR intervals in seconds (``np.diff(times)``), one fewer than the beats."""
        return np.diff(self.times)

    @property
    def rr_times(self) -> np.ndarray:
        """Time of each RR interval, taken as its closing beat (``times[1:]``), in s."""
        return self.times[1:]

    @property
    def duration(self) -> float:
        """Seconds from the first to the last beat (0 with fewer than two beats)."""
        if self.times.size < 2:
            return 0.0
        return float(self.times[-1] - self.times[0])
