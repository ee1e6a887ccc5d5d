"""Staging a recording with gaps (a discontinuous EDF+D, or a band's lost samples marked
``BAD_ACQ_SKIP`` by ``dreamband export``), by the live engine's rule.

The epoch grid stays the recording's (epoch ``k`` starts ``k`` epoch lengths after the
start time), so onsets keep their meaning across a gap. As in the live engine
(:mod:`dreamband.live.epocher`), an epoch missing more than :data:`MAX_MISSING` of its
time is unscored (stage ``?``, no probabilities), never invented; a smaller loss (a few
lost packets) is bridged by linear interpolation. The scored epochs are cut out and joined
into one gap-free recording, which the engines stage as usual: per-night scaling and
context then see the whole night rather than each piece alone; the results are put back on
the grid.
"""

from __future__ import annotations

import numpy as np

from dreamband.core.hypnogram import Hypnogram
from dreamband.core.recording import Channel, Recording
from dreamband.errors import InputFileError

__all__ = ["MAX_MISSING", "bridge_small_gaps", "gap_epochs", "gap_fraction", "join_scored",
           "spread"]

#: Largest fraction of an epoch without data that is still staged (the missing samples
#: bridged by linear interpolation); the live engine's default ``max_missing``.
MAX_MISSING = 0.2


def gap_fraction(n_epochs: int, epoch_length: float,
                 gaps: list[tuple[float, float]]) -> np.ndarray:
    """Fraction of each epoch of the grid that lies in a gap.

    Parameters
    ----------
    n_epochs : int
        Epochs on the grid.
    epoch_length : float
        Seconds per epoch.
    gaps : list of (float, float)
        ``(start, end)`` seconds from the recording start, not overlapping.

    Returns
    -------
    numpy.ndarray
        ``(n_epochs,)`` fractions in ``[0, 1]``.
    """
    covered = np.zeros(n_epochs)
    for start, end in gaps:
        first = max(int(np.floor(start / epoch_length)), 0)
        stop = min(int(np.ceil(end / epoch_length)), n_epochs)
        for k in range(first, stop):
            a, b = k * epoch_length, (k + 1) * epoch_length
            covered[k] += max(0.0, min(b, end) - max(a, start))
    return np.minimum(covered / epoch_length, 1.0)


def gap_epochs(n_epochs: int, epoch_length: float, gaps: list[tuple[float, float]],
               max_missing: float = MAX_MISSING) -> np.ndarray:
    """Which epochs of the grid miss more than ``max_missing`` of their time to gaps.

    Parameters
    ----------
    n_epochs : int
        Epochs on the grid.
    epoch_length : float
        Seconds per epoch.
    gaps : list of (float, float)
        ``(start, end)`` seconds from the recording start.
    max_missing : float
        Largest fraction still staged; 0 leaves every epoch a gap touches unscored.

    Returns
    -------
    numpy.ndarray
        ``(n_epochs,)`` bool, True where the epoch is left unscored.
    """
    frac = gap_fraction(n_epochs, epoch_length, gaps)
    return frac > max_missing if max_missing > 0 else frac > 0


def _runs(keep: np.ndarray) -> list[tuple[int, int]]:
    edges = np.flatnonzero(np.diff(np.concatenate([[0], keep.astype(np.int8), [0]])))
    return list(zip(edges[::2].tolist(), edges[1::2].tolist(), strict=True))


