"""Put an irregular heart series (RR intervals or HR samples) on a regular time grid.

The grid value at time ``tau`` is the last *valid* sample at or before ``tau`` (a causal
sample-and-hold), or NaN when that sample is older than ``max_age`` seconds: gaps stay
visible as NaN and are never filled by interpolation across them. Because no grid value
looks ahead, the same grid serves live and whole-night processing.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from dreamband.heart.rr import clean_hr, rr_from_beats

__all__ = [
    "GRID_FS",
    "MAX_HOLD_S",
    "HeartSeries",
    "beats_to_hr",
    "hold_on_grid",
    "prepare_beats",
    "prepare_hr",
]

#: Grid rate in Hz used for spectral HRV (Nyquist 1 Hz, above the 0.4 Hz HF band).
GRID_FS = 2.0

#: Longest time (s) a sample is held on the grid; older ones leave NaN (a gap).
MAX_HOLD_S = 3.0


def hold_on_grid(
    t: np.ndarray, values: np.ndarray, valid: np.ndarray, fs: float, n: int,
    max_age: float = MAX_HOLD_S,
) -> np.ndarray:
    """Sample-and-hold an irregular series onto ``tau_j = j / fs`` for ``j < n``.

    Parameters
    ----------
    t : numpy.ndarray
        Sample times in seconds (increasing).
    values : numpy.ndarray
        Sample values.
    valid : numpy.ndarray of bool
        Samples to use; others are skipped.
    fs : float
        Grid rate in Hz.
    n : int
        Number of grid points.
    max_age : float
        Longest hold in seconds; older samples give NaN.

    Returns
    -------
    numpy.ndarray
        ``n`` grid values, NaN where no recent valid sample exists.
    """
    t = np.asarray(t, dtype=float)[valid]
    v = np.asarray(values, dtype=float)[valid]
    tau = np.arange(n) / fs
    out = np.full(n, np.nan)
    if t.size == 0 or n == 0:
        return out
    if fs >= 1.0 and math.frexp(fs)[0] == 0.5 and np.isfinite(t).all():
        # fs a power of two: t * fs is exact, so t <= j / fs exactly when ceil(t * fs) <= j,
        # and counting samples per grid index beats a binary search per grid point.
        first = np.clip(np.ceil(t * fs), 0, n).astype(np.int64)
        idx = np.cumsum(np.bincount(first, minlength=n + 1)[:n]) - 1
    else:
        idx = np.searchsorted(t, tau, side="right") - 1
    # idx: the last sample at or before tau (-1: none)
    held = np.maximum(idx, 0)
    keep = (idx >= 0) & (tau - t[held] <= max_age)
    return np.where(keep, v[held], out)


@dataclass(frozen=True)
class HeartSeries:
    """A prepared heart signal of one night.

    Attributes
    ----------
    kind : {"rr", "hr"}
        Beat-to-beat intervals or plain heart-rate samples.
    t : numpy.ndarray
        Sample times (s since recording start): closing beat of each RR interval, or HR
        sample time.
    rr : numpy.ndarray
        Intervals in seconds (``60 / hr`` for HR samples).
    valid : numpy.ndarray of bool
        Cleaning result.
    end : float
        Time of the last sample (s).
    """

    kind: str
    t: np.ndarray
    rr: np.ndarray
    valid: np.ndarray
    end: float

    def on_grid(self, until: float | None = None) -> np.ndarray:
        """RR in seconds on a :data:`GRID_FS` grid from time 0 up to ``until`` (default: the
        last sample): sample-and-hold of the valid intervals, NaN in gaps."""
        until = self.end if until is None else until
        return hold_on_grid(self.t, self.rr, self.valid, GRID_FS, _grid_length(until))

    @property
    def valid_fraction(self) -> float:
        """Fraction of samples kept by cleaning."""
        return float(np.mean(self.valid)) if self.valid.size else 0.0


def _grid_length(end: float) -> int:
    return int(np.floor(end * GRID_FS)) + 1 if end >= 0 else 0


def prepare_beats(times: np.ndarray, symbols: np.ndarray | None = None) -> HeartSeries:
    """Clean a beat train and grid its RR intervals.

    Parameters
    ----------
    times : numpy.ndarray
        R-peak times in seconds since the recording start, strictly increasing.
    symbols : numpy.ndarray of str, optional
        WFDB beat symbols.

    Returns
    -------
    HeartSeries
    """
    times = np.asarray(times, dtype=float)
    t, rr, valid = rr_from_beats(times, symbols)
    end = float(times[-1]) if len(times) else 0.0
    return HeartSeries("rr", t, rr, valid, end)


def prepare_hr(t: np.ndarray, hr: np.ndarray) -> HeartSeries:
    """Clean heart-rate samples (bpm) and grid them as intervals ``60 / hr``.

    Parameters
    ----------
    t : numpy.ndarray
        Sample times in seconds since the recording start, increasing.
    hr : numpy.ndarray
        Heart rate in beats per minute.

    Returns
    -------
    HeartSeries
    """
    t = np.asarray(t, dtype=float)
    hr = np.asarray(hr, dtype=float)
    valid = clean_hr(hr)
    with np.errstate(divide="ignore", invalid="ignore"):
        rr = np.where(valid, 60.0 / hr, np.nan)
    end = float(t[-1]) if t.size else 0.0
    return HeartSeries("hr", t, rr, valid, end)


def beats_to_hr(times: np.ndarray, fs: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """A wristband-like HR stream from beats: instantaneous HR of the last beat at each tick.

    Used to train and evaluate the HR-only model on beat data.

    Parameters
    ----------
    times : numpy.ndarray
        Beat times in seconds, strictly increasing.
    fs : float
        Output rate in Hz.

    Returns
    -------
    t : numpy.ndarray
        Sample times (s), on the ``1 / fs`` grid from the second beat to the last.
    hr : numpy.ndarray
        Heart rate in bpm, ``60 / RR`` of the last completed interval (unfiltered).
    """
    times = np.asarray(times, dtype=float)
    t = times[1:]
    hr = 60.0 / np.diff(times)
    tau = np.arange(np.ceil(t[0] * fs), np.floor(t[-1] * fs) + 1) / fs if t.size else t
    idx = np.searchsorted(t, tau, side="right") - 1
    return tau, hr[idx]
