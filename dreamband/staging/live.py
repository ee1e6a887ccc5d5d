"""Live staging: push sample chunks, get each epoch's stage as soon as it is decided.

:class:`LiveStager` keeps the samples of the night so far and, whenever an epoch
completes, runs the *same* causal evidence and rules code as
``stage(..., causal=True, lag=lag)`` over the night so far. So a stream fed in any
chunking announces exactly the probabilities a one-pass causal run gives. The cost of
an update grows with the night (about 0.3 s for an 8-h night on one core), well inside a
30-s epoch.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dreamband.features.eeg import compute_evidence
from dreamband.staging.rules import stage_rules

__all__ = ["LiveEpoch", "LiveStager"]


@dataclass(frozen=True)
class LiveEpoch:
    """One decided epoch: index from the stream start, stage code and probabilities."""

    index: int
    onset: float
    stage: int
    probabilities: np.ndarray


class LiveStager:
    """Causal rules-engine staging of a stream.

    Parameters
    ----------
    fs : float
        EEG sampling rate (Hz).
    epoch_length : float
        Epoch length (s).
    lag : int
        Announce each epoch ``lag`` epochs after it ends (fixed-lag smoothing).
    fs_eog, fs_emg : float, optional
        Rates of the EOG (LOC or horizontal; plus ROC) and chin EMG streams, when pushed.
    """

    def __init__(
        self,
        fs: float,
        epoch_length: float = 30.0,
        lag: int = 0,
        fs_eog: float | None = None,
        fs_emg: float | None = None,
    ) -> None:
        if lag < 0:
            raise ValueError(f"lag must be >= 0 epochs; got {lag}")
        self.fs = float(fs)
        self.epoch_length = float(epoch_length)
        self.lag = int(lag)
        self.fs_eog = fs_eog
        self.fs_emg = fs_emg
        self._eeg: list[np.ndarray] = []
        self._eog: list[np.ndarray] = []
        self._roc: list[np.ndarray] = []
        self._emg: list[np.ndarray] = []
        self._n = 0
        self._announced = 0

    @property
    def announced(self) -> int:
        """Epochs announced so far."""
        return self._announced

    def push(
        self,
        eeg: np.ndarray,
        eog: np.ndarray | None = None,
        roc: np.ndarray | None = None,
        emg: np.ndarray | None = None,
    ) -> list[LiveEpoch]:
        """Add a chunk (µV; the other streams covering the same time span) and return the
        epochs decided by it (possibly none)."""
        eeg = np.asarray(eeg, dtype=np.float64).ravel()
        self._eeg.append(eeg)
        self._n += eeg.size
        for buf, chunk in ((self._eog, eog), (self._roc, roc), (self._emg, emg)):
            if chunk is not None:
                buf.append(np.asarray(chunk, dtype=np.float64).ravel())
        n_per = round(self.epoch_length * self.fs)
        complete = self._n // n_per
        decided = complete - self.lag
        if decided <= self._announced:
            return []
        probs = self._probabilities(complete * n_per)
        out = []
        for i in range(self._announced, decided):
            p = probs[i]
            out.append(LiveEpoch(i, i * self.epoch_length, int(np.argmax(p)), p))
        self._announced = decided
        return out

    def _probabilities(self, n_samples: int) -> np.ndarray:
        whole = np.concatenate(self._eeg)
        self._eeg = [whole]  # compact the buffer
        eeg = whole[:n_samples]
        kw: dict = {}
        t_end = n_samples / self.fs
        if self._eog:
            f = self.fs_eog or self.fs
            kw["eog"] = np.concatenate(self._eog)[: round(t_end * f)]
            kw["fs_eog"] = f
            if self._roc:
                kw["roc"] = np.concatenate(self._roc)[: round(t_end * f)]
        if self._emg:
            f = self.fs_emg or self.fs
            kw["emg"] = np.concatenate(self._emg)[: round(t_end * f)]
            kw["fs_emg"] = f
        ev = compute_evidence(eeg, self.fs, epoch_length=self.epoch_length, causal=True, **kw)
        return stage_rules(ev, lag=self.lag).probabilities
