"""Butterworth filters as second-order sections, applied causally or zero-phase.

Two ways to apply the same design, named for what they do:

- :func:`filter_causal` / :class:`CausalFilter` run ``scipy.signal.sosfilt`` forward only,
  carrying the filter state ``zi`` between chunks, so a live stream fed in any chunking
  gives exactly the one-pass result (the output is delayed by the filter's group delay).
- :func:`filter_zero_phase` runs ``scipy.signal.sosfiltfilt`` over a whole recording
  (no delay, squared magnitude response) for batch work.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from scipy import signal

__all__ = [
    "MAINS_HZ",
    "CausalFilter",
    "bandpass_sos",
    "filter_causal",
    "filter_zero_phase",
    "highpass_sos",
    "lowpass_sos",
    "mains_notch_sos",
    "remove_mains",
]

#: Mains frequencies (Hz) notched out of EEG, EOG and EMG before the detectors bring them
#: down to their working rates (Europe/Asia 50 Hz, the Americas 60 Hz: both, always).
MAINS_HZ: tuple[float, ...] = (50.0, 60.0)


def _check_fs(fs: float, top: float, what: str) -> float:
    fs = float(fs)
    if not (np.isfinite(fs) and fs > 0):
        raise ValueError(f"fs must be a positive number of Hz; got {fs}")
    if top >= fs / 2:
        raise ValueError(
            f"{what}: edge {top:g} Hz needs a sampling rate above {2 * top:g} Hz; got fs={fs:g} Hz"
        )
    return fs


@lru_cache(maxsize=64)
def _butter(order: int, edges: tuple[float, ...], btype: str, fs: float) -> np.ndarray:
    sos = signal.butter(order, list(edges) if len(edges) > 1 else edges[0], btype=btype,
                        fs=fs, output="sos")
    return sos


def bandpass_sos(low: float, high: float, fs: float, order: int = 4) -> np.ndarray:
    """Design a Butterworth band-pass filter as second-order sections.

    Parameters
    ----------
    low, high : float
        Pass-band edges in Hz (``0 < low < high < fs / 2``).
    fs : float
        Sampling rate in Hz.
    order : int
        Order of the low-pass prototype (the band-pass has twice as many poles).

    Returns
    -------
    numpy.ndarray
        ``(n_sections, 6)`` SOS array for :func:`filter_causal` / :func:`filter_zero_phase`.

    Raises
    ------
    ValueError
        If the edges are not ordered or the sampling rate is too low for ``high``.
    """
    if not 0 < low < high:
        raise ValueError(f"band-pass edges must satisfy 0 < low < high; got {low}, {high}")
    fs = _check_fs(fs, high, f"band-pass {low:g}-{high:g} Hz")
    return _butter(int(order), (float(low), float(high)), "bandpass", fs).copy()


def highpass_sos(cutoff: float, fs: float, order: int = 2) -> np.ndarray:
    """Design a Butterworth high-pass filter (SOS); see :func:`bandpass_sos`."""
    if cutoff <= 0:
        raise ValueError(f"high-pass cutoff must be positive; got {cutoff}")
    fs = _check_fs(fs, cutoff, f"high-pass {cutoff:g} Hz")
    return _butter(int(order), (float(cutoff),), "highpass", fs).copy()


def lowpass_sos(cutoff: float, fs: float, order: int = 4) -> np.ndarray:
    """Design a Butterworth low-pass filter (SOS); see :func:`bandpass_sos`."""
    if cutoff <= 0:
        raise ValueError(f"low-pass cutoff must be positive; got {cutoff}")
    fs = _check_fs(fs, cutoff, f"low-pass {cutoff:g} Hz")
    return _butter(int(order), (float(cutoff),), "lowpass", fs).copy()


def filter_zero_phase(x: np.ndarray, sos: np.ndarray, axis: int = -1) -> np.ndarray:
    """Zero-phase (forward-backward, non-causal) filtering for batch work.

    Parameters
    ----------
    x : numpy.ndarray
        Signal(s); filtered along ``axis``.
    sos : numpy.ndarray
        Second-order sections from :func:`bandpass_sos` and friends.

    Returns
    -------
    numpy.ndarray
        Filtered signal, same shape, no phase delay.
    """
    x = np.asarray(x, dtype=np.float64)
    padlen = min(3 * (2 * len(sos) + 1), x.shape[axis] - 1)
    return signal.sosfiltfilt(sos, x, axis=axis, padlen=max(padlen, 0))


def filter_causal(
    x: np.ndarray, sos: np.ndarray, zi: np.ndarray | None = None, axis: int = -1
) -> tuple[np.ndarray, np.ndarray]:
    """Causal (forward-only) filtering with carried state, for live streams.

    Parameters
    ----------
    x : numpy.ndarray
        A chunk of signal; filtered along ``axis``.
    sos : numpy.ndarray
        Second-order sections.
    zi : numpy.ndarray, optional
        State returned by the previous call; None starts in the steady state of a signal
        held at the chunk's first value (no start-up transient).

    Returns
    -------
    y : numpy.ndarray
        Filtered chunk.
    zf : numpy.ndarray
        State to pass as ``zi`` with the next chunk.
    """
    x = np.asarray(x, dtype=np.float64)
    if zi is None:
        # steady state for a signal that has been at its first value forever: no start-up
        # step (a band-pass then starts at 0 instead of ringing on the offset)
        first = np.take(x, [0], axis=axis)
        base = signal.sosfilt_zi(sos)  # (n_sections, 2)
        shape = [1] * x.ndim
        shape[axis] = 2
        zi = base.reshape((sos.shape[0], *shape)) * first[np.newaxis]
    return signal.sosfilt(sos, x, axis=axis, zi=zi)


class CausalFilter:
    """A causal SOS filter that keeps its state between chunks of a stream.

    Parameters
    ----------
    sos : numpy.ndarray
        Second-order sections.

    Examples
    --------
    >>> f = CausalFilter(bandpass_sos(11, 16, 100.0))
    >>> y1 = f(chunk1); y2 = f(chunk2)   # doctest: +SKIP
    """

    def __init__(self, sos: np.ndarray) -> None:
        self.sos = np.asarray(sos, dtype=np.float64)
        self._zi: np.ndarray | None = None

    def reset(self) -> None:
        """Forget the carried state (the next chunk starts a new stream)."""
        self._zi = None

    def __call__(self, chunk: np.ndarray) -> np.ndarray:
        """Filter the next 1-D chunk of the stream and return it."""
        y, self._zi = filter_causal(np.asarray(chunk, dtype=np.float64), self.sos, self._zi)
        return y


@lru_cache(maxsize=32)
def mains_notch_sos(fs: float, q: float = 30.0) -> np.ndarray | None:
    """Notches at the :data:`MAINS_HZ` frequencies a signal sampled at ``fs`` can hold.

    Parameters
    ----------
    fs : float
        Sampling rate (Hz).
    q : float
        Quality factor (30: a notch about 2 Hz wide).

    Returns
    -------
    numpy.ndarray or None
        Second-order sections, one per frequency at least 1 Hz below ``fs / 2``; None when
        there is none (at 100 Hz, 50 Hz is the Nyquist frequency: the amplifier's
        anti-alias filter has already dealt with mains).
    """
    sections = []
    for f0 in MAINS_HZ:
        if f0 < fs / 2.0 - 1.0:
            b, a = signal.iirnotch(f0, q, fs=fs)
            sections.append(signal.tf2sos(b, a))
    if not sections:
        return None
    return np.vstack(sections)


def remove_mains(x: np.ndarray, fs: float) -> np.ndarray:
    """``x`` without mains hum: causal notches at 50 and 60 Hz (:func:`mains_notch_sos`).

    Consumer headbands and open amplifier boards stream unfiltered EEG, whose hum the
    detectors' block-mean decimation would fold into the EEG bands (60 Hz read at ~51 Hz
    lands at 9 Hz, in alpha). Forward-only, from the steady state of the first sample, so
    batch and a live stream fed in any chunking see the same samples. Returns ``x`` itself
    when the rate holds no mains frequency.

    Parameters
    ----------
    x : numpy.ndarray
        1-D signal.
    fs : float
        Sampling rate (Hz).

    Returns
    -------
    numpy.ndarray
    """
    sos = mains_notch_sos(float(fs))
    if sos is None:
        return x
    return filter_causal(x, sos)[0]