def join_scored(rec: Recording, names: list[str], keep: np.ndarray, epoch_length: float,
                gaps: list[tuple[float, float]] | None = None) -> Recording:
    """The kept epochs of the named channels, joined into one recording without gaps.

    Parameters
    ----------
    rec : Recording
        The recording (NaN where it has no data).
    names : list of str
        Channels to keep.
    keep : numpy.ndarray
        ``(n_epochs,)`` bool: the epochs to keep.
    epoch_length : float
        Seconds per epoch.
    gaps : list of (float, float), optional
        The recording's gaps: their NaN samples inside kept epochs are bridged by linear
        interpolation.

    Returns
    -------
    Recording
        Same channel names and rates; ``keep.sum()`` epochs long.

    Raises
    ------
    InputFileError
        If a kept epoch holds a non-finite sample outside the gaps (naming channel and
        time).
    """
    runs = _runs(keep)
    chans = []
    for name in names:
        c = rec.channel(name)
        fs = c.fs
        in_gap = np.zeros(c.data.size, dtype=bool)
        for a, b in gaps or []:  # the gaps' samples: bridged below
            in_gap[max(round(a * fs), 0) : max(round(b * fs), 0)] = True
        cuts = [slice(round(a * epoch_length * fs), round(b * epoch_length * fs))
                for a, b in runs]
        data = np.concatenate([c.data[k] for k in cuts]) if cuts else c.data[:0].copy()
        hole = np.concatenate([in_gap[k] for k in cuts]) if cuts else in_gap[:0]
        bad = np.flatnonzero(~np.isfinite(data) & ~hole)
        if bad.size:
            # the sample's time on the recording's own clock, for the message
            lengths = np.cumsum([k.stop - k.start for k in cuts])
            j = int(np.searchsorted(lengths, bad[0], side="right"))
            before = int(lengths[j - 1]) if j else 0
            t = runs[j][0] * epoch_length + (bad[0] - before) / fs
            raise InputFileError(rec.source or "recording",
                                 f"channel {name!r}: sample at {t:.3f} s is not finite "
                                 "outside the recording's gaps")
        if hole.any():
            ok = np.flatnonzero(~hole)
            if ok.size == 0:
                raise InputFileError(rec.source or "recording",
                                     f"channel {name!r}: no sample outside the gaps")
            data[hole] = np.interp(np.flatnonzero(hole), ok, data[ok])
        chans.append(Channel(c.name, data, c.fs, c.unit, c.kind))
    return Recording(chans, start_time=rec.start_time, source=rec.source,
                     participant=rec.participant)


def bridge_small_gaps(x: np.ndarray, fs: float, epoch_length: float = 30.0) -> np.ndarray:
    """A signal's small losses bridged by the staging rule, its large ones kept as NaN.

    Within each epoch of the recording's grid (the last, partial one included) that misses
    at most :data:`MAX_MISSING` of its samples, the missing (NaN) samples are filled by
    linear interpolation; epochs missing more stay NaN throughout, so that detectors
    (spindles, eye movements) search the pieces between them on their own. A band that
    loses a packet every few seconds then gives one piece, not hundreds too short to search.

    Parameters
    ----------
    x : numpy.ndarray
        1-D signal, NaN where it has no data.
    fs : float
        Sampling rate in Hz.
    epoch_length : float
        Epoch length in seconds.

    Returns
    -------
    numpy.ndarray
        ``x`` itself when it has no NaN, else a bridged float64 copy.
    """
    finite = np.isfinite(x)
    if finite.all():
        return x
    per = max(round(epoch_length * fs), 1)
    k = np.arange(x.size) // per  # epoch of each sample
    missing = np.bincount(k, weights=~finite) / np.bincount(k)
    lost = missing[k] > MAX_MISSING
    y = np.asarray(x, dtype=np.float64).copy()
    fill = ~finite & ~lost
    ok = np.flatnonzero(finite)
    if fill.any() and ok.size:
        y[fill] = np.interp(np.flatnonzero(fill), ok, y[ok])
    y[lost] = np.nan
    return y


def spread(hyp: Hypnogram, keep: np.ndarray) -> Hypnogram:
    """Put a hypnogram of the kept epochs back on the full grid, unscored elsewhere.

    Parameters
    ----------
    hyp : Hypnogram
        One epoch per True in ``keep``, in order.
    keep : numpy.ndarray
        ``(n_epochs,)`` bool.

    Returns
    -------
    Hypnogram
        ``keep.size`` epochs; stage -1 and NaN probabilities where ``keep`` is False.
        ``meta`` is the input's, with ``bad_epochs`` spread the same way (False in gaps)
        and ``gap_epochs`` (True where unscored for a gap).
    """
    idx = np.flatnonzero(keep)
    if idx.size != hyp.n_epochs:
        raise ValueError(f"{hyp.n_epochs} staged epochs for {idx.size} kept ones")
    stages = np.full(keep.size, -1, dtype=np.int8)
    stages[idx] = hyp.stages
    probs = None
    if hyp.probabilities is not None:
        probs = np.full((keep.size, hyp.probabilities.shape[1]), np.nan)
        probs[idx] = hyp.probabilities
    meta = dict(hyp.meta)
    if "bad_epochs" in meta:
        bad = np.zeros(keep.size, dtype=bool)
        bad[idx] = np.asarray(meta["bad_epochs"], dtype=bool)
        meta["bad_epochs"] = bad
    meta["gap_epochs"] = ~keep
    return Hypnogram(stages=stages, epoch_length=hyp.epoch_length, start_time=hyp.start_time,
                     offset=hyp.offset, probabilities=probs, source=hyp.source,
                     scheme=hyp.scheme, meta=meta)
