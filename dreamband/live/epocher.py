"""Cut live sample streams into epochs on one session-wide grid.

Every participant's epochs line up: epoch ``j`` covers host time
``[origin + j * L, origin + (j + 1) * L)`` for all of them. Samples are placed in their
epoch by their (clock-mapped) host time; samples that never arrived stay missing. An epoch
whose missing fraction exceeds ``max_missing`` is handed on as *unscored* (no data), never
invented; a smaller loss is bridged by linear interpolation and reported in
``Epoch.missing``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = ["Epoch", "EpochGrid", "RegularEpocher"]


@dataclass(frozen=True)
class EpochGrid:
    """The session-wide epoch grid: ``origin`` (host seconds) and epoch length (s)."""

    origin: float
    epoch_length: float = 30.0

    def __post_init__(self) -> None:
        if not self.epoch_length > 0:
            raise ValueError(f"epoch_length must be positive; got {self.epoch_length}")

    def index(self, t: float | np.ndarray) -> np.ndarray:
        """Epoch index of host time(s) ``t``."""
        return np.floor((np.asarray(t, dtype=float) - self.origin) / self.epoch_length).astype(
            np.int64
        )

    def start(self, j: int) -> float:
        """Host time at which epoch ``j`` starts."""
        return self.origin + j * self.epoch_length


@dataclass(frozen=True)
class Epoch:
    """One completed epoch of one participant's stream.

    Attributes
    ----------
    index : int
        Epoch number on the session grid.
    start : float
        Host time of the epoch start (s).
    data : numpy.ndarray or None
        ``(n_channels, n_samples)`` samples, or None when the epoch is unscored (too much
        signal missing).
    missing : float
        Fraction of samples that never arrived (0-1).
    last_sample_time : float
        Host time of the newest sample that completed the epoch (latency reference).
    """

    index: int
    start: float
    data: np.ndarray | None
    missing: float
    last_sample_time: float

    @property
    def scored(self) -> bool:
        """Whether the epoch has enough signal to be staged."""
        return self.data is not None


class RegularEpocher:
    """Epochs of a regularly sampled stream (EEG, ECG) from arbitrary blocks.

    Parameters
    ----------
    grid : EpochGrid
        The session grid.
    fs : float
        Nominal sampling rate in Hz.
    n_channels : int
        Rows per block.
    max_missing : float
        Largest missing fraction an epoch may have and still be scored.

    Notes
    -----
    An epoch is complete when a sample of a later epoch arrives, or when :meth:`flush`
    is called with a host time past its end plus ``grace`` (a band that went silent).
    Samples older than the epoch in progress (late or duplicated) are dropped and
    counted in :attr:`late_samples`.
    """

    def __init__(self, grid: EpochGrid, fs: float, n_channels: int, max_missing: float = 0.2):
        if not (fs > 0 and math.isfinite(fs)):
            raise ValueError(f"fs must be a positive number; got {fs}")
        if n_channels < 1:
            raise ValueError(f"n_channels must be >= 1; got {n_channels}")
        if not 0.0 <= max_missing < 1.0:
            raise ValueError(f"max_missing must be in [0, 1); got {max_missing}")
        self.grid = grid
        self.fs = float(fs)
        self.n_channels = int(n_channels)
        self.max_missing = float(max_missing)
        self.n_per_epoch = round(grid.epoch_length * fs)
        self.late_samples = 0
        self._current: int | None = None
        self._buf = np.full((self.n_channels, self.n_per_epoch), np.nan)
        self._last_time = -math.inf

    def push(self, samples: np.ndarray, host_time: np.ndarray) -> list[Epoch]:
        """Add samples ``(n_channels, n)`` with their host times; return completed epochs."""
        samples = np.asarray(samples, dtype=float)
        host_time = np.asarray(host_time, dtype=float)
        if samples.ndim != 2 or samples.shape[0] != self.n_channels:
            raise ValueError(
                f"expected samples of shape ({self.n_channels}, n); got {samples.shape}"
            )
        if host_time.shape != (samples.shape[1],):
            raise ValueError(f"{samples.shape[1]} samples but {host_time.size} host times")
        if samples.shape[1] == 0:
            return []
        done: list[Epoch] = []
        idx = self.grid.index(host_time)
        if self._current is None:
            self._current = int(idx[0])
        late = idx < self._current
        if late.any():
            self.late_samples += int(late.sum())
            keep = ~late
            samples, host_time, idx = samples[:, keep], host_time[keep], idx[keep]
        # epochs present in this block, in order (blocks are time-ordered)
        for j in np.unique(idx):
            j = int(j)
            while self._current < j:
                done.append(self._emit())
            sel = idx == j
            offs = (host_time[sel] - self.grid.start(j)) * self.fs
            slots = np.clip(np.round(offs).astype(np.int64), 0, self.n_per_epoch - 1)
            self._buf[:, slots] = samples[:, sel]
            self._last_time = max(self._last_time, float(host_time[sel][-1]))
        return done

    def flush(self, now: float, grace: float = 0.0) -> list[Epoch]:
        """Complete every epoch that ended before ``now - grace`` (a silent band)."""
        done: list[Epoch] = []
        if self._current is None:
            return done
        while self.grid.start(self._current + 1) <= now - grace:
            done.append(self._emit())
        return done

    def _emit(self) -> Epoch:
        j = self._current
        assert j is not None  # internal invariant: set before any emit
        buf = self._buf
        nan = np.isnan(buf[0])
        missing = float(nan.mean())
        data = None
        if missing <= self.max_missing:
            data = buf.copy()
            if nan.any():
                x = np.arange(self.n_per_epoch)
                for row in data:
                    row[nan] = np.interp(x[nan], x[~nan], row[~nan])
        epoch = Epoch(j, self.grid.start(j), data, missing, self._last_time)
        self._buf = np.full((self.n_channels, self.n_per_epoch), np.nan)
        self._current = j + 1
        return epoch
