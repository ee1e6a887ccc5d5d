"""One live participant: sample blocks of its band -> epochs on the session grid -> stages.

:class:`EegParticipant` cuts the chosen EEG (and EOG/EMG) channels into epochs with a
:class:`~dreamband.live.epocher.RegularEpocher` and stages each with
:class:`~dreamband.live.eeg.EegLiveStager`; :class:`HeartParticipant` keeps the RR intervals
or heart-rate samples of its band and stages each epoch with
:class:`~dreamband.live.heart.HeartLiveStager` once a later sample (or the clock) closes it.
Both hand back :class:`Outcome` s, one per epoch from the first one the band reached, in
epoch order. Epochs before the band's first sample are *absent* (no outcome).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from dreamband.errors import ChannelNotFoundError
from dreamband.live.eeg import EEG_CLASSES, EegLiveStager
from dreamband.live.epocher import Epoch, EpochGrid, RegularEpocher
from dreamband.live.heart import HEART_CLASSES, HeartLiveStager
from firmware_bridge.types import SampleBlock

__all__ = ["EegParticipant", "HeartParticipant", "Outcome"]


@dataclass(frozen=True)
class Outcome:
    """The decision on one participant-epoch.

    Attributes
    ----------
    epoch : int
        Index on the session grid.
    onset : float
        Host time of the epoch start (s).
    scored : bool
        False when too much signal was missing (the participant is absent for the group).
    stage : int
        Stage code (``SleepStage`` for EEG, ``WearableStage`` for heart); -1 when unscored.
    probabilities : numpy.ndarray
        Stage probabilities in :attr:`classes` order (NaN when unscored).
    p_rem : float
        REM probability (NaN when unscored).
    missing : float
        Fraction of the epoch's signal that never arrived.
    last_sample_time : float
        Host time of the newest sample when the epoch was closed (s).
    """

    epoch: int
    onset: float
    scored: bool
    stage: int
    probabilities: np.ndarray
    p_rem: float
    missing: float
    last_sample_time: float


class EegParticipant:
    """EEG band participant.

    Parameters
    ----------
    grid : EpochGrid
        Session grid.
    channels : tuple of str
        Channel names the band sends.
    fs : float
        Sampling rate (Hz).
    roles : dict of str to str
        Channel per role (``eeg`` required; ``eog``, ``roc``, ``emg`` optional).
    max_missing : float
        Largest missing fraction of a scored epoch.
    context : int
        Epochs of signal the evidence is computed over.
    """

    kind = "eeg"
    classes = EEG_CLASSES
    scheme = "aasm"

    def __init__(self, grid: EpochGrid, channels: tuple[str, ...], fs: float,
                 roles: dict[str, str], max_missing: float = 0.2, context: int = 12) -> None:
        self.grid = grid
        self.channels = tuple(channels)
        self.fs = float(fs)
        self.roles = {r: c for r, c in roles.items() if c}
        for role, ch in self.roles.items():
            if ch not in self.channels:
                raise ChannelNotFoundError(f"participant {role} channel", ch, list(self.channels))
        self.order = tuple(self.roles)
        self.epocher = RegularEpocher(grid, fs, len(self.order), max_missing)
        self.stager = EegLiveStager(fs, self.order, grid.epoch_length, context=context)
        self.streams = ("eeg",)
        self._rows: dict[tuple[str, ...], np.ndarray] = {}
        self.next_epoch = 0          # first epoch not yet decided (absent before the band)
        self.last_time = -math.inf
        self.dropped_before_origin = 0

    def _pick(self, block: SampleBlock) -> np.ndarray:
        rows = self._rows.get(block.channels)
        if rows is None:
            missing = [c for c in self.roles.values() if c not in block.channels]
            if missing:
                raise ChannelNotFoundError(f"band {block.device}", missing[0],
                                           list(block.channels))
            rows = np.array([block.channels.index(self.roles[r]) for r in self.order])
            self._rows[block.channels] = rows
        return rows

    def push(self, block: SampleBlock) -> list[Outcome]:
        """Add a block of the band's EEG stream; return the epochs it completed."""
        x = np.asarray(block.samples, dtype=float)[self._pick(block)]
        t = np.asarray(block.host_time, dtype=float)
        early = t < self.grid.origin
        if early.any():
            self.dropped_before_origin += int(early.sum())
            x, t = x[:, ~early], t[~early]
        if t.size == 0:
            return []
        self.last_time = max(self.last_time, float(t[-1]))
        return self._decide(self.epocher.push(x, t))

    def flush(self, now: float, grace: float) -> list[Outcome]:
        """Close the epochs that ended before ``now - grace`` (a silent band)."""
        if self.epocher._current is None:  # never heard from: absent so far
            self.next_epoch = max(self.next_epoch,
                                  int(self.grid.index(now - grace)))
            return []
        return self._decide(self.epocher.flush(now, grace))

    def finish(self) -> list[Outcome]:
        """End of the session: close the epoch in progress if its last sample arrived."""
        if self.epocher._current is None:
            return []
        return self._decide(self.epocher.flush(self.last_time + 1.5 / self.fs))

    def _decide(self, epochs: list[Epoch]) -> list[Outcome]:
        out = []
        for ep in epochs:
            if ep.index < max(self.next_epoch, 0):
                continue  # already given up on as absent (the band came back late)
            data = None if ep.data is None else dict(zip(self.order, ep.data))
            res = self.stager.step(data)
            probs = res.probabilities if res.scored else np.full(len(self.classes), np.nan)
            out.append(Outcome(ep.index, ep.start, res.scored, res.stage if res.scored else -1,
                               probs, float(probs[-1]), ep.missing, ep.last_sample_time))
            self.next_epoch = ep.index + 1
        return out


