"""Sleep spindles as events: the staging detector's spindles, each with its properties."""

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
from dreamband.features.detectors import spindle_intervals

__all__ = ["Spindles", "detect_spindles", "empty_spindles"]

#: Sigma band of the spindle detector (Hz).
SIGMA_BAND = (11.0, 16.0)

#: Seconds of signal filtered on each side of a spindle for its properties.
_PAD_S = 1.0


@dataclass(frozen=True)
class Spindles(EventTable):
    """Spindles of one channel; times in seconds from the recording start.

    Attributes
    ----------
    start, end, peak : numpy.ndarray
        Onset, end and the time of the largest sigma-band deflection.
    amplitude : numpy.ndarray
        Peak-to-peak amplitude of the 11-16 Hz band-passed signal (µV).
    rms : numpy.ndarray
        RMS of the band-passed signal over the spindle (µV).
    frequency : numpy.ndarray
        Oscillation frequency from the band-passed signal's zero crossings (Hz).
    oscillations : numpy.ndarray
        Number of positive peaks of the band-passed signal.
    symmetry : numpy.ndarray
        Position of the peak in the spindle, 0 (start) to 1 (end).
    stage : numpy.ndarray
        Stage code of the epoch holding the spindle's centre (-1: not staged).
    channel : str
        The channel searched.
    """

    ARRAYS: ClassVar[tuple[str, ...]] = (
        "start", "end", "peak", "amplitude", "rms", "frequency", "oscillations", "symmetry",
        "stage",
    )
    start: np.ndarray
    end: np.ndarray
    peak: np.ndarray
    amplitude: np.ndarray
    rms: np.ndarray
    frequency: np.ndarray
    oscillations: np.ndarray
    symmetry: np.ndarray
    stage: np.ndarray
    channel: str = ""
    meta: dict = field(default_factory=dict, compare=False)


def empty_spindles(channel: str = "") -> Spindles:
    """A table without spindles."""
    z = np.zeros(0)
    return Spindles(z, z, z, z, z, z, np.zeros(0, np.int64), z, np.zeros(0, np.int8), channel)


def _properties(
    x: np.ndarray, fs: float, start: np.ndarray, end: np.ndarray
) -> tuple[np.ndarray, ...]:
    """Peak time, amplitude, RMS, frequency, oscillations and symmetry of each spindle,
    from the zero-phase band-passed signal around it.

    Every spindle's stretch, with :data:`_PAD_S` of signal each side, is cut into one row
    of a matrix (rows as long as the longest), and all rows are filtered at once."""
    n = start.size
    a = np.clip(np.floor(start * fs).astype(np.int64), 0, x.size)
    b = np.clip(np.ceil(end * fs).astype(np.int64), 0, x.size)
    b = np.maximum(b, a)
    pad = round(_PAD_S * fs)
    width = int((b - a).max()) + 2 * pad if n else 0
    idx = (a - pad)[:, None] + np.arange(width)[None, :]
    inside = (idx >= 0) & (idx < x.size)
    rows = np.where(inside, x[np.clip(idx, 0, x.size - 1)], 0.0)
    sos = signal.butter(4, SIGMA_BAND, btype="bandpass", fs=fs, output="sos")
    y = signal.sosfiltfilt(sos, rows, axis=1, padlen=min(27, width - 1))
    cols = np.arange(width)[None, :]
    mask = (cols >= pad) & (cols < pad + (b - a)[:, None])  # the spindle itself
    length = np.maximum(mask.sum(axis=1), 1)
    ym = np.where(mask, y, 0.0)
    k = np.argmax(np.abs(ym), axis=1)
    peak = (a - pad + k) / fs
    amp = np.where(mask, y, -np.inf).max(axis=1) - np.where(mask, y, np.inf).min(axis=1)
    rms = np.sqrt((ym * ym).sum(axis=1) / length)
    # zero crossings inside the spindle: (crossings - 1) half periods between the first
    # and the last
    cross = mask[:, 1:] & mask[:, :-1] & (np.signbit(y[:, 1:]) != np.signbit(y[:, :-1]))
    n_cross = cross.sum(axis=1)
    first = np.argmax(cross, axis=1)
    last = width - 2 - np.argmax(cross[:, ::-1], axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        freq = np.where(n_cross >= 2, (n_cross - 1) * fs / (2.0 * (last - first)), np.nan)
    top = (mask[:, 1:-1] & (y[:, 1:-1] > y[:, :-2]) & (y[:, 1:-1] >= y[:, 2:])
           & (y[:, 1:-1] > 0))
    osc = top.sum(axis=1).astype(np.int64)
    dur = end - start
    sym = np.where(dur > 0, (peak - start) / np.where(dur > 0, dur, 1.0), np.nan)
    return peak, amp, rms, freq, osc, sym


def detect_spindles(
    x: np.ndarray,
    fs: float,
    *,
    channel: str = "",
    stages: np.ndarray | None = None,
    epoch_length: float = 30.0,
    offset: float = 0.0,
    include: tuple[int, ...] | None = None,
) -> Spindles:
    """Detect sleep spindles in one EEG channel.

    The detector is the one whose per-epoch counts the stager reads (11-16 Hz RMS above
    the night's mean + 1.5 SD with the sigma band holding ≥ 20 % of the signal's
    variance, 0.5-3 s; :func:`dreamband.features.detectors.spindles`), so a spindle in
    this table is one the staging evidence counted.

    Parameters
    ----------
    x : numpy.ndarray
        1-D EEG in µV. NaN marks gaps (as :func:`dreamband.io.edf.read_edf` gives for
        EDF+D files and lost band samples): as in staging, an epoch missing at most 20 %
        of its samples is bridged by linear interpolation
        (:func:`dreamband.staging.gaps.bridge_small_gaps`); the pieces between larger
        gaps are searched on their own, each with its own threshold; pieces shorter than
        one epoch are skipped.
    fs : float
        Sampling rate in Hz (≥ 40 Hz: the sigma band needs it).
    channel : str
        Channel name, kept in the result.
    stages : numpy.ndarray, optional
        Stage codes of the night's epochs (a hypnogram's ``stages``); each spindle gets
        the stage of the epoch holding its centre.
    epoch_length, offset : float
        Epoch length and the first epoch's onset (s) of ``stages``.
    include : tuple of int, optional
        Keep only spindles whose epoch has one of these stage codes (needs ``stages``),
        e.g. N1, N2 and N3.

    Returns
    -------
    Spindles

    Raises
    ------
    ValueError
        If the signal is not 1-D, lasts less than one epoch, or is sampled too slowly.
    """
    x = check_event_signal(x, fs, epoch_length, 40.0, "spindles (11-16 Hz)", include, stages)
    found: list[tuple[np.ndarray, ...]] = []
    pieces = 0
    for a, piece in searchable_pieces(x, fs, epoch_length):
        pieces += 1
        s, e = spindle_intervals(piece, fs, epoch_length)
        if s.size:
            peak, amp, rms, freq, osc, sym = _properties(piece, fs, s, e)
            t0 = a / fs
            found.append((s + t0, e + t0, peak + t0, amp, rms, freq, osc, sym))
    if not found:
        return replace(empty_spindles(channel), meta={"pieces": pieces})
    start, end, peak, amp, rms, freq, osc, sym = (np.concatenate(c) for c in zip(*found))
    stage = stage_at_centres(start, end, stages, epoch_length, offset)
    out = Spindles(start, end, peak, amp, rms, freq, osc, sym, stage, channel,
                   meta={"pieces": pieces})
    if include is not None:
        out = out.select(np.isin(out.stage, np.asarray(include)))
    return out
