"""Which epochs of a heart night hold enough heartbeats to be staged.

A chest strap that fell off, or a stretch of lost notifications, leaves a hole in the beats:
the heart stager would still give every epoch of it a stage from the neighbouring evidence
and the smoother. As in the live engine (:mod:`dreamband.live.participant`) and for EEG
recordings with gaps (:mod:`dreamband.staging.gaps`), an epoch whose samples cover less than
:data:`MIN_COVERAGE` of its time is unscored (stage ``-1``, probabilities NaN).

Coverage is that of :func:`dreamband.live.heart.coverage`, for every epoch of a night at
once: RR intervals cover the time between their two beats (an interval longer than the
longest plausible one, ``RR_MS_RANGE``, is a gap, not a beat); heart-rate samples cover
the points of the :data:`~dreamband.heart.grid.GRID_FS` feature grid whose latest sample is
at most :data:`HR_MAX_AGE` seconds old (the feature grid's hold).
"""

from __future__ import annotations

import numpy as np

from dreamband.heart.grid import GRID_FS, MAX_HOLD_S
from dreamband.io.rr_csv import RR_MS_RANGE
from dreamband.staging.gaps import MAX_MISSING

__all__ = ["HR_MAX_AGE", "MIN_COVERAGE", "epoch_coverage", "uncovered_epochs"]

#: Smallest fraction of an epoch covered by heart samples that is still staged.
MIN_COVERAGE = 1.0 - MAX_MISSING

#: Longest time (s) a heart-rate sample covers after it (the feature grid's hold).
HR_MAX_AGE = MAX_HOLD_S

_RR_MAX = RR_MS_RANGE[1] / 1000.0


def epoch_coverage(
    kind: str,
    t: np.ndarray,
    v: np.ndarray,
    n_epochs: int,
    offset: float = 0.0,
    epoch: float = 30.0,
) -> np.ndarray:
    """Fraction of each epoch covered by heart samples (0-1).

    Parameters
    ----------
    kind : {"rr", "hr"}
        RR intervals or heart-rate samples.
    t : numpy.ndarray
        Sample times in seconds, increasing: the closing beat of each RR interval, or the
        time of each heart-rate sample.
    v : numpy.ndarray
        RR intervals in seconds (``kind="rr"``; non-finite or longer than
        ``RR_MS_RANGE[1]``: a gap); unused for heart rate.
    n_epochs : int
        Epochs of the grid.
    offset : float
        Onset of epoch 0, on the clock of ``t``.
    epoch : float
        Epoch length in seconds.

    Returns
    -------
    numpy.ndarray
        ``(n_epochs,)`` coverage of epochs ``[offset + k * epoch, offset + (k + 1) * epoch)``:
        :func:`dreamband.live.heart.coverage` epoch by epoch (RR intervals in range).
    """
    t = np.asarray(t, dtype=float)
    if n_epochs <= 0 or t.size == 0:
        return np.zeros(max(n_epochs, 0))
    if kind == "rr":
        v = np.asarray(v, dtype=float)
        v = np.where(np.isfinite(v) & (v > 0) & (v <= _RR_MAX), v, 0.0)
        # time covered before x: the sum over intervals (a_i, b_i] = (t - v, t] of their part
        # before x, i.e. sum over a_i < x of (x - a_i) minus sum over b_i < x of (x - b_i);
        # times from epoch 0's onset keep the cumulative sums small (host clocks are large)
        x = epoch * np.arange(n_epochs + 1)  # epoch k: x[k] .. x[k + 1]
        b = t - offset
        a = np.sort(b - v, kind="stable")  # nearly sorted already: fast
        ca, cb = np.concatenate([[0.0], np.cumsum(a)]), np.concatenate([[0.0], np.cumsum(b)])
        na, nb = np.searchsorted(a, x), np.searchsorted(b, x)
        before = (na * x - ca[na]) - (nb * x - cb[nb])
        return np.clip(np.diff(before) / epoch, 0.0, 1.0)
    if kind != "hr":
        raise ValueError(f"heart input kind must be 'rr' or 'hr'; got {kind!r}")
    # grid points of epoch k: ceil(start_k * fs) .. ceil(end_k * fs) - 1, as in live coverage
    starts = offset + epoch * np.arange(n_epochs + 1)
    edges = np.ceil(starts * GRID_FS).astype(np.int64)
    m = int(edges[-1] - edges[0])
    tau = np.arange(edges[0], edges[-1]) / GRID_FS
    # samples at or before each grid point (t <= j / fs exactly when ceil(t * fs) <= j, the
    # count of hold_on_grid): a histogram instead of a binary search per grid point
    first = np.clip(np.ceil(t * GRID_FS) - edges[0], 0, m).astype(np.int64)
    last = np.cumsum(np.bincount(first, minlength=m + 1)[:m]) - 1
    held = (last >= 0) & (tau - t[np.maximum(last, 0)] <= HR_MAX_AGE)
    count = np.concatenate([[0], np.cumsum(held)])[edges - edges[0]]
    return np.diff(count) / np.maximum(np.diff(edges), 1)


def uncovered_epochs(
    kind: str,
    t: np.ndarray,
    v: np.ndarray,
    n_epochs: int,
    offset: float = 0.0,
    epoch: float = 30.0,
    min_coverage: float = MIN_COVERAGE,
) -> np.ndarray:
    """Epochs whose heart samples cover less than ``min_coverage`` of their time.

    Parameters
    ----------
    kind, t, v, n_epochs, offset, epoch
        As in :func:`epoch_coverage`.
    min_coverage : float
        Smallest coverage staged (default :data:`MIN_COVERAGE`: more than 20 % missing is
        unscored, the live engine's rule).

    Returns
    -------
    numpy.ndarray of bool
        ``(n_epochs,)``, True for an epoch to leave unscored.
    """
    return epoch_coverage(kind, t, v, n_epochs, offset, epoch) < min_coverage
