"""Slow waves as events: the staging detector's slow waves, each with its properties."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import ClassVar

import numpy as np
from scipy import signal

from dreamband.events.search import (
    EventTable,
    check_event_signal,
    searchable_pieces,
    stage_at_centres,
)
from dreamband.features.detectors import slow_wave_intervals
from dreamband.signal.filters import bandpass_sos

__all__ = ["SlowWaves", "detect_slow_waves", "empty_slow_waves"]

#: Band (Hz) the peaks are read on: the one the detector reads amplitudes on.
AMPLITUDE_BAND_HZ = (0.3, 4.0)

#: Lowest sampling rate (Hz): the detector works at about 10 Hz.
MIN_FS = 10.0

_ARRAYS = ("start", "end", "neg_peak", "pos_peak", "neg_amplitude", "pos_amplitude", "ptp",
           "frequency", "slope", "stage")


@dataclass(frozen=True)
class SlowWaves(EventTable):
    """Slow waves of one channel; times in seconds from the recording start.

    Attributes
    ----------
    start, end : numpy.ndarray
        The zero crossings of the 0.5-2 Hz signal opening the negative half-wave and
        closing the positive one (on the detector's ~10-Hz grid).
    neg_peak, pos_peak : numpy.ndarray
        Times of the negative and the positive peak of the zero-phase 0.3-4 Hz
        band-passed signal: the trough and the later crest with the largest rise between
        them inside the wave.
    neg_amplitude, pos_amplitude : numpy.ndarray
        Their values (µV; the negative one below zero).
    ptp : numpy.ndarray
        Peak to peak, ``pos_amplitude - neg_amplitude`` (µV).
    frequency : numpy.ndarray
        ``1 / duration`` (Hz).
    slope : numpy.ndarray
        Slope from the negative to the positive peak (µV/s).
    stage : numpy.ndarray
        Stage code of the epoch holding the wave's centre (-1: not staged).
    channel : str
        The channel searched.
    """

    ARRAYS: ClassVar[tuple[str, ...]] = _ARRAYS
    start: np.ndarray
    end: np.ndarray
    neg_peak: np.ndarray
    pos_peak: np.ndarray
    neg_amplitude: np.ndarray
    pos_amplitude: np.ndarray
    ptp: np.ndarray
    frequency: np.ndarray
    slope: np.ndarray
    stage: np.ndarray
    channel: str = ""
    meta: dict = field(default_factory=dict, compare=False)


def empty_slow_waves(channel: str = "") -> SlowWaves:
    """A table without slow waves."""
    z = np.zeros(0)
    return SlowWaves(z, z, z, z, z, z, z, z, z, np.zeros(0, np.int8), channel)


def _peaks(
    y: np.ndarray, fs: float, start: np.ndarray, end: np.ndarray
) -> tuple[np.ndarray, ...]:
    """Negative and positive peak times (s from the start of ``y``) and values of each
    wave, from ``y``, the zero-phase 0.3-4 Hz band-passed signal.

    Every wave's span is cut into one row of a matrix (rows as long as the longest wave,
    at most 2 s), and all rows are searched at once. The peaks are the trough and the
    later crest with the largest rise between them (the wave's negative-to-positive
    swing, whichever of the two extremes of the span falls at an edge)."""
    n = start.size
    a = np.clip(np.floor(start * fs).astype(np.int64), 0, y.size - 1)
    b = np.clip(np.ceil(end * fs).astype(np.int64), 0, y.size)
    b = np.maximum(b, a + 1)
    width = int((b - a).max())
    cols = np.arange(width)[None, :]
    rows = y[np.minimum(a[:, None] + cols, y.size - 1)]
    wave = cols < (b - a)[:, None]
    low = np.minimum.accumulate(np.where(wave, rows, np.inf), axis=1)
    k_pos = np.argmax(np.where(wave, rows - low, -np.inf), axis=1)
    k_neg = np.argmin(np.where(cols <= k_pos[:, None], rows, np.inf), axis=1)
    r = np.arange(n)
    return (a + k_neg) / fs, (a + k_pos) / fs, rows[r, k_neg], rows[r, k_pos]


def detect_slow_waves(
    x: np.ndarray,
    fs: float,
    *,
    channel: str = "",
    stages: np.ndarray | None = None,
    epoch_length: float = 30.0,
    offset: float = 0.0,
    include: tuple[int, ...] | None = None,
) -> SlowWaves:
    """Detect slow waves in one EEG channel.

    The detector is the one whose per-epoch counts the stager reads (a negative then a
    positive half-wave between zero crossings of the 0.5-2 Hz signal, 0.5-2 s in all,
    peak to peak on the 0.3-4 Hz band at least the staging threshold, adapted to the
    night's amplitude; :func:`dreamband.features.detectors.slow_wave_intervals`), so a
    slow wave in this table is one the staging evidence counted. Peaks, amplitudes and
    slopes are then read on the full-rate signal, zero-phase band-passed at 0.3-4 Hz
    (each piece filtered whole, so no wave sits on a filter edge).

    Parameters
    ----------
    x : numpy.ndarray
        1-D EEG in µV. NaN marks gaps: as in staging, an epoch missing at most 20 % of
        its samples is bridged by linear interpolation
        (:func:`dreamband.staging.gaps.bridge_small_gaps`); the pieces between larger
        gaps are searched on their own, each with its own amplitude adaptation; pieces
        shorter than one epoch are skipped.
    fs : float
        Sampling rate in Hz (≥ 10 Hz).
    channel : str
        Channel name, kept in the result.
    stages : numpy.ndarray, optional
        Stage codes of the night's epochs (a hypnogram's ``stages``); each wave gets the
        stage of the epoch holding its centre.
    epoch_length, offset : float
        Epoch length and the first epoch's onset (s) of ``stages``.
    include : tuple of int, optional
        Keep only waves whose epoch has one of these stage codes (needs ``stages``),
        e.g. N1, N2 and N3.

    Returns
    -------
    SlowWaves
        ``meta`` holds ``pieces`` (pieces searched) and ``threshold_uv`` (the threshold
        used in each piece, µV).

    Raises
    ------
    ValueError
        If the signal is not 1-D, lasts less than one epoch, or is sampled too slowly.
    """
    x = check_event_signal(x, fs, epoch_length, MIN_FS, "slow waves", include, stages)
    sos = bandpass_sos(*AMPLITUDE_BAND_HZ, fs, order=2)
    found: list[tuple[np.ndarray, ...]] = []
    thresholds = []
    for a, piece in searchable_pieces(x, fs, epoch_length):
        s, e, _, thr = slow_wave_intervals(piece, fs, epoch_length)
        thresholds.append(thr)
        if s.size:
            # the peaks on the piece's zero-phase 0.3-4 Hz signal (no edge transient)
            t_neg, t_pos, v_neg, v_pos = _peaks(signal.sosfiltfilt(sos, piece), fs, s, e)
            t0 = a / fs
            found.append((s + t0, e + t0, t_neg + t0, t_pos + t0, v_neg, v_pos))
    meta = {"pieces": len(thresholds), "threshold_uv": thresholds}
    if not found:
        return replace(empty_slow_waves(channel), meta=meta)
    start, end, t_neg, t_pos, v_neg, v_pos = (np.concatenate(c) for c in zip(*found))
    with np.errstate(invalid="ignore", divide="ignore"):
        slope = np.where(t_pos > t_neg, (v_pos - v_neg) / (t_pos - t_neg), np.nan)
    stage = stage_at_centres(start, end, stages, epoch_length, offset)
    out = SlowWaves(start, end, t_neg, t_pos, v_neg, v_pos, v_pos - v_neg,
                    1.0 / (end - start), slope, stage, channel, meta=meta)
    if include is not None:
        out = out.select(np.isin(out.stage, np.asarray(include)))
    return out