class HeartParticipant:
    """Heart band participant (RR intervals in s, or heart rate in bpm).

    Parameters
    ----------
    grid : EpochGrid
        Session grid (30-s epochs: the heart models are trained on them).
    stream : {"rr", "hr"}
        Which stream of the band is staged.
    max_missing : float
        Largest missing fraction of a scored epoch.
    """

    kind = "heart"
    classes = HEART_CLASSES
    scheme = "wearable"

    def __init__(self, grid: EpochGrid, stream: str = "rr", max_missing: float = 0.2,
                 model_dir=None) -> None:
        if abs(grid.epoch_length - 30.0) > 1e-9:
            raise ValueError(f"heart staging needs 30-s epochs; grid has {grid.epoch_length} s")
        self.grid = grid
        self.max_missing = float(max_missing)
        self.stager = HeartLiveStager(stream, grid.origin, model_dir)
        self.streams = (stream,)
        self.next_epoch = 0
        self.started = False
        self.last_time = -math.inf

    def push(self, block: SampleBlock) -> list[Outcome]:
        """Add a block of RR intervals (s) or heart-rate samples (bpm)."""
        t = np.asarray(block.host_time, dtype=float)
        v = np.asarray(block.samples, dtype=float)[0]
        keep = t >= self.grid.origin
        t, v = t[keep], v[keep]
        if t.size == 0:
            return []
        if not self.started:
            first = t[0] - (v[0] if self.stager.kind == "rr" and np.isfinite(v[0]) else 0.0)
            self.next_epoch = max(self.next_epoch, int(self.grid.index(max(first,
                                                                           self.grid.origin))))
            self.started = True
        self.stager.add(t, v)
        self.last_time = max(self.last_time, float(t[-1]))
        return self._until(self.last_time)

    def flush(self, now: float, grace: float) -> list[Outcome]:
        """Close the epochs that ended before ``now - grace``."""
        if not self.started:
            self.next_epoch = max(self.next_epoch, int(self.grid.index(now - grace)))
            return []
        return self._until(now - grace)

    def finish(self) -> list[Outcome]:
        """End of the session: close the epochs covered by the samples received."""
        return self._until(self.last_time) if self.started else []

    def _until(self, t: float) -> list[Outcome]:
        out = []
        L = self.grid.epoch_length
        while self.grid.start(self.next_epoch + 1) <= t:
            j = self.next_epoch
            s = self.grid.start(j)
            missing = 1.0 - self.stager.coverage(s, s + L)
            scored = missing <= self.max_missing
            res = self.stager.step(j, scored)
            probs = res.probabilities if scored else np.full(3, np.nan)
            out.append(Outcome(j, s, scored, res.stage if scored else -1, probs,
                               float(probs[-1]), missing, self.last_time))
            self.next_epoch = j + 1
        return out
