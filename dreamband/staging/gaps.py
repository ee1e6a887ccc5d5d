"""Staging a recording with gaps (a discontinuous EDF+D): the epochs on either side are
staged as one night, the epochs a gap touches are left unscored.

The epoch grid stays the recording's (epoch ``k`` starts ``k`` epoch lengths after the
start time), so onsets keep their meaning across a gap. Every epoch that lies wholly in
the data is cut out and the pieces are joined into one gap-free recording, which the
engines stage as usual: per-night scaling and context then see the whole night rather than
each piece alone. The results are put back on the grid, with the epochs that overlap a gap
unscored (stage ``?``, no probabilities).
"""

from __future__ import annotations

import numpy as np

from dreamband.core.hypnogram import Hypnogram
from dreamband.core.recording import Channel, Recording
from dreamband.errors import InputFileError

__all__ = ["gap_epochs", "join_scored", "spread"]


def gap_epochs(n_epochs: int, epoch_length: float, gaps: list[tuple[float, float]]) -> np.ndarray:
    """Which epochs of the grid overlap a gap.

    Parameters
    ----------
    n_epochs : int
        Epochs on the grid.
    epoch_length : float
        Seconds per epoch.
    gaps : list of (float, float)
        ``(start, end)`` seconds from the recording start.

    Returns
    -------
    numpy.ndarray
        ``(n_epochs,)`` bool, True where an epoch shares time with a gap.
    """
    hit = np.zeros(n_epochs, dtype=bool)
    for start, end in gaps:
        first = int(np.floor(start / epoch_length))
        stop = int(np.ceil(end / epoch_length))
        hit[max(first, 0) : max(min(stop, n_epochs), 0)] = True
    return hit


def _runs(keep: np.ndarray) -> list[tuple[int, int]]:
    edges = np.flatnonzero(np.diff(np.concatenate([[0], keep.astype(np.int8), [0]])))
    return list(zip(edges[::2].tolist(), edges[1::2].tolist(), strict=True))


def join_scored(rec: Recording, names: list[str], keep: np.ndarray,
                epoch_length: float) -> Recording:
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

    Returns
    -------
    Recording
        Same channel names and rates; ``keep.sum()`` epochs long.

    Raises
    ------
    InputFileError
        If a kept epoch still holds a non-finite sample (naming channel and time).
    """
    runs = _runs(keep)
    chans = []
    for name in names:
        c = rec.channel(name)
        pieces = [c.data[round(a * epoch_length * c.fs) : round(b * epoch_length * c.fs)]
                  for a, b in runs]
        data = np.concatenate(pieces) if pieces else c.data[:0]
        bad = np.flatnonzero(~np.isfinite(data))
        if bad.size:
            # find the sample's time on the recording's own clock for the message
            lengths = np.cumsum([p.size for p in pieces])
            j = int(np.searchsorted(lengths, bad[0], side="right"))
            before = int(lengths[j - 1]) if j else 0
            t = runs[j][0] * epoch_length + (bad[0] - before) / c.fs
            raise InputFileError(rec.source or "recording",
                                 f"channel {name!r}: sample at {t:.3f} s is not finite "
                                 "outside the recording's gaps")
        chans.append(Channel(c.name, data, c.fs, c.unit, c.kind))
    return Recording(chans, start_time=rec.start_time, source=rec.source,
                     participant=rec.participant)


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
