"""Streaming R-peak detection for ECG bands (Polar H10 ECG at 130 Hz, ...).

A causal, chunk-invariant detector in the spirit of Pan & Tompkins (IEEE Trans Biomed Eng
1985;32:230-236): 5-20 Hz band-pass (``sosfilt`` with carried state), squared slope,
150-ms moving-window integration, and an adaptive threshold between running signal and noise
peak levels. A QRS is a run of the integrated signal above the threshold; the R peak is the
largest absolute band-passed sample inside the run, so the beat is known when the run ends
(about 0.1 s after the R wave). Beat times lag the R waves by the band-pass delay (about
40 ms, the same for every beat, so RR intervals are unaffected). Runs shorter than 40 ms or
closer than 250 ms (refractory) to the previous beat are noise. Feeding any chunking gives
the same beats.
"""

from __future__ import annotations

import numpy as np
from scipy import signal

__all__ = ["StreamingRPeaks"]

_REFRACTORY = 0.25   # s
_MIN_QRS = 0.04      # s
_LEARN = 2.0         # s of signal used to initialise the levels


class StreamingRPeaks:
    """Detect R peaks in an ECG stream, one chunk at a time.

    Parameters
    ----------
    fs : float
        ECG sampling rate (Hz, >= 50).
    """

    def __init__(self, fs: float) -> None:
        if not fs >= 50:
            raise ValueError(f"ECG sampling rate must be >= 50 Hz for R-peak detection; got {fs}")
        self.fs = float(fs)
        self._sos = signal.butter(2, [5.0, min(20.0, 0.45 * fs)], btype="bandpass", fs=fs,
                                  output="sos")
        self._zi: np.ndarray | None = None
        self._prev = 0.0                      # last band-passed sample (slope)
        self._win = max(1, round(0.15 * fs))
        self._tail = np.zeros(0)              # last win-1 squared slopes (integration)
        self._learn: list[np.ndarray] = []
        self._n_learn = 0
        self.spk = self.npk = None            # running signal / noise peak levels
        self._run: list[tuple[float, float, float]] = []  # (integrated, |bp|, time) in a QRS
        self._last_beat = -np.inf

    def _threshold(self) -> float:
        return self.npk + 0.25 * (self.spk - self.npk)

    def push(self, x: np.ndarray, t: np.ndarray) -> np.ndarray:
        """Add ECG samples ``x`` (µV) with their host times ``t`` (s); return the times of the
        R peaks confirmed by this chunk."""
        x = np.asarray(x, dtype=float).ravel()
        t = np.asarray(t, dtype=float).ravel()
        if x.shape != t.shape:
            raise ValueError(f"{x.size} ECG samples but {t.size} times")
        if x.size == 0:
            return np.empty(0)
        if self._zi is None:
            self._zi = signal.sosfilt_zi(self._sos) * x[0]
        bp, self._zi = signal.sosfilt(self._sos, x, zi=self._zi)
        slope = np.diff(np.concatenate([[self._prev], bp])) * self.fs
        self._prev = float(bp[-1])
        sq = np.concatenate([self._tail, slope * slope])
        c = np.concatenate([[0.0], np.cumsum(sq)])
        w = self._win
        k = self._tail.size
        idx = np.arange(k, sq.size)
        lo = np.maximum(idx - w + 1, 0)
        integ = (c[idx + 1] - c[lo]) / w
        self._tail = sq[-(w - 1):] if w > 1 else np.zeros(0)
        amp = np.abs(bp)
        if self.spk is None:  # learning phase: levels from exactly the first seconds
            self._learn.append(np.vstack([integ, amp, t]))
            self._n_learn += integ.size
            need = round(_LEARN * self.fs)
            if self._n_learn < need:
                return np.empty(0)
            integ, amp, t = np.hstack(self._learn)
            self.spk = float(np.max(integ[:need])) * 0.5
            self.npk = float(np.median(integ[:need]))
            self._learn = []
        return self._scan(integ, amp, t)

    def _scan(self, integ: np.ndarray, amp: np.ndarray, t: np.ndarray) -> np.ndarray:
        beats = []
        thr = self._threshold()
        for v, a, tt in zip(integ, amp, t):
            if v > thr:
                self._run.append((v, a, tt))
                continue
            if self._run:
                beat = self._close_run()
                if beat is not None:
                    beats.append(beat)
                thr = self._threshold()
        return np.asarray(beats, dtype=float)

    def _close_run(self) -> float | None:
        run = self._run
        self._run = []
        peak = max(r[0] for r in run)
        dur = run[-1][2] - run[0][2]
        r_time = max(run, key=lambda r: r[1])[2]
        if dur < _MIN_QRS or r_time - self._last_beat < _REFRACTORY:
            self.npk = 0.875 * self.npk + 0.125 * peak
            return None
        self.spk = 0.875 * self.spk + 0.125 * peak
        self._last_beat = r_time
        return r_time
